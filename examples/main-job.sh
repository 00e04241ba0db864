#!/usr/bin/env bash
# The main job end to end on the embedded default store, on the bundled
# sample (3 runs x 3 epochs of the published SET topologies):
# ingest -> analyze -> query -> export -> plot -> report. Outputs go to ${OUT:-out}/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-out}"
mkdir -p "$OUT"
export TOPOGRAPH_DB="$OUT/graph.lbdb"

topograph ingest examples/topo-sample
topograph analyze
topograph db status
echo "-- how far apart are the runs, epoch by epoch?"
topograph query divergence_by_epoch
echo "-- hidden neuron 5 of run w0 at epoch 0, followed through training"
topograph query neuron_lineage -p run=e5_s0_w0 -p epoch=0 -p layer=1 -p idx=5
echo "-- does algebraic connectivity track accuracy?"
topograph query spectral_vs_accuracy --format csv
topograph export distances "$OUT/distances.parquet"
topograph export spectral "$OUT/spectral.parquet"
topograph export checkpoints "$OUT/checkpoints.parquet"
topograph plot heatmap --epoch 0 --epoch 10 --epoch 190 --out "$OUT/figure4.png"
topograph plot evolution --out "$OUT/evolution.png"
topograph plot tickets --min-distance 0.2 --out "$OUT/tickets.png"
topograph report --out "$OUT/report.html"
