"""Neural Network Sparse Topology Distance (NNSTD).

Liu, Van der Lee, Yaman, Atashgahi, Ferraro, Sokar, Pechenizkiy, Mocanu:
"Topological Insights into Sparse Neural Networks", ECML-PKDD 2020.

Two networks with the same layer widths are compared layer by layer on their
**topology only** (``w != 0``; weights and biases are ignored). Input neurons
are shared. Convolutions are compared the same way with channels as neurons:
output channel ``j``'s input set is every ``(c, y, x)`` with a non-zero
weight, and a matching of channels moves whole row blocks of the next layer
(see :mod:`topograph.model`); with ``1 x 1`` kernels this is the dense
definition. In layer ``k`` every output neuron ``j`` is the set ``S_j`` of
input neurons it reads from; neurons ``j`` (network a) and ``l`` (network b)
are at distance::

    d = (a + b - 2i) / (a + b - i),  a = |S_j|, b = |T_l|, i = |S_j ∩ T_l|

(``d = 0`` when both are empty; ``d = 1 - Jaccard``). The output neurons of b
are matched to those of a by a minimum-cost assignment; the layer distance is
the matched cost over ``n_{k+1}``, a number in ``[0, 1]``. Network b's next
layer is then re-ordered by that matching (hidden neurons are only defined up
to relabelling) before layer ``k + 1`` is compared. The network distance is
the mean of the layer distances.

Two methods, always reported with the result:

``reference``
    Exactly the published code's arithmetic: the dense ``n x n`` cost matrix in
    float64 in the form above, solved by
    :func:`scipy.optimize.linear_sum_assignment`. Values equal the published
    reference bit for bit, matchings included. O(n^2) memory, about O(n^3)
    time in the worst case.
``sparse``
    The same optimum cost as a maximum-weight matching: ``min Σ d = n - max Σ
    Jaccard``, and only neuron pairs that share an input have non-zero
    Jaccard, so the assignment is solved on the sparse overlap graph with
    :func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching` (LAPJVsp).
    Neurons with no inputs in both networks are paired first (distance 0).
    Each layer's optimal cost is exact; where several matchings are optimal it
    may pick another one than ``reference``, so deeper layers (which depend
    on the previous matching) can differ. Memory grows with the overlap
    graph's edges, not ``n^2``.
``large``
    The same optimum for layers of tens of thousands of neurons: the
    maximum-weight matching on the overlap graph with Jaccard weights scaled to
    integers, solved by an ε-scaling auction on a small candidate graph (each
    neuron's heaviest overlaps) and proven optimal on the whole overlap graph
    by its dual prices, adding the edges that fail the check until none does
    (:mod:`topograph.measures.large_assignment`). Optimal to within
    ``n / K`` of the rational optimum (K = 2^41..2^43: below 3e-8 absolute at
    65,536 neurons, under float64's summation error), memory linear in the
    overlap graph; 16,384 SET-density neurons in about 5 s, 65,536 in about
    20 s on 2 cores. Like ``sparse``, it may pick another of several optimal
    matchings than ``reference``.
``auto``
    ``large`` when the widest compared layer has more than
    :data:`AUTO_SPARSE_ABOVE` output neurons, else ``reference``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from topograph.errors import InputError
from topograph.measures.base import PairMeasure
from topograph.model import Checkpoint, block_rows
from topograph.results import DistanceResult, stored
from topograph.types import FloatArray, Matching, Method, ResolvedMethod

__all__ = [
    "AUTO_SPARSE_ABOVE",
    "METHODS",
    "NNSTD",
    "NNSTD_VERSION",
    "NNSTDOptions",
    "NNSTDResult",
    "layer_distance",
    "matched_layer",
    "neuron_distance_matrix",
    "nnstd",
    "overlap",
]

#: Bumped whenever a change could alter any stored value.
NNSTD_VERSION = "2"
#: ``auto`` switches from ``reference`` to ``large`` above this many output
#: neurons in a layer. At and below it ``reference`` keeps the published
#: values bit for bit; above it (benchmarks/large_nnstd.py, random SET-density
#: layers, 2 cores) ``large`` wins by far: 0.6 s against 5.6 s at 4096, 1.2 s
#: against 110 s at 8192, and at 16384 the dense matrices need ~6 GiB.
AUTO_SPARSE_ABOVE = 2048
#: The methods a user may choose. The default, ``auto``, is ``reference`` (the
#: published values bit for bit) up to :data:`AUTO_SPARSE_ABOVE` neurons.
METHODS: tuple[Method, ...] = get_args(Method)


@dataclass(frozen=True)
class NNSTDOptions:
    """Options of :func:`nnstd`, passed unchanged through pairwise runs and workers."""

    method: Method = "auto"
    sparse_above: int = AUTO_SPARSE_ABOVE

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown NNSTD method {self.method!r} (use {', '.join(METHODS)})")

    def stored_methods(self) -> tuple[ResolvedMethod, ...]:
        """Methods whose stored results this choice accepts (``auto`` resolves per network)."""
        return ("reference", "large") if self.method == "auto" else (self.method,)

    def resolve(self, widths: tuple[int, ...]) -> ResolvedMethod:
        """The method used for networks of these widths."""
        if self.method == "auto":
            return "large" if max(widths[1:]) > self.sparse_above else "reference"
        return self.method


@dataclass(frozen=True, eq=False)
class NNSTDResult(DistanceResult):
    """NNSTD between network a and network b, and how it was reached.

    Attributes
    ----------
    layers
        Distance of each layer, in ``[0, 1]``; ``layers[k]`` compares ``W[k]``.
    mean
        ``numpy.mean(layers)``: the network distance the reference prints.
    method
        ``"reference"`` or ``"sparse"``: the method actually used.
    version
        :data:`NNSTD_VERSION` of the code that computed it.
    matchings
        Per layer, an int64 array of length ``n_{k+1}``: output neuron ``j`` of
        network a is matched to output neuron ``matchings[k][j]`` of network b,
        both in their own files' labels.
    costs
        Per layer, float64 array: ``costs[k][j]`` is the distance between
        neuron ``j`` of a and its match (0 = same inputs, 1 = none shared).
    """

    layers: tuple[float, ...] = stored(
        "float64", "NNSTD of the layer, in [0, 1]", scope="layer", column="distance"
    )
    method: ResolvedMethod = stored("string", "assignment method: reference, sparse or large")


def overlap(a: sp.csr_matrix, b: sp.csr_matrix) -> tuple[sp.csr_matrix, FloatArray, FloatArray]:
    """Shared inputs of every output-neuron pair, by one sparse product.

    ``a`` and ``b``: 0/1 float64 CSR of shape ``(n_in, n_out)``. Returns the
    intersection counts ``I = a.T @ b`` (CSR, ``(n_out_a, n_out_b)``) and the
    in-degrees ``|S_j|`` of a and ``|T_l|`` of b (float64 vectors).
    """
    inter = (a.T.tocsr() @ b).tocsr()
    deg_a = np.diff(a.tocsc().indptr).astype(np.float64)
    deg_b = np.diff(b.tocsc().indptr).astype(np.float64)
    return inter, deg_a, deg_b


def _pair_distance(s: FloatArray, i: FloatArray) -> FloatArray:
    """``(s - 2i) / (s - i)`` with ``s = a + b``; 0 where both sets are empty.

    Exactly this form in float64: the reference breaks assignment ties by
    these values, and ``1 - i / (s - i)`` rounds differently.
    """
    num = s - 2.0 * i
    den = s - i
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def neuron_distance_matrix(a: sp.csr_matrix, b: sp.csr_matrix) -> FloatArray:
    """The dense ``(n_out, n_out)`` neuron-to-neuron distance matrix of one layer.

    O(n_out^2) memory (8 bytes a cell).
    """
    return _dense_cost(*overlap(a, b))


def _dense_cost(inter: sp.csr_matrix, deg_a: FloatArray, deg_b: FloatArray) -> FloatArray:
    """Dense cost matrix, bit-identical to evaluating the formula on every cell.

    Pairs that share no input have ``(s - 0) / (s - 0) = 1.0`` exactly (or 0
    when both are empty), so only the overlap graph's entries need the
    formula: one fill plus sparse work instead of five n x n temporaries.
    """
    cost = np.ones((deg_a.size, deg_b.size), dtype=np.float64)
    cost[np.ix_(deg_a == 0, deg_b == 0)] = 0.0
    coo = inter.tocoo()
    s = deg_a[coo.row] + deg_b[coo.col]
    cost[coo.row, coo.col] = _pair_distance(s, coo.data.astype(np.float64))
    return cost


def _matched_costs(
    inter: sp.csr_matrix, deg_a: FloatArray, deg_b: FloatArray, matching: Matching
) -> FloatArray:
    """``d(j, matching[j])`` for every ``j``, in order."""
    rows = np.arange(matching.size)
    i = np.asarray(inter[rows, matching], dtype=np.float64).ravel()
    return _pair_distance(deg_a + deg_b[matching], i)


def _assign_reference(
    inter: sp.csr_matrix, deg_a: FloatArray, deg_b: FloatArray
) -> tuple[FloatArray, Matching]:
    # O(n^2) memory for the dense cost matrix, roughly O(n^3) time to solve it.
    cost = _dense_cost(inter, deg_a, deg_b)
    rows, cols = linear_sum_assignment(cost)
    return cost[rows, cols], cols.astype(np.int64)


def _assign_sparse(
    inter: sp.csr_matrix, deg_a: FloatArray, deg_b: FloatArray
) -> tuple[FloatArray, Matching]:
    n = deg_a.size
    matching = np.full(n, -1, dtype=np.int64)
    taken = np.zeros(n, dtype=bool)
    # Empty neurons on both sides: distance 0, and pairing them is always
    # optimal (an empty neuron costs 1 against any non-empty one).
    empty_a = np.flatnonzero(deg_a == 0)
    empty_b = np.flatnonzero(deg_b == 0)
    k = min(empty_a.size, empty_b.size)
    matching[empty_a[:k]] = empty_b[:k]
    taken[empty_b[:k]] = True
    rows = np.flatnonzero(matching < 0)
    cols = np.flatnonzero(~taken)
    m = rows.size
    if m:
        sub = inter[rows][:, cols].tocoo()
        s = deg_a[rows][sub.row] + deg_b[cols][sub.col]
        # Cost 1 + d on overlap edges, 2 on each row's private dummy column:
        # a row sent to its dummy stands for a pair with no shared input
        # (d = 1), so minimising the sum minimises the full assignment's cost.
        # The +1 keeps every weight positive (a stored 0 is not an edge).
        w = 1.0 + _pair_distance(s, sub.data.astype(np.float64))
        data = np.concatenate([w, np.full(m, 2.0)])
        r = np.concatenate([sub.row, np.arange(m)])
        c = np.concatenate([sub.col, m + np.arange(m)])
        graph = sp.csr_matrix((data, (r, c)), shape=(m, 2 * m))
        got_r, got_c = min_weight_full_bipartite_matching(graph)
        real = got_c < m
        matching[rows[got_r[real]]] = cols[got_c[real]]
        taken[cols[got_c[real]]] = True
        # Rows left on their dummy take the unmatched columns in label order:
        # every such pair costs 1 at the optimum.
        left = rows[got_r[~real]]
        left.sort()
        matching[left] = np.flatnonzero(~taken)
    return _matched_costs(inter, deg_a, deg_b, matching), matching


def _assign_large(
    inter: sp.csr_matrix, deg_a: FloatArray, deg_b: FloatArray
) -> tuple[FloatArray, Matching]:
    # Imported here: numba's compiled kernels load only when a wide layer needs them.
    from topograph.measures.large_assignment import assign_large

    return assign_large(inter, deg_a, deg_b)


_SOLVERS = {"reference": _assign_reference, "sparse": _assign_sparse, "large": _assign_large}


def matched_layer(
    a: sp.csr_matrix, b: sp.csr_matrix, method: ResolvedMethod = "reference"
) -> tuple[float, Matching, FloatArray]:
    """Distance of one layer, its matching and each matched pair's distance.

    ``a``, ``b``: 0/1 float64 CSR patterns of shape ``(n_in, n_out)`` whose
    rows (input neurons) are already aligned. Returns the layer distance in
    ``[0, 1]``, the matching (``matching[j]`` = column of ``b`` matched to
    column ``j`` of ``a``) and ``costs[j] = d(j, matching[j])``. The layer
    distance is ``costs.sum() / n_out``, summed in row order as the reference
    sums.
    """
    if method != "reference" and a.shape == b.shape and (a != b).nnz == 0:
        # Identical layers: the identity is an optimal matching (every pair at
        # distance 0). Solvers that break ties their own way could pick another
        # optimum that swaps identical neurons and so changes the next layer;
        # taking the identity keeps a network at distance 0 from itself on
        # every layer. ``reference`` keeps the published code's own tie-breaking.
        n = a.shape[1]
        return 0.0, np.arange(n, dtype=np.int64), np.zeros(n)
    inter, deg_a, deg_b = overlap(a, b)
    costs, matching = _SOLVERS[method](inter, deg_a, deg_b)
    return float(costs.sum()) / a.shape[1], matching, costs


def layer_distance(
    a: sp.csr_matrix, b: sp.csr_matrix, method: ResolvedMethod = "reference"
) -> tuple[float, Matching]:
    """Distance of one layer and its matching (see :func:`matched_layer`)."""
    distance, matching, _ = matched_layer(a, b, method)
    return distance, matching


def nnstd(
    a: Checkpoint, b: Checkpoint, options: NNSTDOptions | None = None, **kwargs: object
) -> NNSTDResult:
    """NNSTD from network ``a`` to network ``b``.

    Layer 0 is symmetric in ``a`` and ``b``; deeper layers are not exactly
    (the matching breaks ties in one direction), so callers name the
    direction. Options come as an :class:`NNSTDOptions` or as its fields
    (``method="sparse"``).

    Raises :class:`InputError` when the networks' layer widths differ.
    """
    opts = options if options is not None else NNSTDOptions(**kwargs)  # type: ignore[arg-type]
    if a.widths != b.widths:
        raise InputError(
            f"cannot compare {a.key} and {b.key}: layer widths differ "
            f"({'-'.join(map(str, a.widths))} vs {'-'.join(map(str, b.widths))})"
        )
    if a.structure != b.structure:
        kinds_a = ", ".join(i.describe() for i in a.info)
        kinds_b = ", ".join(i.describe() for i in b.info)
        raise InputError(
            f"cannot compare {a.key} and {b.key}: layer kinds differ ({kinds_a} vs {kinds_b})"
        )
    method = opts.resolve(a.widths)
    distances: list[float] = []
    matchings: list[Matching] = []
    costs: list[FloatArray] = []
    perm: Matching | None = None
    for k in range(len(a.layers)):
        pa = a.pattern(k)
        pb = b.pattern(k)
        if perm is not None:
            # Input neuron j of b's layer becomes b's neuron matched to a's j:
            # its rows (a whole block, for a conv or after a flatten) move with it.
            pb = pb[block_rows(perm, b.info[k].block)]
        dist, perm, cost = matched_layer(pa, pb, method)
        distances.append(dist)
        matchings.append(perm)
        costs.append(cost)
    return NNSTDResult(
        layers=tuple(distances),
        mean=float(np.mean(distances)),
        method=method,
        version=NNSTD_VERSION,
        matchings=tuple(matchings),
        costs=tuple(costs),
    )


def _compute(a: Checkpoint, b: Checkpoint, options: NNSTDOptions) -> NNSTDResult:
    return nnstd(a, b, options)


#: The registry's entry for NNSTD.
NNSTD = PairMeasure(
    align="nnstd",
    name="nnstd",
    summary="Neural Network Sparse Topology Distance (Liu et al. 2020): match neurons, compare",
    version=NNSTD_VERSION,
    relationship="NNSTD",
    table="distances",
    result_type=NNSTDResult,
    options_type=NNSTDOptions,
    methods=METHODS,
    compute=_compute,
    aligned=True,
    symmetry="first",
    relabel_invariant="first",
)
