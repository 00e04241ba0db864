"""Rank correlation (Spearman's rho) with its two-sided p-value.

Why our own: the accuracy study correlates accuracy with spectral properties
that tie often (the whole-graph algebraic connectivity is exactly 0 for every
disconnected layer; a deterministic construction gives identical values for
its replicates), so ties must get average ranks, and NaN pairs must be left
out rather than poison the result. The value is Pearson's correlation of the
average ranks, which is what ``scipy.stats.spearmanr`` computes (tested
against it and against a ranking worked out by hand); the p-value uses the
same t approximation, ``t = rho sqrt((n - 2) / (1 - rho^2))`` with n - 2
degrees of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Spearman", "average_ranks", "spearman"]


def average_ranks(values: Sequence[float] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """1-based ranks of ``values``; tied values share the mean of the ranks they span.

    ``[10, 20, 20, 5]`` -> ``[2, 3.5, 3.5, 1]``. O(n log n).
    """
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    # starts of runs of equal values in sorted order
    starts = np.flatnonzero(np.concatenate([[True], sorted_x[1:] != sorted_x[:-1]]))
    ends = np.concatenate([starts[1:], [x.size]])  # exclusive
    mean_rank = (starts + ends + 1) / 2.0  # mean of ranks start+1 .. end
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


@dataclass(frozen=True)
class Spearman:
    """Spearman's rho of ``n`` complete pairs and its two-sided p-value.

    ``rho`` is NaN when fewer than 3 pairs remain or one side is constant
    (no ranking to correlate); ``p_value`` is then NaN too.
    """

    rho: float
    p_value: float
    n: int

    def label(self, p_value: bool = False) -> str:
        """``Spearman ρ = +0.32 (n = 8)``, or why there is no ρ (a constant side, n < 3)."""
        if math.isnan(self.rho):
            why = "fewer than 3 pairs" if self.n < 3 else "one side constant"
            return f"Spearman ρ undefined: {why} (n = {self.n})"
        p = f"p = {self.p_value:.2g}, " if p_value else ""
        return f"Spearman ρ = {self.rho:+.2f} ({p}n = {self.n})"


def spearman(x: Sequence[float], y: Sequence[float]) -> Spearman:
    """Spearman's rank correlation of ``x`` and ``y``, pairs with a NaN left out."""
    from scipy.stats import t as student_t

    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"x and y must be 1-D of one length, got {a.shape} and {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = int(a.size)
    if n < 3:
        return Spearman(math.nan, math.nan, n)
    ra, rb = average_ranks(a), average_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denom = math.sqrt(float(ra @ ra) * float(rb @ rb))
    if denom == 0.0:
        return Spearman(math.nan, math.nan, n)
    rho = max(-1.0, min(1.0, float(ra @ rb) / denom))
    if abs(rho) == 1.0:
        return Spearman(rho, 0.0, n)
    t = rho * math.sqrt((n - 2) / (1.0 - rho * rho))
    return Spearman(rho, float(2.0 * student_t.sf(abs(t), n - 2)), n)
