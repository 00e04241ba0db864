"""Exact NNSTD assignment for very wide layers: auction on a pruned overlap graph.

Solves one layer's assignment (``min Σ d`` over permutations, ``d = (s - 2i) /
(s - i)``) with the same contract as the solvers in
:mod:`topograph.measures.nnstd`, for layers far wider than the dense method
fits: :func:`assign_large` returns ``(costs, matching)``; :func:`solve_large`
also returns the optimality certificate.

Method
------
``min Σ d = m - max Σ J`` with ``J = i / (s - i)`` the Jaccard index, and
``J = 0`` for every pair sharing no input, so the problem is a maximum-weight
assignment on the implicit ``m x m`` matrix that is ``J`` on the overlap graph
(``inter``'s entries) and 0 elsewhere, after pairing neurons empty on both
sides (distance 0, always optimal).

1. **Integer weights.** ``W = round(K J)`` with ``K`` a power of two (2^43
   at n = 16384, 2^41 at n = 65536), and benefits ``S W`` with ``S = m + 1``,
   all in int64.
2. **Candidates.** Each row's and each column's 8 heaviest edges (one pass
   over ``inter`` with bounded heaps): under 1 % of the overlap graph.
3. **Auction** (Bertsekas' forward auction, Gauss-Seidel, epsilon scaling by
   16 down to ``eps = 1``) on the candidates. A pair outside them is worth 0,
   so a person's best such object is the globally cheapest one: an indexed
   heap of prices answers that in O(1), and no n^2 matrix is ever formed.
4. **Certificate.** With profits ``pi[j] = max_o (benefit - price[o])`` and
   the prices, ``pi[j] + price[o] >= benefit`` holds for every candidate and
   every non-edge by construction, and the total slack ``Σ (pi + price -
   benefit)`` over the assignment is below ``S`` (eps-complementary
   slackness with ``eps = 1``: at most ``m``). Since every assignment's value
   is a multiple of ``S``, that proves the assignment optimal for the
   candidates. One pass over **all** overlap edges then checks
   ``pi[j] + price[l] >= S W[j, l]``; where it fails, those edges (and the
   nearly tight ones) join the candidates and the auction runs again from
   the current prices. When no edge fails, ``(pi, price)`` is a feasible dual
   of the whole problem with the same value: the assignment is optimal for
   ``W``, proven in exact integer arithmetic, whatever the auction did.

Why exact
---------
The assignment is exactly optimal for the weights ``W / K``. Against the
exact rational optimum it can lose at most the rounding, ``1 / (2K)`` per
matched pair of either matching: :attr:`LargeAssignment.gap_bound` ``= m / K``
(1.9e-9 at n = 16384, 3.0e-8 at n = 65536, against a summed cost of
~0.97 n: a relative 1e-13 to 5e-13, below the float64 rounding of the dense
``reference`` sum itself). The tests find the exact rational optimum (brute
force over all permutations in ``fractions.Fraction``) on every tiny case and
the dense solver's cost on SET layers up to n = 2048. Costs are computed by
``nnstd._pair_distance`` on the matched pairs, bit for bit the dense matrix's
values. Where several matchings are optimal the auction may pick another one
than ``reference`` (as ``sparse`` may), so deeper NNSTD layers can differ.

Complexity and memory
---------------------
Time: three or four passes over the overlap graph's E edges (selection, one
pricing per round; E ~ 1600 n for random SET layers at epsilon = 20, so O(n)
per pass for fixed degrees) plus the auction on ~20 n candidates:
O(phases x bids x degree) with phases = log_16(S K) ~ 14, about 50 bids per
neuron in practice (worst case pseudo-polynomial, as for every auction; the
certificate never depends on it). Extra memory: one byte per overlap edge
(the candidate mask), O(n k) heaps and O(candidates) arrays; ``inter`` is read
in place, never copied (unless it holds duplicate entries, which are summed
first).

Measured (``benchmarks/large_nnstd.py``, 2 cores shared with other work, load
average 7-11, so absolute times are inflated ~2-3x against a quiet machine;
seconds = overlap product + assignment, peak = whole-process RSS; medians of 3
up to n = 16384; the same optimal cost as the baselines at every point)::

    random SET layers    large            sparse (LAPJVsp)   reference (dense)
    n = 4096             0.59 s 0.25 GiB    2.96 s 0.62 GiB    5.61 s 0.55 GiB
    n = 8192             1.16 s 0.33 GiB   36.3 s  1.20 GiB  110 s    1.27 GiB
    n = 16384            4.79 s 0.52 GiB  309 s    2.37 GiB   (too slow)
    n = 32768            9.75 s 0.89 GiB
    n = 65536           22.2  s 1.55 GiB
    rewired (3 %)
    n = 16384            4.25 s 0.52 GiB   16.7 s  2.38 GiB   18.2 s 3.50 GiB
    n = 65536           16.2  s 1.58 GiB   92.5 s  9.45 GiB

The assignment alone took 3.7 s of the 4.8 s at n = 16384 (1.6-2 s when the
machine was quieter) and 14.4 s of the 22.2 s at n = 65536 (8-12 s quieter):
time grows with E, about 2x per doubling of n at fixed degree.

Rejected alternatives (measured at n = 16384 on random SET layers):
scipy's LAPJVsp, the current ``sparse``: 97 s on the whole overlap graph and
41 s on a 16-per-row-and-column candidate graph (JV's augmentations crawl
through the huge ties); OR-Tools' cost-scaling ``SimpleLinearSumAssignment`` on the
integer problem (doubled to allow unmatched neurons): 707 s already at
n = 2048; ``lap.lapmod`` on a 32-per-row candidate graph: 10.5 s and not
optimal without pricing, which none of them can do (no dual prices are
returned); a successive-shortest-path (Dijkstra) solver with duals, in the
same numba setting, on that candidate graph: 35-55 s per solve (each
augmentation scans ~2000 columns). The auction needs about 0.6 s.

The kernels are compiled by numba on first use (~10-20 s once per machine,
then cached next to this file; ~0.5 s to load per process).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from numba import njit

from topograph.types import FloatArray, Matching

__all__ = ["LargeAssignment", "RoundStats", "assign_large", "solve_large"]

# The module itself, looked up when first used: nnstd may import this module
# while it is still being imported, and the package attribute ``nnstd`` is the
# function, not the module.
_nnstd = importlib.import_module("topograph.measures.nnstd")

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Integer benefits are ``S * round(K * J)`` with ``S = m + 1``; ``S * K`` stays
#: below ``2**_BENEFIT_BITS`` so prices and profits never approach int64 limits.
_BENEFIT_BITS = 58
#: ``K`` is at most ``2**_MAX_SCALE_BITS``: ``J * K`` is then an exact float64.
_MAX_SCALE_BITS = 46
#: A price above this means the int64 arithmetic lost its head-room.
_PRICE_LIMIT = np.int64(1) << np.int64(61)
_INF = np.int64(1) << np.int64(62)


# --------------------------------------------------------------------------
# numba kernels. All arithmetic on benefits and prices is int64 and exact.
# --------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _scaled_weight(i: float, s: float, scale: float) -> np.int64:  # pragma: no cover
    """``round(K * i / (s - i))``: the Jaccard index in units of ``1 / K``."""
    return np.int64(np.rint(i / (s - i) * scale))


@njit(cache=True, inline="always")
def _offer(  # pragma: no cover
    heap_w: IntArray, heap_p: IntArray, n: int, k: int, w: np.int64, t: int
) -> int:
    """Put ``(w, t)`` in a bounded min-heap holding ``n`` of at most ``k`` entries.

    Below ``k`` it is added (sift up); at ``k`` it replaces the least entry
    (sift down), which the caller has checked is below ``w``. Returns the
    new size.
    """
    if n < k:
        p = n
        n += 1
        while p > 0:
            q = (p - 1) >> 1
            if heap_w[q] <= w:
                break
            heap_w[p] = heap_w[q]
            heap_p[p] = heap_p[q]
            p = q
    else:
        p = 0
        while True:
            c = 2 * p + 1
            if c >= k:
                break
            if c + 1 < k and heap_w[c + 1] < heap_w[c]:
                c += 1
            if heap_w[c] >= w:
                break
            heap_w[p] = heap_w[c]
            heap_p[p] = heap_p[c]
            p = c
    heap_w[p] = w
    heap_p[p] = t
    return n


@njit(cache=True)
def _select(  # pragma: no cover
    indptr: IntArray,
    indices: npt.NDArray[np.int32],
    data: FloatArray,
    deg_a: FloatArray,
    deg_b: FloatArray,
    active_row: BoolArray,
    scale: float,
    k_row: int,
    k_col: int,
    keep: BoolArray,
) -> int:
    """Mark each row's ``k_row`` and each column's ``k_col`` heaviest edges.

    One pass over the overlap graph with a bounded min-heap per row and per
    column (``col_min`` holds each column heap's entry bar, so most edges
    cost one look-up). Columns out of the problem carry ``deg_b = inf``
    (weight 0). Returns the number of duplicate entries met (0 for a
    canonical matrix; the caller then sums them and calls again).
    """
    n_rows = indptr.size - 1
    n_cols = deg_b.size
    kc = max(k_col, 1)
    kr = max(k_row, 1)
    col_w = np.empty((n_cols, kc), np.int64)
    col_p = np.empty((n_cols, kc), np.int64)
    col_n = np.zeros(n_cols, np.int64)
    col_min = np.zeros(n_cols, np.int64)  # accept w > col_min; 0 until the heap is full
    if k_col == 0:
        col_min[:] = np.iinfo(np.int64).max
    row_w = np.empty(kr, np.int64)
    row_p = np.empty(kr, np.int64)
    stamp = np.full(n_cols, -1, np.int32)
    dups = 0
    for j in range(n_rows):
        if not active_row[j]:
            continue
        rn = 0
        row_min = np.int64(0) if k_row > 0 else np.iinfo(np.int64).max
        dj = deg_a[j]
        for t in range(indptr[j], indptr[j + 1]):
            col = indices[t]
            if stamp[col] == j:
                dups += 1
            stamp[col] = j
            w = _scaled_weight(data[t], dj + deg_b[col], scale)
            if w > row_min:
                rn = _offer(row_w, row_p, rn, k_row, w, t)
                if rn == k_row:
                    row_min = row_w[0]
            if w > col_min[col]:
                cn = _offer(col_w[col], col_p[col], col_n[col], k_col, w, t)
                col_n[col] = cn
                if cn == k_col:
                    col_min[col] = col_w[col, 0]
        for q in range(rn):
            keep[row_p[q]] = True
    for col in range(n_cols):
        for q in range(col_n[col]):
            keep[col_p[col, q]] = True
    return dups


@njit(cache=True)
def _gather(  # pragma: no cover
    indptr: IntArray,
    indices: npt.NDArray[np.int32],
    data: FloatArray,
    deg_a: FloatArray,
    deg_b: FloatArray,
    pos: IntArray,
    row_person: IntArray,
    col_obj: IntArray,
    scale: float,
    s_factor: int,
    m: int,
) -> tuple[IntArray, IntArray, IntArray]:
    """The kept edges (positions ``pos``, ascending) as a per-person CSR.

    Returns (pointer, object, benefit ``S * W``).
    """
    cptr = np.zeros(m + 1, np.int64)
    cobj = np.empty(pos.size, np.int64)
    cben = np.empty(pos.size, np.int64)
    j = 0
    for q in range(pos.size):
        t = pos[q]
        while indptr[j + 1] <= t:
            j += 1
        col = indices[t]
        cptr[row_person[j] + 1] += 1
        cobj[q] = col_obj[col]
        cben[q] = _scaled_weight(data[t], deg_a[j] + deg_b[col], scale) * s_factor
    for p in range(m):
        cptr[p + 1] += cptr[p]
    return cptr, cobj, cben


@njit(cache=True, inline="always")
def _sift_down(  # pragma: no cover
    hk: IntArray, hn: IntArray, hpos: IntArray, size: int, p: int
) -> None:
    """Restore the min-heap below slot ``p`` after its key grew."""
    key = hk[p]
    node = hn[p]
    while True:
        c = 2 * p + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[c] >= key:
            break
        hk[p] = hk[c]
        hn[p] = hn[c]
        hpos[hn[p]] = p
        p = c
    hk[p] = key
    hn[p] = node
    hpos[node] = p


@njit(cache=True)
def _auction(  # pragma: no cover
    cptr: IntArray,
    cobj: IntArray,
    cben: IntArray,
    price: IntArray,
    owner: IntArray,
    assigned: IntArray,
    eps_schedule: IntArray,
    price_limit: np.int64,
) -> tuple[int, bool]:
    """Forward Gauss-Seidel auction with epsilon scaling on the implicit m x m problem.

    Person ``j`` values object ``o`` at ``cben - price[o]`` on its candidate
    edges and ``-price[o]`` everywhere else (benefit 0: a pair outside the
    candidate graph), so its best off-graph object is the globally cheapest
    one: an indexed min-heap of prices gives the two cheapest in O(1) and
    takes O(log m) per price rise. Each phase starts from the previous
    prices, shifted so the cheapest is 0, with every person unassigned, and
    ends with a full assignment satisfying eps-complementary slackness.
    Returns the number of bids and whether all prices stayed below
    ``price_limit``.
    """
    m = cptr.size - 1
    neg = -(np.int64(1) << np.int64(62))
    hk = np.empty(m, np.int64)
    hn = np.empty(m, np.int64)
    hpos = np.empty(m, np.int64)
    queue = np.empty(m, np.int64)
    bids = 0
    if m < 2:
        for j in range(m):
            assigned[j] = j
            owner[j] = j
        return bids, True
    for eps in eps_schedule:
        # Every phase starts with all persons unassigned: a fresh bidding
        # round pushes the prices up evenly, and those higher duals leave
        # far fewer overlap edges violated at pricing than a warm start does
        # (measured: 3 rounds instead of 4 to 16 at n = 16384).
        pmin = price.min()
        for o in range(m):
            price[o] -= pmin
            owner[o] = -1
            assigned[o] = -1
            queue[o] = o
            hk[o] = price[o]
            hn[o] = o
            hpos[o] = o
        for p in range(m // 2 - 1, -1, -1):
            _sift_down(hk, hn, hpos, m, p)
        waiting = m
        head = 0
        tail = 0  # the circular queue is full: the next free slot is 0
        while waiting > 0:
            j = queue[head]
            head += 1
            if head == m:
                head = 0
            waiting -= 1
            c1 = neg
            c2 = neg
            c1o = -1
            for t in range(cptr[j], cptr[j + 1]):
                o = cobj[t]
                v = cben[t] - price[o]
                if v > c1:
                    c2 = c1
                    c1 = v
                    c1o = o
                elif v > c2:
                    c2 = v
            # the two cheapest objects: the root and the smaller of its children
            g1 = hn[0]
            g2 = hn[1]
            if m > 2 and hk[2] < hk[1]:
                g2 = hn[2]
            z1 = -price[g1]
            z2 = -price[g2]
            if c1 >= z1:
                o1 = c1o
                v1 = c1
                zz = z1 if g1 != o1 else z2
                v2 = c2 if c2 > zz else zz
            else:
                o1 = g1
                v1 = z1
                v2 = c1 if c1 > z2 else z2
            price[o1] += v1 - v2 + eps
            if price[o1] > price_limit:
                return bids, False
            bids += 1
            p = hpos[o1]
            hk[p] = price[o1]
            _sift_down(hk, hn, hpos, m, p)
            prev = owner[o1]
            owner[o1] = j
            assigned[j] = o1
            if prev >= 0:
                assigned[prev] = -1
                queue[tail] = prev
                tail += 1
                if tail == m:
                    tail = 0
                waiting += 1
    return bids, True


@njit(cache=True)
def _profits(  # pragma: no cover
    cptr: IntArray, cobj: IntArray, cben: IntArray, price: IntArray, assigned: IntArray
) -> tuple[IntArray, np.int64]:
    """Exact profits ``pi[j] = max_o value(j, o)`` and the total slack.

    The slack ``sum_j (pi[j] + price[assigned[j]] - benefit[j, assigned[j]])``
    is the duality gap of the candidate problem (every object is assigned).
    """
    m = cptr.size - 1
    pmin = price.min() if m > 0 else np.int64(0)
    pi = np.empty(m, np.int64)
    slack = np.int64(0)
    for j in range(m):
        best = -pmin
        own = np.int64(0)
        for t in range(cptr[j], cptr[j + 1]):
            v = cben[t] - price[cobj[t]]
            if v > best:
                best = v
            if cobj[t] == assigned[j]:
                own = cben[t]
        pi[j] = best
        slack += best + price[assigned[j]] - own
    return pi, slack


@njit(cache=True)
def _price_out(  # pragma: no cover
    indptr: IntArray,
    indices: npt.NDArray[np.int32],
    data: FloatArray,
    deg_a: FloatArray,
    deg_b: FloatArray,
    active_row: BoolArray,
    scale: float,
    s_factor: int,
    pi_row: IntArray,
    price_col: IntArray,
    margin: np.int64,
    keep: BoolArray,
) -> tuple[int, int, np.int64]:
    """Dual feasibility on every overlap edge: ``pi[j] + price[l] >= S * W[j, l]``.

    ``pi_row`` and ``price_col`` are indexed by row and column labels.
    Marks in ``keep`` every edge whose reduced cost is below ``margin`` (the
    violated ones and the nearly violated ones, to save later rounds).
    Returns (violations, newly kept, largest violation).
    """
    n_rows = indptr.size - 1
    viol = 0
    added = 0
    worst = np.int64(0)
    for j in range(n_rows):
        if not active_row[j]:
            continue
        base = pi_row[j]
        dj = deg_a[j]
        for t in range(indptr[j], indptr[j + 1]):
            col = indices[t]
            b = _scaled_weight(data[t], dj + deg_b[col], scale) * s_factor
            r = base + price_col[col] - b
            if r < margin:
                if r < 0:
                    viol += 1
                    if -r > worst:
                        worst = -r
                if not keep[t]:
                    keep[t] = True
                    added += 1
    return viol, added, worst


@njit(cache=True)
def _matched_intersections(  # pragma: no cover
    indptr: IntArray,
    indices: npt.NDArray[np.int32],
    data: FloatArray,
    pos: IntArray,
    cptr: IntArray,
    cobj: IntArray,
    rows: IntArray,
    matching: IntArray,
    assigned: IntArray,
) -> FloatArray:
    """``inter[j, matching[j]]`` for every row (0 where the pair shares nothing).

    Looked up among the person's candidate edges first (``pos`` holds their
    positions in ``inter``); only a pair from outside them needs a row scan.
    """
    n = matching.size
    out = np.zeros(n, np.float64)
    for p in range(rows.size):
        j = rows[p]
        found = False
        for q in range(cptr[p], cptr[p + 1]):
            if cobj[q] == assigned[p]:
                out[j] = data[pos[q]]
                found = True
                break
        if not found:
            col = matching[j]
            for t in range(indptr[j], indptr[j + 1]):
                if indices[t] == col:
                    out[j] += data[t]
    return out


# --------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------


class RoundStats(NamedTuple):
    """One solve-and-price round: candidate edges, bids, violated edges, edges added."""

    candidates: int
    bids: int
    violations: int
    added: int


@dataclass(frozen=True, eq=False)
class LargeAssignment:
    """An optimal NNSTD assignment of one layer and its optimality certificate.

    Attributes
    ----------
    costs
        ``costs[j] = d(j, matching[j])`` in float64, by ``nnstd._pair_distance``.
    matching
        int64 permutation: row ``j`` of network a is matched to column
        ``matching[j]`` of network b.
    scale
        ``K``: the assignment is exactly optimal (proven by integer duals) for
        the Jaccard indices rounded to multiples of ``1 / K``.
    gap_bound
        Proven bound on ``sum(costs)`` minus the exact rational optimum:
        ``m / K`` for the ``m`` neurons not paired as empty (rounding can
        mislead by at most ``1 / (2K)`` per pair of the two matchings).
    history
        One entry per solve-and-price round; the last one found no violation.
    overlap_edges
        Edges of the whole overlap graph (the candidates are a small part).
    seconds
        Wall time of each step (select, gather, auction, price, costs), summed
        over rounds: where the time goes, for the benchmark.
    """

    costs: FloatArray
    matching: Matching
    scale: int
    gap_bound: float
    history: tuple[RoundStats, ...]
    overlap_edges: int
    seconds: dict[str, float] = field(default_factory=dict, repr=False)


def _empty_pairs(deg_a: FloatArray, deg_b: FloatArray) -> tuple[IntArray, IntArray]:
    """Neurons with no inputs on both sides, paired in label order (distance 0).

    Pairing them first is optimal: an empty neuron is at distance 1 from every
    non-empty one, so swapping partners never loses.
    """
    empty_a = np.flatnonzero(deg_a == 0)
    empty_b = np.flatnonzero(deg_b == 0)
    k = min(empty_a.size, empty_b.size)
    return empty_a[:k].astype(np.int64), empty_b[:k].astype(np.int64)


def _schedule(start: int, theta: int) -> IntArray:
    eps = max(1, start)
    out = []
    while eps > 1:
        out.append(eps)
        eps //= theta
    out.append(1)
    return np.asarray(out, dtype=np.int64)


def solve_large(
    inter: sp.csr_matrix,
    deg_a: FloatArray,
    deg_b: FloatArray,
    *,
    k_row: int = 8,
    k_col: int = 8,
    theta: int = 16,
    margin: float = 2e-3,
    max_rounds: int = 50,
) -> LargeAssignment:
    """Optimal assignment of one layer with its certificate (see the module docstring).

    ``inter``: (n, n) CSR intersection counts ``A.T @ B`` (no duplicate
    entries; summed first if there are); ``deg_a``, ``deg_b``: in-degrees.
    ``k_row``, ``k_col``: heaviest edges per row and per column in the first
    candidate graph; ``theta``: epsilon reduction factor of the auction;
    ``margin``: edges whose reduced cost is below ``margin`` (in Jaccard units)
    join the candidates when pricing finds a violation. These only change
    speed, never the optimum.
    """
    n = int(deg_a.size)
    deg_a = np.ascontiguousarray(deg_a, dtype=np.float64)
    deg_b = np.ascontiguousarray(deg_b, dtype=np.float64)
    inter = sp.csr_matrix(inter)
    matching = np.full(n, -1, dtype=np.int64)
    ea, eb = _empty_pairs(deg_a, deg_b)
    matching[ea] = eb
    row_person = np.full(n, -1, dtype=np.int64)
    col_obj = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(matching < 0)
    taken = np.zeros(n, dtype=bool)
    taken[eb] = True
    cols = np.flatnonzero(~taken)
    m = int(rows.size)
    row_person[rows] = np.arange(m)
    col_obj[cols] = np.arange(m)
    s_factor = m + 1
    scale_bits = min(_MAX_SCALE_BITS, _BENEFIT_BITS - s_factor.bit_length())
    scale = float(2**scale_bits)

    active_row = row_person >= 0
    # Columns out of the problem (paired as empty) get weight 0 everywhere.
    deg_b_active = np.where(col_obj >= 0, deg_b, np.inf)

    seconds = dict.fromkeys(("select", "gather", "auction", "price", "costs"), 0.0)
    clock = time.perf_counter()
    indptr = inter.indptr.astype(np.int64)
    indices = inter.indices
    data = inter.data.astype(np.float64, copy=False)
    keep = np.zeros(indices.size, dtype=np.bool_)
    edges = (deg_a, deg_b_active, active_row, scale)
    if _select(indptr, indices, data, *edges, k_row, k_col, keep):
        inter = inter.copy()  # duplicate entries: sum them (a product never has any)
        inter.sum_duplicates()
        indptr = inter.indptr.astype(np.int64)
        indices = inter.indices
        data = inter.data.astype(np.float64, copy=False)
        keep = np.zeros(indices.size, dtype=np.bool_)
        _select(indptr, indices, data, *edges, k_row, k_col, keep)
    seconds["select"] += time.perf_counter() - clock

    price = np.zeros(m, dtype=np.int64)
    owner = np.full(m, -1, dtype=np.int64)
    assigned = np.full(m, -1, dtype=np.int64)
    margin_units = np.int64(int(margin * scale) * s_factor)
    margin_cap = 8 * margin_units
    pi_row = np.zeros(n, dtype=np.int64)
    price_col = np.zeros(n, dtype=np.int64)
    history: list[RoundStats] = []
    start = -1
    while True:
        if len(history) == max_rounds:
            raise RuntimeError(f"no certified optimum after {max_rounds} pricing rounds")
        clock = time.perf_counter()
        pos = np.flatnonzero(keep).astype(np.int64)
        cptr, cobj, cben = _gather(
            indptr, indices, data, deg_a, deg_b, pos, row_person, col_obj, scale, s_factor, m
        )
        if start < 0:
            start = int(cben.max()) // theta if cben.size else 1
        seconds["gather"] += time.perf_counter() - clock
        clock = time.perf_counter()
        bids, ok = _auction(
            cptr, cobj, cben, price, owner, assigned, _schedule(start, theta), _PRICE_LIMIT
        )
        if not ok:
            raise RuntimeError("auction prices left the int64 head-room; please report")
        seconds["auction"] += time.perf_counter() - clock
        clock = time.perf_counter()
        pi, slack = _profits(cptr, cobj, cben, price, assigned)
        # Every object is assigned, so the slack is the duality gap of the
        # candidate problem; eps = 1 on benefits scaled by S = m + 1 keeps it
        # below S, one unit of W: the assignment is optimal for the candidates.
        if not 0 <= slack < s_factor:
            raise RuntimeError(f"duality gap {slack} not below {s_factor}; please report")
        pi_row[rows] = pi
        price_col[cols] = price
        viol, added, worst = _price_out(
            indptr, indices, data, *edges, s_factor, pi_row, price_col, margin_units, keep
        )
        seconds["price"] += time.perf_counter() - clock
        history.append(RoundStats(int(cobj.size), int(bids), int(viol), int(added)))
        if viol == 0:
            break
        start = int(worst) // theta
        # Each round bids afresh and moves many prices a little, so a few new
        # violations can trickle in where duals are nearly tight (rewired
        # layers: 7 rounds at n = 16384 with a fixed margin). A wider net each
        # round ends that sooner; the cap keeps it from taking in the bulk of
        # the graph (the i = 1 edges of random layers sit ~0.02 below tight).
        margin_units = min(2 * margin_units, margin_cap)

    clock = time.perf_counter()
    matching[rows] = cols[assigned]
    i = _matched_intersections(indptr, indices, data, pos, cptr, cobj, rows, matching, assigned)
    costs = _nnstd._pair_distance(deg_a + deg_b[matching], i)
    seconds["costs"] += time.perf_counter() - clock
    return LargeAssignment(
        costs=costs,
        matching=matching,
        scale=int(scale),
        gap_bound=m / scale,
        history=tuple(history),
        overlap_edges=int(indices.size),
        seconds=seconds,
    )


def assign_large(
    inter: sp.csr_matrix, deg_a: FloatArray, deg_b: FloatArray
) -> tuple[FloatArray, Matching]:
    """Drop-in layer solver for NNSTD: ``(costs, matching)`` as ``_assign_sparse``.

    Same contract as the solvers in :mod:`topograph.measures.nnstd`: the
    matching minimises the summed distance, ``costs[j]`` is the distance of
    row ``j`` to its match.
    """
    res = solve_large(inter, deg_a, deg_b)
    return res.costs, res.matching
