"""NNSTD against the values the published reference implementation printed.

Compared with ``==`` on float64: the reference method must be bit-identical.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from topograph import Checkpoint, nnstd
from topograph.loaders import open_source

from conftest import SHARED_TOPO, needs_shared


def _check_exact(source: Path, rows: list[dict]) -> None:
    with open_source(str(source)) as src:
        for row in rows:
            a = src.load(*row["a"])
            b = src.load(*row["b"])
            got = nnstd(a, b, method="reference")
            assert list(got.layers) == row["layers"], (row["a"], row["b"])
            assert got.mean == row["mean"], (row["a"], row["b"])
            assert got.method == "reference"


def test_reference_values_exact_on_in_repo_sample(
    sample_dir: Path, reference_rows: list[dict]
) -> None:
    assert len(reference_rows) == 3
    _check_exact(sample_dir, reference_rows)


@needs_shared
def test_reference_values_exact_on_published_files(reference_rows: list[dict]) -> None:
    _check_exact(SHARED_TOPO, reference_rows)


def test_matchings_are_permutations(sample_dir: Path) -> None:
    with open_source(str(sample_dir)) as src:
        a, b = src.load("e5_s0_w0", 0), src.load("e5_s0_w9", 0)
    for method in ("reference", "sparse", "large"):
        res = nnstd(a, b, method=method)
        assert len(res.matchings) == 4
        for k, m in enumerate(res.matchings):
            assert sorted(m.tolist()) == list(range(a.layers[k].shape[1]))


def test_cumulative_is_mean_of_leading_layers(sample_dir: Path, reference_rows: list[dict]) -> None:
    row = reference_rows[0]
    with open_source(str(sample_dir)) as src:
        res = nnstd(src.load(*row["a"]), src.load(*row["b"]))
    assert res.cumulative(0) == row["layers"][0]
    assert res.cumulative(2) == pytest.approx(sum(row["layers"][:3]) / 3, abs=1e-15)


def _exact_cost(a: Checkpoint, b: Checkpoint, matching: np.ndarray) -> Fraction:
    """Layer 0's matched cost as an exact rational, from the raw input sets."""
    pa = a.layers[0].tocsc()
    pb = b.layers[0].tocsc()
    total = Fraction(0)
    for j, m in enumerate(matching.tolist()):
        s = set(pa.indices[pa.indptr[j] : pa.indptr[j + 1]].tolist())
        t = set(pb.indices[pb.indptr[m] : pb.indptr[m + 1]].tolist())
        if s | t:
            total += Fraction(len(s ^ t), len(s | t))
    return total


def _layer0_sparse_equals_reference(source: Path, epoch: int, method: str = "sparse") -> int:
    """Layer 0: ``method`` reaches the reference's optimal cost, exactly.

    Where several matchings are optimal the two solvers may pick different
    ones; their costs are then equal as rationals, and the float64 sums (in
    row order, as the reference sums) may differ in the last bit.
    """
    with open_source(str(source)) as src:
        runs = src.runs()
        ckpts = {r: src.load(r, epoch) for r in runs}
    count = 0
    for r1, r2 in combinations(runs, 2):
        a, b = ckpts[r1], ckpts[r2]
        ref = nnstd(a, b, method="reference")
        spa = nnstd(a, b, method=method)
        assert spa.method == method
        assert _exact_cost(a, b, spa.matchings[0]) == _exact_cost(a, b, ref.matchings[0]), (r1, r2)
        assert spa.layers[0] == pytest.approx(ref.layers[0], rel=4e-16, abs=0), (r1, r2)
        count += 1
    return count


@pytest.mark.parametrize("method", ["sparse", "large"])
def test_sparse_layer0_equals_reference_on_sample(sample_dir: Path, method: str) -> None:
    assert _layer0_sparse_equals_reference(sample_dir, 190, method) == 3


@needs_shared
@pytest.mark.slow
@pytest.mark.parametrize("method", ["sparse", "large"])
@pytest.mark.parametrize("epoch", [0, 100, 190])
def test_sparse_layer0_equals_reference_on_every_pair_of_an_epoch(epoch: int, method: str) -> None:
    assert _layer0_sparse_equals_reference(SHARED_TOPO, epoch, method) == 45
