"""The auction solver for wide layers against brute force and the dense solver.

``assign_large`` must reach the same optimal cost as ``reference`` (dense
``linear_sum_assignment``): checked exactly, in rationals, against every
permutation on tiny layers, and against the dense solver on random and on
SET-like rewired layers up to n = 2048.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from topograph.measures.large_assignment import assign_large, solve_large
from topograph.measures.nnstd import _dense_cost, overlap


def _layer(rng: np.random.Generator, n_in: int, n_out: int, density: float) -> sp.csr_matrix:
    """A random 0/1 float64 layer pattern, rows = input neurons."""
    mask = rng.random((n_in, n_out)) < density
    return sp.csr_matrix(mask.astype(np.float64))


def _er_layer(rng: np.random.Generator, n: int, epsilon: float = 20) -> sp.csr_matrix:
    """SET's Erdos-Renyi square layer (density eps (n_in + n_out) / (n_in n_out))."""
    density = min(1.0, epsilon * 2 * n / (n * n))
    m = sp.random(n, n, density=density, format="csr", random_state=rng)
    m.data[:] = 1.0
    return m


def _rewired(rng: np.random.Generator, a: sp.csr_matrix, fraction: float) -> sp.csr_matrix:
    """``a`` with ``fraction`` of its connections moved at random, columns shuffled.

    As between two SET epochs: most wiring shared, so the overlap graph has a
    strong (permuted) diagonal.
    """
    coo = a.tocoo()
    moved = rng.random(coo.nnz) < fraction
    rows = np.where(moved, rng.integers(0, a.shape[0], coo.nnz), coo.row)
    cols = np.where(moved, rng.integers(0, a.shape[1], coo.nnz), coo.col)
    b = sp.csr_matrix((np.ones(coo.nnz), (rows, cols)), shape=a.shape)
    b.data[:] = 1.0  # a moved connection landing on an existing one merges
    return b[:, rng.permutation(a.shape[1])].tocsr()


def _counts(a: sp.csr_matrix, b: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Integer ``|S ∩ T|`` and ``|S ∪ T|`` of every pair, computed independently."""
    da = (a.toarray() != 0).astype(np.int64)
    db = (b.toarray() != 0).astype(np.int64)
    inter = da.T @ db
    union = da.sum(axis=0)[:, None] + db.sum(axis=0)[None, :] - inter
    return inter, union


def _exact(inter: int, union: int) -> Fraction:
    """``1 - |S ∩ T| / |S ∪ T|`` in rationals; 0 for two empty sets."""
    return Fraction(0) if union == 0 else Fraction(union - inter, union)


def _exact_matrix(a: sp.csr_matrix, b: sp.csr_matrix) -> list[list[Fraction]]:
    inter, union = _counts(a, b)
    n = inter.shape[0]
    return [[_exact(int(inter[j, c]), int(union[j, c])) for c in range(n)] for j in range(n)]


def _exact_cost(a: sp.csr_matrix, b: sp.csr_matrix, matching: np.ndarray) -> Fraction:
    """Summed distance of the matched pairs, in rationals."""
    inter, union = _counts(a, b)
    pairs = zip(range(matching.size), matching.tolist(), strict=True)
    return sum((_exact(int(inter[j, c]), int(union[j, c])) for j, c in pairs), Fraction(0))


def _brute_force(a: sp.csr_matrix, b: sp.csr_matrix) -> Fraction:
    """The exact minimum over all permutations."""
    d = _exact_matrix(a, b)
    n = len(d)
    return min(
        sum((d[j][p[j]] for j in range(n)), Fraction(0)) for p in itertools.permutations(range(n))
    )


def _check_contract(a: sp.csr_matrix, b: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Solve; check the permutation, the dtypes and every cost against the dense matrix."""
    inter, deg_a, deg_b = overlap(a, b)
    costs, matching = assign_large(inter, deg_a, deg_b)
    n = a.shape[1]
    assert matching.dtype == np.int64 and costs.dtype == np.float64
    assert sorted(matching.tolist()) == list(range(n))
    # the same float64 values the dense method's cost matrix holds
    dense = _dense_cost(inter, deg_a, deg_b)
    np.testing.assert_array_equal(costs, dense[np.arange(n), matching])
    return costs, matching


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_in=st.integers(1, 8),
    n=st.integers(1, 7),
    density=st.floats(0.0, 1.0),
)
def test_tiny_layers_reach_the_brute_force_minimum_exactly(
    seed: int, n_in: int, n: int, density: float
) -> None:
    rng = np.random.default_rng(seed)
    a = _layer(rng, n_in, n, density)
    b = _layer(rng, n_in, n, density) if seed % 3 else _rewired(rng, a, 0.3)
    _, matching = _check_contract(a, b)
    assert _exact_cost(a, b, matching) == _brute_force(a, b)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 40), density=st.floats(0.02, 0.6))
def test_small_layers_match_the_dense_solver_in_rationals(
    seed: int, n: int, density: float
) -> None:
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(1, 50))
    a = _layer(rng, n_in, n, density)
    b = _layer(rng, n_in, n, density)
    _, matching = _check_contract(a, b)
    inter, deg_a, deg_b = overlap(a, b)
    _, ref = linear_sum_assignment(_dense_cost(inter, deg_a, deg_b))
    assert _exact_cost(a, b, matching) == _exact_cost(a, b, ref)


@pytest.mark.parametrize(
    "n, structured",
    [
        (128, False),
        (128, True),
        (512, False),
        (512, True),
        pytest.param(2048, False, marks=pytest.mark.slow),
        pytest.param(2048, True, marks=pytest.mark.slow),
    ],
)
def test_set_layers_match_the_dense_solver(n: int, structured: bool) -> None:
    rng = np.random.default_rng(n + structured)
    a = _er_layer(rng, n)
    b = _rewired(rng, a, 0.03) if structured else _er_layer(rng, n)
    costs, _ = _check_contract(a, b)
    inter, deg_a, deg_b = overlap(a, b)
    dense = _dense_cost(inter, deg_a, deg_b)
    rows, cols = linear_sum_assignment(dense)
    best = float(dense[rows, cols].sum())
    assert float(costs.sum()) == pytest.approx(best, rel=1e-12, abs=1e-12)


def test_certificate_is_reported() -> None:
    rng = np.random.default_rng(5)
    a, b = _er_layer(rng, 300), _er_layer(rng, 300)
    res = solve_large(*overlap(a, b))
    assert res.history[-1].violations == 0
    assert res.history[0].candidates <= res.overlap_edges
    assert 0 < res.gap_bound < 1e-9
    assert res.scale & (res.scale - 1) == 0  # a power of two: J * K is exact


@pytest.mark.parametrize(
    "options",
    [
        {"k_row": 1, "k_col": 0, "margin": 0.0},  # many pricing rounds
        {"k_row": 0, "k_col": 1, "margin": 0.0},
        {"k_row": 0, "k_col": 0},  # candidates come from pricing alone
        {"theta": 2},
        {"theta": 1000},
    ],
)
def test_tuning_options_change_speed_not_the_optimum(options: dict[str, float]) -> None:
    rng = np.random.default_rng(11)
    a = _er_layer(rng, 200)
    b = _rewired(rng, a, 0.2)
    inter, deg_a, deg_b = overlap(a, b)
    base = solve_large(inter, deg_a, deg_b)
    tuned = solve_large(inter, deg_a, deg_b, **options)  # type: ignore[arg-type]
    assert tuned.history[-1].violations == 0
    assert _exact_cost(a, b, tuned.matching) == _exact_cost(a, b, base.matching)


def test_identical_layers_cost_zero() -> None:
    rng = np.random.default_rng(3)
    a = _er_layer(rng, 256)
    costs, _ = _check_contract(a, a.copy())
    assert costs.sum() == 0.0


def test_single_neuron() -> None:
    a = sp.csr_matrix(np.array([[1.0], [0.0], [1.0]]))
    b = sp.csr_matrix(np.array([[1.0], [1.0], [0.0]]))
    costs, matching = _check_contract(a, b)
    assert matching.tolist() == [0]
    assert costs.tolist() == [2 / 3]


@pytest.mark.parametrize(
    "empty_a, empty_b",
    [
        ([0, 3], []),
        ([], [1, 2]),
        ([0, 3], [1, 2]),
        ([0, 1, 2, 3], [2]),
        ([0, 1, 2, 3, 4], [0, 1, 2, 3, 4]),
    ],
)
def test_empty_neurons(empty_a: list[int], empty_b: list[int]) -> None:
    rng = np.random.default_rng(7)
    a = _layer(rng, 6, 5, 0.6).toarray()
    b = _layer(rng, 6, 5, 0.6).toarray()
    a[:, empty_a] = 0.0
    b[:, empty_b] = 0.0
    a_sp, b_sp = sp.csr_matrix(a), sp.csr_matrix(b)
    costs, matching = _check_contract(a_sp, b_sp)
    assert _exact_cost(a_sp, b_sp, matching) == _brute_force(a_sp, b_sp)
    # pairs of empty neurons cost nothing, and as many as possible are formed
    both = sum(1 for j in empty_a if matching[j] in empty_b)
    assert both == min(len(empty_a), len(empty_b))
    if len(empty_a) == len(empty_b) == 5:
        assert costs.sum() == 0.0


def test_empty_problem() -> None:
    inter = sp.csr_matrix((0, 0))
    costs, matching = assign_large(inter, np.zeros(0), np.zeros(0))
    assert costs.size == 0 and matching.size == 0 and matching.dtype == np.int64


def test_duplicate_and_zero_entries_are_summed_and_ignored() -> None:
    rng = np.random.default_rng(9)
    a, b = _layer(rng, 20, 12, 0.4), _layer(rng, 20, 12, 0.4)
    inter, deg_a, deg_b = overlap(a, b)
    coo = inter.tocoo()
    # every count split in two entries, plus explicit zeros at fresh pairs
    half = np.floor(coo.data / 2)
    rows = np.concatenate([coo.row, coo.row, [0, 1]])
    cols = np.concatenate([coo.col, coo.col, [0, 1]])
    data = np.concatenate([half, coo.data - half, [0.0, 0.0]])
    messy = sp.csr_matrix((12, 12))
    messy.indptr, messy.indices, messy.data = _unsummed_csr(rows, cols, data, 12)
    _, clean = assign_large(inter, deg_a, deg_b)
    _, got = assign_large(messy, deg_a, deg_b)
    assert _exact_cost(a, b, got) == _exact_cost(a, b, clean)


def _unsummed_csr(
    rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays that keep duplicate entries (scipy's constructors would sum them)."""
    order = np.argsort(rows, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    return indptr.astype(np.int32), cols[order].astype(np.int32), data[order].astype(np.float64)
