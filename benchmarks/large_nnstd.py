"""Scaling of the exact wide-layer NNSTD assignment against the current methods.

Run: ``python benchmarks/large_nnstd.py [--sizes 1024,...,65536] [--cases random,rewired]
[--repeats 3] [--timeout 600] [--budget-gib 6]``

For every layer width ``n`` and case, one ``n x n`` layer pair at SET's
Erdos-Renyi density with epsilon = 20 (density = eps (n_in + n_out) /
(n_in n_out), as in ``benchmarks/nnstd.py``'s scaling table):

``random``
    a and b independent: the overlap graph has ~n^3 p^2 = 1600 n edges, almost
    all sharing one input, with huge ties.
``rewired``
    b is a with 3 % of its connections moved at random and its output neurons
    shuffled, as between two SET epochs: a strong (permuted) diagonal.

Each (n, case, method, repeat) runs in a fresh child process so memory peaks do
not mix; the child times the overlap product and the assignment separately
and reports ``resource.getrusage`` ``ru_maxrss`` (the whole process: Python,
libraries, the two layers, the overlap matrix and the solver). Times and peaks
are medians over ``--repeats`` runs for ``n <= 16384`` (one run above). The
numba kernels of ``large`` are compiled (or loaded from numba's cache) once in
the parent and once more, on a tiny problem, in each child before the clock
starts; the first-call cost is printed separately.

Baselines: ``sparse`` (scipy LAPJVsp) and ``reference`` (dense
``linear_sum_assignment``) run while they fit: ``reference`` refuses when its
dense matrices would pass ``--budget-gib``, and a baseline is skipped once its
previous width took more than ``--timeout`` / 8 (both grow about 6-8x per
doubling). Ratios compare against a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp

from topograph.measures import large_assignment
from topograph.measures.nnstd import _assign_reference, _assign_sparse, overlap

EPSILON = 20
REWIRED_FRACTION = 0.03
#: Bytes the dense method needs per cell: the float64 cost matrix, the
#: solver's copy and temporaries (as in benchmarks/nnstd.py).
DENSE_BYTES_PER_CELL = 8 * 3
METHODS = ("large", "sparse", "reference")


def er_density(n_in: int, n_out: int, epsilon: float = EPSILON) -> float:
    """SET's Erdos-Renyi initial density."""
    return min(1.0, epsilon * (n_in + n_out) / (n_in * n_out))


def layers(n: int, case: str, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """One layer pair of width ``n`` (0/1 float64 CSR, rows = input neurons)."""
    rng = np.random.default_rng(seed)

    def er() -> sp.csr_matrix:
        m = sp.random(n, n, density=er_density(n, n), format="csr", random_state=rng)
        m.data[:] = 1.0
        return m

    a = er()
    if case == "random":
        return a, er()
    coo = a.tocoo()
    moved = rng.random(coo.nnz) < REWIRED_FRACTION
    rows = np.where(moved, rng.integers(0, n, coo.nnz), coo.row)
    cols = np.where(moved, rng.integers(0, n, coo.nnz), coo.col)
    b = sp.csr_matrix((np.ones(coo.nnz), (rows, cols)), shape=a.shape)
    b.data[:] = 1.0
    return a, b[:, rng.permutation(n)].tocsr()


def _warm_up() -> float:
    """Compile or load the numba kernels on a tiny problem; seconds taken."""
    rng = np.random.default_rng(0)
    a = sp.random(40, 30, density=0.2, format="csr", random_state=rng)
    b = sp.random(40, 30, density=0.2, format="csr", random_state=rng)
    start = time.perf_counter()
    large_assignment.assign_large(*overlap(a, b))
    return time.perf_counter() - start


def _child(n: int, case: str, method: str, seed: int) -> dict[str, object]:
    """One measurement, in its own process."""
    first_call = _warm_up() if method == "large" else 0.0
    a, b = layers(n, case, seed)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    inter, deg_a, deg_b = overlap(a, b)
    t_overlap = time.perf_counter() - start
    extra: dict[str, object] = {}
    if method == "large":
        res = large_assignment.solve_large(inter, deg_a, deg_b)
        costs = res.costs
        extra = {
            "rounds": len(res.history),
            "candidates": res.history[-1].candidates,
            "gap_bound": res.gap_bound,
            "steps": res.seconds,
        }
    elif method == "sparse":
        costs, _ = _assign_sparse(inter, deg_a, deg_b)
    else:
        costs, _ = _assign_reference(inter, deg_a, deg_b)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "seconds": seconds,
        "solve_seconds": seconds - t_overlap,
        "peak_bytes": peak,
        "added_bytes": peak - base,
        "cost": float(costs.sum()),
        "overlap_edges": int(inter.nnz),
        "first_call": first_call,
        **extra,
    }


def _run(n: int, case: str, method: str, seed: int, timeout: float) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", f"{n},{case},{method},{seed}"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))
    except subprocess.TimeoutExpired:
        return {"refused": f"over the {timeout:.0f} s time limit"}
    except subprocess.CalledProcessError as exc:
        lines = exc.stderr.strip().splitlines() or ["no message"]
        return {"refused": f"failed: {lines[-1]}"}


def _median(runs: list[dict[str, object]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)  # type: ignore[arg-type]


def scaling(
    sizes: list[int], cases: list[str], repeats: int, timeout: float, budget: float
) -> None:
    print(
        f"{'case':>8} {'n':>6} {'edges':>10} {'method':>9} {'runs':>4} {'seconds':>8} "
        f"{'solve s':>8} {'peak GiB':>8} {'x time':>7} {'x peak':>7}  note"
    )
    for case in cases:
        last: dict[str, float] = {}
        for n in sizes:
            reps = repeats if n <= 16384 else 1
            results: dict[str, list[dict[str, object]]] = {}
            for method in METHODS:
                if method == "reference" and n * n * DENSE_BYTES_PER_CELL > budget:
                    need = n * n * DENSE_BYTES_PER_CELL / 2**30
                    print(
                        f"{case:>8} {n:>6} {'':>10} {method:>9}  refused: dense needs ~{need:.1f} GiB"
                    )
                    continue
                if method != "large" and last.get(method, 0.0) > timeout / 8:
                    print(
                        f"{case:>8} {n:>6} {'':>10} {method:>9}  skipped: "
                        f"{last[method]:.0f} s at n/2, expected over the {timeout:.0f} s limit"
                    )
                    last[method] = float("inf")
                    continue
                runs = [_run(n, case, method, seed, timeout) for seed in range(reps)]
                good = [r for r in runs if "refused" not in r]
                if len(good) < len(runs):
                    note = next(str(r["refused"]) for r in runs if "refused" in r)
                    print(f"{case:>8} {n:>6} {'':>10} {method:>9}  refused: {note}")
                    last[method] = float("inf")
                    continue
                results[method] = good
                last[method] = _median(good, "seconds")
            large = results.get("large")
            for method, runs in results.items():
                sec = _median(runs, "seconds")
                peak = _median(runs, "peak_bytes")
                ratio_t = ratio_p = ""
                if large and method != "large":
                    ratio_t = f"{sec / _median(large, 'seconds'):6.1f}x"
                    ratio_p = f"{peak / _median(large, 'peak_bytes'):6.1f}x"
                note = f"cost={_median(runs, 'cost'):.10g}"
                if method == "large":
                    note += (
                        f" rounds={runs[0]['rounds']} candidates={runs[0]['candidates']}"
                        f" bound={float(runs[0]['gap_bound']):.1e}"  # type: ignore[arg-type]
                        f" first-call={_median(runs, 'first_call'):.2f}s"
                    )
                print(
                    f"{case:>8} {n:>6} {int(runs[0]['overlap_edges']):>10} {method:>9} "  # type: ignore[call-overload]
                    f"{len(runs):>4} {sec:8.2f} {_median(runs, 'solve_seconds'):8.2f} "
                    f"{peak / 2**30:8.2f} {ratio_t:>7} {ratio_p:>7}  {note}",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1024,2048,4096,8192,16384,32768,65536")
    parser.add_argument("--cases", default="random,rewired")
    parser.add_argument("--repeats", type=int, default=3, help="runs per point up to n = 16384")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument(
        "--budget-gib", type=float, default=6.0, help="memory budget of the dense method"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        n, case, method, seed = args.child.split(",")
        print(json.dumps(_child(int(n), case, method, int(seed))))
        return
    print(
        f"# wide-layer NNSTD assignment ({time.strftime('%Y-%m-%d %H:%M')}, numpy "
        f"{np.__version__}); kernel compile or cache load in the parent: {_warm_up():.1f} s"
    )
    print(
        "# seconds = overlap product + assignment; solve s = assignment only; "
        "x time, x peak = baseline / large"
    )
    scaling(
        [int(s) for s in args.sizes.split(",")],
        args.cases.split(","),
        args.repeats,
        args.timeout,
        args.budget_gib * 2**30,
    )


if __name__ == "__main__":
    main()
