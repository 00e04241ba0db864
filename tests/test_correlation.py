"""Spearman's rho: against a ranking worked out by hand, and against scipy.stats on known data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from topograph.pipeline.correlation import average_ranks, spearman


def test_average_ranks_by_hand() -> None:
    # sorted: 5 (rank 1), 10 (rank 2), 20 20 (ranks 3 and 4 -> 3.5 each)
    assert average_ranks([10, 20, 20, 5]).tolist() == [2.0, 3.5, 3.5, 1.0]
    assert average_ranks([0.0, 0.0, 0.0]).tolist() == [2.0, 2.0, 2.0]
    assert average_ranks([3.0, 1.0, 2.0]).tolist() == [3.0, 1.0, 2.0]


def test_spearman_by_hand() -> None:
    """x = 1..5, y = 5 6 7 8 7: ranks of y are 1 2 3.5 5 3.5.

    Centred ranks: x -> -2 -1 0 1 2; y -> -2 -1 0.5 2 0.5 (mean 3).
    Sum of products: 4 + 1 + 0 + 2 + 1 = 8; |x|^2 = 10; |y|^2 = 4 + 1 + 0.25 + 4 + 0.25 = 9.5.
    rho = 8 / sqrt(10 * 9.5) = 0.82078...
    """
    got = spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])
    assert got.n == 5
    assert got.rho == pytest.approx(8 / math.sqrt(95), abs=1e-15)
    # p from the t approximation with 3 degrees of freedom, by hand
    t = got.rho * math.sqrt(3 / (1 - got.rho**2))
    assert got.p_value == pytest.approx(2 * stats.t.sf(t, 3), rel=1e-12)


def test_perfect_and_reversed_orders() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 1000]).rho == 1.0
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]).rho == -1.0
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]).p_value == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_scipy_on_data_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, size=40).astype(float)  # many ties, like a(G) = 0 for disconnected
    y = x * 0.3 + rng.normal(size=40)
    want = stats.spearmanr(x, y)
    got = spearman(x.tolist(), y.tolist())
    assert got.rho == pytest.approx(want.statistic, abs=1e-12)
    assert got.p_value == pytest.approx(want.pvalue, rel=1e-9)


def test_nan_pairs_are_left_out_and_constants_give_nan() -> None:
    got = spearman([1.0, 2.0, math.nan, 3.0, 4.0], [2.0, 1.0, 5.0, 4.0, 3.0])
    assert got.n == 4
    assert got.rho == pytest.approx(stats.spearmanr([1, 2, 3, 4], [2, 1, 4, 3]).statistic)
    flat = spearman([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0])
    assert math.isnan(flat.rho) and math.isnan(flat.p_value) and flat.n == 4
    assert math.isnan(spearman([1.0, 2.0], [2.0, 1.0]).rho)


def test_label_says_why_there_is_no_rho() -> None:
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]).label() == "Spearman ρ = +0.80 (n = 4)"
    assert (
        spearman([1, 2, 3], [5, 5, 5]).label() == "Spearman ρ undefined: one side constant (n = 3)"
    )
    assert spearman([1, 2], [1, 2]).label() == "Spearman ρ undefined: fewer than 3 pairs (n = 2)"
    assert "p = " in spearman([1, 2, 3, 4], [1, 3, 2, 4]).label(p_value=True)
