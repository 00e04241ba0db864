"""Pipeline benchmark: ingest the whole topo set, then the default analysis, written back.

Run: ``python benchmarks/pipeline.py [--topo DIR] [--neo4j bolt://127.0.0.1:7687] [--workers 2]``

For each store (the embedded one in a fresh file; Neo4j after wiping its
database, which must be a scratch server): ingest, then ``analyze`` with the
default plan: every across-run pair at every epoch, consecutive epochs of
every run (NEXT, EVOLVES, MATCHES) and each epoch against the run's first,
spectral properties of every layer and network. Prints per-stage seconds
and the total.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import TOPO, wipe_neo4j

from topograph.pipeline.analyze import analyze, default_plan
from topograph.pipeline.ingest import ingest
from topograph.stores import open_store


def run(kind: str, uri: str, topo: Path, workers: int) -> None:
    if kind == "neo4j":
        wipe_neo4j(uri)
    started = time.perf_counter()
    with open_store(uri) as store:
        t = time.perf_counter()
        ing = ingest(store, [str(topo)])
        ingest_s = time.perf_counter() - t
        plan = default_plan(store)
        report = analyze(store, uri, plan, workers=workers)
        counts = store.status().counts
    total = time.perf_counter() - started
    print(f"\n## {kind} ({uri}), {workers} workers")
    print(
        f"  {'ingest':<12} {len(ing.stored):>5} checkpoints {ingest_s:8.2f} s  ({ing.edges:,} edges)"
    )
    for stage, seconds in report.stage_seconds.items():
        print(f"  {stage:<12} {report.computed[stage]:>5} tasks       {seconds:8.2f} s")
    print(f"  {'total':<12} {'':>17} {total:8.2f} s")
    print(
        "  written back: "
        + ", ".join(f"{k} {counts[k]:,}" for k in ("NNSTD", "NEXT", "EVOLVES", "MATCHES"))
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--topo", type=Path, default=TOPO)
    parser.add_argument(
        "--neo4j",
        default=os.environ.get("TOPOGRAPH_BENCH_NEO4J"),
        help="scratch Neo4j URI (wiped!)",
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"# pipeline benchmark ({time.strftime('%Y-%m-%d %H:%M')}), data {args.topo}")
    with tempfile.TemporaryDirectory() as tmp:
        run("embedded", str(Path(tmp) / "pipeline.lbdb"), args.topo, args.workers)
    if args.neo4j:
        run("neo4j", args.neo4j, args.topo, args.workers)
    else:
        print(
            "\nneo4j: skipped (no --neo4j URI; start one with scripts/neo4j-local/neo4j-local.sh)"
        )


if __name__ == "__main__":
    main()
