"""NNSTD against brute force on tiny networks, and its invariants (hypothesis)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from topograph import Checkpoint, InputError, nnstd
from topograph.measures.nnstd import NNSTDOptions, layer_distance

from conftest import random_checkpoint

METHODS = ["reference", "sparse", "large"]


def _sets(pattern: np.ndarray) -> list[frozenset[int]]:
    """Input-neuron set of every output neuron (column) of a dense 0/1 layer."""
    return [frozenset(np.flatnonzero(pattern[:, j]).tolist()) for j in range(pattern.shape[1])]


def _d(s: frozenset[int], t: frozenset[int]) -> Fraction:
    """1 - Jaccard, exactly; 0 for two empty sets. Independent of the library."""
    union = len(s | t)
    return Fraction(0) if union == 0 else Fraction(union - len(s & t), union)


def _brute_force(a: np.ndarray, b: np.ndarray) -> tuple[Fraction, int]:
    """Minimum total cost over all permutations, and how many reach it."""
    sa, sb = _sets(a), _sets(b)
    n = len(sa)
    best, count = None, 0
    for perm in itertools.permutations(range(n)):
        c = sum((_d(sa[j], sb[perm[j]]) for j in range(n)), Fraction(0))
        if best is None or c < best:
            best, count = c, 1
        elif c == best:
            count += 1
    assert best is not None
    return best, count


def _dense(ck: Checkpoint, k: int) -> np.ndarray:
    return (ck.layers[k].toarray() != 0).astype(np.int8)


def _widths() -> st.SearchStrategy[tuple[int, ...]]:
    return st.tuples(st.integers(1, 7), st.integers(1, 6), st.integers(1, 6), st.integers(1, 4))


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), widths=_widths(), density=st.floats(0.05, 0.9))
def test_each_layer_cost_is_the_brute_force_minimum(
    method: str, seed: int, widths: tuple[int, ...], density: float
) -> None:
    rng = np.random.default_rng(seed)
    a = random_checkpoint(rng, widths, density)
    b = random_checkpoint(rng, widths, density)
    res = nnstd(a, b, method=method)
    perm = None
    for k in range(len(widths) - 1):
        pb = _dense(b, k)
        if perm is not None:
            pb = pb[perm]  # rows as the previous layer's matching ordered them
        best, _ = _brute_force(_dense(a, k), pb)
        n = widths[k + 1]
        assert res.layers[k] == pytest.approx(float(best / n), abs=1e-12)
        # the reported matching reaches that cost
        sa, sb = _sets(_dense(a, k)), _sets(pb)
        achieved = sum((_d(sa[j], sb[res.matchings[k][j]]) for j in range(n)), Fraction(0))
        assert achieved == best
        perm = res.matchings[k]


def test_hand_worked_layer() -> None:
    # a: neuron 0 <- {0,1}, neuron 1 <- {2};  b: neuron 0 <- {2}, neuron 1 <- {0,2}
    a = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float64))
    b = sp.csr_matrix(np.array([[0, 1], [0, 0], [1, 1]], dtype=np.float64))
    # pairs: d(a0,b0)=1, d(a0,b1)=(2+2-2)/(2+2-1)=2/3, d(a1,b0)=0, d(a1,b1)=(1+2-2)/(1+2-1)=1/2
    # best: a0->b1, a1->b0: 2/3 + 0 = 2/3; layer distance 1/3
    for method in METHODS:
        dist, matching = layer_distance(a, b, method)  # type: ignore[arg-type]
        assert dist == pytest.approx(1 / 3, abs=1e-15)
        assert matching.tolist() == [1, 0]


def test_empty_neurons_pair_with_each_other() -> None:
    a = sp.csr_matrix(np.array([[0, 1, 0], [0, 1, 0]], dtype=np.float64))
    b = sp.csr_matrix(np.array([[0, 0, 1], [0, 0, 1]], dtype=np.float64))
    for method in METHODS:
        dist, matching = layer_distance(a, b, method)  # type: ignore[arg-type]
        assert dist == 0.0
        assert matching[1] == 2


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), widths=_widths(), density=st.floats(0.05, 0.9))
def test_distance_to_itself_is_zero(
    method: str, seed: int, widths: tuple[int, ...], density: float
) -> None:
    a = random_checkpoint(np.random.default_rng(seed), widths, density)
    res = nnstd(a, a, method=method)
    assert res.layers == (0.0,) * (len(widths) - 1)
    assert res.mean == 0.0


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), widths=_widths(), density=st.floats(0.05, 0.9))
def test_layer0_is_symmetric(
    method: str, seed: int, widths: tuple[int, ...], density: float
) -> None:
    rng = np.random.default_rng(seed)
    a = random_checkpoint(rng, widths, density)
    b = random_checkpoint(rng, widths, density)
    ab = nnstd(a, b, method=method).layers[0]
    ba = nnstd(b, a, method=method).layers[0]
    assert ab == pytest.approx(ba, abs=1e-12)
    assert 0.0 <= ab <= 1.0


def _relabel_hidden(ck: Checkpoint, rng: np.random.Generator) -> Checkpoint:
    """Permute every hidden layer's neurons (columns of W[k], rows of W[k+1])."""
    layers = [w.copy() for w in ck.layers]
    for k in range(len(layers) - 1):
        perm = rng.permutation(layers[k].shape[1])
        layers[k] = layers[k][:, perm]
        layers[k + 1] = layers[k + 1][perm]
    return Checkpoint(run=ck.run, epoch=ck.epoch, layers=tuple(layers))


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), widths=_widths(), density=st.floats(0.05, 0.9))
def test_relabelling_hidden_neurons_of_one_network(
    method: str, seed: int, widths: tuple[int, ...], density: float
) -> None:
    rng = np.random.default_rng(seed)
    a = random_checkpoint(rng, widths, density)
    b = random_checkpoint(rng, widths, density)
    b2 = _relabel_hidden(b, rng)
    before = nnstd(a, b, method=method)
    after = nnstd(a, b2, method=method)
    assert after.layers[0] == pytest.approx(before.layers[0], abs=1e-12)
    # Deeper layers depend on which optimal matching was chosen; when every
    # layer's optimum is unique the relabelling cannot change anything.
    unique = True
    perm = None
    for k in range(len(widths) - 1):
        pb = _dense(b, k) if perm is None else _dense(b, k)[perm]
        _, count = _brute_force(_dense(a, k), pb)
        unique &= count == 1
        perm = before.matchings[k]
    if unique:
        assert after.layers == pytest.approx(before.layers, abs=1e-12)


def test_widths_must_match() -> None:
    rng = np.random.default_rng(0)
    a = random_checkpoint(rng, (4, 3, 2), 0.5, run="a")
    b = random_checkpoint(rng, (4, 4, 2), 0.5, run="b")
    with pytest.raises(InputError, match="layer widths differ"):
        nnstd(a, b)


def test_auto_picks_large_above_threshold() -> None:
    assert NNSTDOptions(method="auto", sparse_above=10).resolve((5, 11, 3)) == "large"
    assert NNSTDOptions(method="auto", sparse_above=10).resolve((5, 10, 3)) == "reference"
    with pytest.raises(InputError):
        NNSTDOptions(method="fast")  # type: ignore[arg-type]
