"""NNSTD benchmark: per-pair cost on the published topologies, scaling, Figure-4 wall time.

Run: ``python benchmarks/nnstd.py [--topo DIR] [--sizes 784,2048,...] [--skip-scaling]``

Prints three tables:

1. ms per topo pair for both methods (median over every pair of runs at
   epochs 0 and 190), with the per-layer breakdown.
2. Scaling on synthetic Erdos-Renyi layers at SET's density with
   epsilon = 20 (density = eps (n_in + n_out) / (n_in n_out)): wall time and
   peak resident memory, each (n, method) in a fresh process so peaks do not
   mix. ``reference`` refuses when its dense matrices would exceed the memory
   budget, and says so.
3. Wall time of the whole Figure-4 set (every epoch x 45 run pairs x all
   layers) with 2 workers.

Timings are medians from one run; the machine is noisy, so compare ratios.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _common import TOPO

from topograph.compute.pairs import across_runs, compute_pairs
from topograph.loaders import open_source
from topograph.measures.nnstd import NNSTDOptions, layer_distance

EPSILON = 20
#: Bytes the dense method may use: its n x n float64 cost matrix plus the
#: assignment solver's working copy, and a margin for temporaries.
DENSE_BYTES_PER_CELL = 8 * 3


def er_density(n_in: int, n_out: int, epsilon: float = EPSILON) -> float:
    """SET's Erdos-Renyi initial density."""
    return min(1.0, epsilon * (n_in + n_out) / (n_in * n_out))


def timed_pair(a, b, method: str) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    """Total and per-layer seconds of one NNSTD, layer by layer as nnstd() does."""
    per_layer = []
    perm = None
    start = time.perf_counter()
    for k in range(len(a.layers)):
        t = time.perf_counter()
        pb = b.pattern(k)
        if perm is not None:
            pb = pb[perm]
        _, perm = layer_distance(a.pattern(k), pb, method)  # type: ignore[arg-type]
        per_layer.append(time.perf_counter() - t)
    return time.perf_counter() - start, per_layer


def per_pair_table(topo: Path) -> None:
    with open_source(str(topo)) as src:
        epochs = [e for e in (0, 190) if e in src.epochs()]
        ckpts = {(r, e): src.load(r, e) for r in src.runs() for e in epochs}
        pairs = [
            (ckpts[(r1, e)], ckpts[(r2, e)])
            for e in epochs
            for r1, r2 in itertools.combinations(src.runs(), 2)
        ]
    print(f"\n## ms per topo pair ({len(pairs)} pairs of runs at epochs {epochs}, {topo})")
    print(
        f"{'method':>10} {'median':>8} {'p90':>8} "
        + " ".join(f"{'L' + str(k):>7}" for k in range(4))
    )
    for method in ("reference", "sparse"):
        timed_pair(*pairs[0], method)  # warm-up
        totals, layers = [], []
        for a, b in pairs:
            total, per_layer = timed_pair(a, b, method)
            totals.append(total * 1e3)
            layers.append([x * 1e3 for x in per_layer])
        med_layers = np.median(np.asarray(layers), axis=0)
        p90 = float(np.percentile(totals, 90))
        print(
            f"{method:>10} {statistics.median(totals):8.1f} {p90:8.1f} "
            + " ".join(f"{x:7.1f}" for x in med_layers)
        )


def _one_scaling_point(n: int, method: str, budget: int) -> dict[str, object]:
    """Run in a child process: time and peak memory of one layer comparison."""
    if method == "reference" and n * n * DENSE_BYTES_PER_CELL > budget:
        need = n * n * DENSE_BYTES_PER_CELL / 2**30
        return {
            "refused": f"dense needs ~{need:.1f} GiB (n^2 x {DENSE_BYTES_PER_CELL} B), "
            f"over the {budget / 2**30:.1f} GiB budget"
        }
    rng = np.random.default_rng(n)
    density = er_density(n, n)

    def layer() -> sp.csr_matrix:
        m = sp.random(n, n, density=density, format="csr", random_state=rng)
        m.data[:] = 1.0
        return m

    a, b = layer(), layer()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    distance, _ = layer_distance(a, b, method)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "seconds": seconds,
        "peak_bytes": peak,
        "added_bytes": peak - base,
        "distance": distance,
        "density": density,
        "edges": int(a.nnz),
    }


def scaling_table(sizes: list[int], budget: int, timeout: float) -> None:
    print(f"\n## scaling: synthetic ER layers, epsilon={EPSILON}, one n x n layer pair")
    print(f"{'n':>6} {'density':>8} {'method':>10} {'seconds':>9} {'peak RSS':>10}  note")
    for n in sizes:
        for method in ("reference", "sparse"):
            cmd = [sys.executable, __file__, "--child", f"{n},{method},{budget}"]
            try:
                out = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=timeout, check=True
                )
                res = json.loads(out.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                res = {"refused": f"over the {timeout:.0f} s time limit"}
            except subprocess.CalledProcessError as exc:
                res = {"refused": f"failed: {exc.stderr.strip().splitlines()[-1]}"}
            dens = f"{er_density(n, n):.4%}"
            if "refused" in res:
                print(
                    f"{n:>6} {dens:>8} {method:>10} {'-':>9} {'-':>10}  refused: {res['refused']}"
                )
            else:
                print(
                    f"{n:>6} {dens:>8} {method:>10} {res['seconds']:9.2f} "
                    f"{res['peak_bytes'] / 2**30:8.2f}GiB  distance={res['distance']:.6f}"
                )


def figure4_wall_time(topo: Path, workers: int) -> None:
    with open_source(str(topo)) as src:
        pairs = [p for e in src.epochs() for p in across_runs(src.runs(), e)]
        start = time.perf_counter()
        results = compute_pairs(
            src, pairs, options=NNSTDOptions(method="reference"), workers=workers
        )
        seconds = time.perf_counter() - start
    layers = len(results[0].result.layers)
    print(
        f"\n## Figure-4 set: {len(src.epochs())} epochs x {len(pairs) // len(src.epochs())} pairs "
        f"x {layers} layers = {len(pairs)} pairs, reference method, {workers} workers: "
        f"{seconds:.1f} s wall ({seconds / len(pairs) * 1e3 * workers:.1f} ms per pair per worker)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--topo", type=Path, default=TOPO)
    parser.add_argument("--sizes", default="784,2048,4096,8192,16384")
    parser.add_argument(
        "--budget-gib", type=float, default=4.0, help="memory budget of the dense method"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per scaling point")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        n, method, budget = args.child.split(",")
        print(json.dumps(_one_scaling_point(int(n), method, int(budget))))
        return
    print(f"# NNSTD benchmark ({time.strftime('%Y-%m-%d %H:%M')}, numpy {np.__version__})")
    per_pair_table(args.topo)
    figure4_wall_time(args.topo, args.workers)
    if not args.skip_scaling:
        sizes = [int(s) for s in args.sizes.split(",")]
        scaling_table(sizes, int(args.budget_gib * 2**30), args.timeout)


if __name__ == "__main__":
    main()
