"""Spectral properties: Lanczos on the flipped Laplacian against the shift-invert baseline.

Run: ``python benchmarks/spectral.py [--topo DIR] [--archive DIR] [--repeat 3]``

For every checkpoint of the published set (and, with ``--archive``, the
first 20 checkpoints of a ``make_archive.py`` archive: 784-neuron layers at
SET's density for epsilon = 11, denser than the published ones), times
``checkpoint_spectra`` (every layer and the whole network) twice in the same
process: as shipped (Lanczos, shift-invert only below the floor) and with the
floor raised to infinity, which sends every λ2 to the shift-invert path that
was the only one before. Prints the median seconds per checkpoint of
``--repeat`` passes, the ratio, and the largest relative difference between
the two methods' algebraic connectivities (both must agree to 1e-9).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import TOPO

import topograph.measures.spectral as spectral
from topograph.loaders import open_source
from topograph.model import Checkpoint


def _load(root: Path, limit: int | None) -> list[Checkpoint]:
    with open_source(str(root)) as src:
        keys = sorted(src.keys())[:limit]
        return [src.load(*k) for k in keys]


def _lambda2s(ck: Checkpoint) -> list[float]:
    props = spectral.checkpoint_spectra(ck)
    return [p.lcc_algebraic_connectivity for p in (*props.layers, props.network)]


def _pass(cks: list[Checkpoint], floor: float) -> tuple[float, list[list[float]]]:
    spectral.LANCZOS_FLOOR = floor
    start = time.perf_counter()
    values = [_lambda2s(ck) for ck in cks]
    return (time.perf_counter() - start) / len(cks), values


def bench(name: str, cks: list[Checkpoint], repeat: int) -> None:
    shipped = spectral.LANCZOS_FLOOR
    new_t, old_t = [], []
    new_v: list[list[float]] = []
    old_v: list[list[float]] = []
    try:
        for _ in range(repeat):  # interleaved: both see the same machine load
            t, new_v = _pass(cks, shipped)
            new_t.append(t)
            t, old_v = _pass(cks, math.inf)
            old_t.append(t)
    finally:
        spectral.LANCZOS_FLOOR = shipped
    worst = max(
        abs(a - b) / max(abs(b), 1e-300)
        for row_a, row_b in zip(new_v, old_v, strict=True)
        for a, b in zip(row_a, row_b, strict=True)
        if b != 0.0 or a != 0.0
    )
    new, old = statistics.median(new_t), statistics.median(old_t)
    print(
        f"{name:<34} {len(cks):>4} ckpts  lanczos {new * 1000:8.1f} ms/ckpt  "
        f"shift-invert {old * 1000:8.1f} ms/ckpt  {old / new:5.1f}x  "
        f"max rel diff {worst:.1e}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topo", type=Path, default=TOPO)
    parser.add_argument("--archive", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"medians of {args.repeat} interleaved passes; every layer and the whole network")
    bench(f"published ({args.topo.name})", _load(args.topo, None), args.repeat)
    if args.archive is not None:
        bench(f"archive ({args.archive.name}, first 20)", _load(args.archive, 20), args.repeat)


if __name__ == "__main__":
    main()
