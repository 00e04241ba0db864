"""Spectral properties of a layer's (or a whole network's) topology.

Bourely, Boueri, Choromonski: "Sparse Neural Networks Topologies" (2017)
relate a sparse network's accuracy to the spectra of its layers' graphs.
Only the non-zero pattern is used; the graph is undirected and unweighted.

A layer ``W`` of shape ``(n_in, n_out)`` is the bipartite graph on
``n_in + n_out`` nodes whose biadjacency is ``B = (W != 0)``; a whole network
is the union of its layers' graphs on ``n_0 + ... + n_L`` nodes.

* **Algebraic connectivity**: second-smallest eigenvalue of the Laplacian
  ``L = D - A``; 0 when the graph is disconnected. SET layers nearly always
  have isolated neurons, so this is 0 almost everywhere; the **largest
  connected component**'s size and algebraic connectivity carry the signal.
* **Spectral gap**: ``λ1 - λ2`` of the adjacency matrix. For a bipartite
  graph the adjacency eigenvalues are ``±σ_i`` of the biadjacency, so this is
  ``σ1 - σ2``, the two largest singular values of ``B``.
* Component count, isolated input and output neurons, degree statistics.

Small graphs are solved with dense ``numpy.linalg`` (exact); larger ones with
ARPACK (``scipy.sparse.linalg.eigsh``, shift-invert around 0 for the
Laplacian), which agrees with the dense values to 1e-9 relative or better
where both run (tested on every published layer; typically about 1e-14).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, get_args

import igraph as ig
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from topograph.errors import InputError
from topograph.measures.base import CheckpointMeasure
from topograph.model import Checkpoint
from topograph.results import CheckpointProperties, stored

__all__ = [
    "DENSE_MAX_NODES",
    "SPECTRAL",
    "Solver",
    "SpectralOptions",
    "SpectralProperties",
    "checkpoint_spectra",
    "layer_spectrum",
    "network_spectrum",
    "spectrum_of_adjacency",
]

Solver = Literal["auto", "dense", "sparse"]
#: ``auto`` uses dense eigensolvers up to this many nodes (O(n^3) time).
DENSE_MAX_NODES = 400


@dataclass(frozen=True)
class SpectralProperties:
    """Spectral and degree properties of one undirected graph.

    ``algebraic_connectivity``: λ2 of the Laplacian (0 if disconnected).
    ``lcc_size``, ``lcc_algebraic_connectivity``: the largest connected
    component's node count and λ2 (0 for a single node). ``spectral_gap``:
    λ1 - λ2 of the adjacency; ``lambda1``, ``lambda2``: those eigenvalues.
    ``isolated_in``/``isolated_out``: neurons with no edge on the input /
    output side (for a network: first and last layer). Degrees count edges of
    the pattern. ``spectral_solver``: ``dense`` or ``sparse`` when both
    eigenproblems used that solver, ``mixed`` when they differed.
    """

    nodes: int = stored("int64", "nodes of the graph (neurons)", in_graph=False)
    edges: int = stored("int64", "edges of the graph (non-zero weights)", in_graph=False)
    components: int = stored("int64", "connected components (isolated neurons count)")
    algebraic_connectivity: float = stored(
        "float64", "second-smallest Laplacian eigenvalue; 0 if disconnected"
    )
    lcc_size: int = stored("int64", "nodes of the largest connected component")
    lcc_algebraic_connectivity: float = stored(
        "float64", "algebraic connectivity of the largest component"
    )
    lambda1: float = stored("float64", "largest adjacency eigenvalue")
    lambda2: float = stored("float64", "second-largest adjacency eigenvalue")
    spectral_gap: float = stored("float64", "lambda1 - lambda2")
    isolated_in: int = stored("int64", "input-side neurons without an edge")
    isolated_out: int = stored("int64", "output-side neurons without an edge")
    mean_degree: float = stored("float64", "mean node degree")
    max_degree: int = stored("int64", "largest node degree")
    mean_in_degree: float = stored("float64", "mean fan-in of output-side neurons")
    max_in_degree: int = stored("int64", "largest fan-in of an output-side neuron")
    spectral_solver: str = stored("string", "dense (numpy.linalg) or sparse (ARPACK)")

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


@dataclass(frozen=True)
class SpectralOptions:
    """Options of the spectral measure: ``solver`` auto (dense up to
    :data:`DENSE_MAX_NODES` nodes), dense or sparse."""

    solver: Solver = "auto"

    def __post_init__(self) -> None:
        if self.solver not in get_args(Solver):
            raise InputError(
                f"unknown spectral solver {self.solver!r} (use {', '.join(get_args(Solver))})"
            )


def _start_vector(n: int) -> np.ndarray:
    """ARPACK's start vector, fixed by the size alone.

    ARPACK otherwise starts from a random vector, and the converged values
    then differ in the last bits from run to run (and worker to worker).
    """
    return np.random.default_rng(n).uniform(0.5, 1.5, size=n)


def _use_dense(solver: Solver, size: int) -> bool:
    """Dense when asked, when small, or when too small for ARPACK (k = 2 needs n > 3)."""
    return solver == "dense" or (solver == "auto" and size <= DENSE_MAX_NODES) or size < 4


def _laplacian_lambda2(adj: sp.csr_matrix, solver: Solver) -> tuple[float, bool]:
    """λ2 of the Laplacian of a *connected* graph (adjacency ``adj``, 0/1 symmetric).

    Returns the value and whether the dense solver was used.
    """
    n = adj.shape[0]
    if n < 2:
        return 0.0, True
    degree = np.asarray(adj.sum(axis=1)).ravel()
    lap = (sp.diags(degree) - adj).tocsc()
    if _use_dense(solver, n):
        # O(n^3): exact reference.
        return float(np.linalg.eigvalsh(lap.toarray())[1]), True
    # Shift-invert just below 0: the two eigenvalues nearest sigma are 0 and λ2.
    # Factorised here with a minimum-degree ordering of L + L^T: hub neurons
    # (a dense output layer) make ARPACK's default ordering fill in 3x more.
    sigma = -1e-3
    lu = spla.splu((lap - sigma * sp.eye(n)).tocsc(), permc_spec="MMD_AT_PLUS_A")
    op_inv = spla.LinearOperator((n, n), matvec=lu.solve, dtype=np.float64)
    vals = spla.eigsh(
        lap,
        k=2,
        sigma=sigma,
        OPinv=op_inv,
        which="LM",
        return_eigenvectors=False,
        tol=0,
        v0=_start_vector(n),
    )
    return float(np.max(vals)), False


def _top_two(adj: sp.csr_matrix, solver: Solver) -> tuple[float, float, bool]:
    """The two largest adjacency eigenvalues λ1 >= λ2, and whether dense was used."""
    n = adj.shape[0]
    if n < 2 or adj.nnz == 0:  # no edges: all eigenvalues are 0 (ARPACK cannot start)
        return 0.0, 0.0, True
    if _use_dense(solver, n):
        vals = np.linalg.eigvalsh(adj.toarray().astype(np.float64))
        return float(vals[-1]), float(vals[-2]), True
    vals = spla.eigsh(
        adj.astype(np.float64),
        k=2,
        which="LA",
        return_eigenvectors=False,
        tol=0,
        v0=_start_vector(n),
    )
    vals = np.sort(vals)
    return float(vals[-1]), float(vals[-2]), False


def _top_two_singular(b: sp.csr_matrix, solver: Solver) -> tuple[float, float, bool]:
    """σ1 >= σ2 of a biadjacency matrix (the bipartite graph's λ1, λ2), and whether dense."""
    if min(b.shape) == 0 or b.nnz == 0:
        return 0.0, 0.0, True
    if min(b.shape) < 2:
        return float(np.sqrt((b.multiply(b)).sum())), 0.0, True
    if _use_dense(solver, min(b.shape)):
        # O(max(n_in, n_out) * min(n_in, n_out)^2): cheap for a narrow layer
        # (an output layer), and exact where ARPACK would return noise for a
        # zero singular value.
        sv = np.linalg.svd(b.toarray(), compute_uv=False)
        return float(sv[0]), float(sv[1]), True
    # eigenvalues of the smaller Gram matrix are σ^2
    gram = (b.T @ b) if b.shape[1] <= b.shape[0] else (b @ b.T)
    vals = spla.eigsh(
        gram.astype(np.float64),
        k=2,
        which="LA",
        return_eigenvectors=False,
        tol=0,
        v0=_start_vector(gram.shape[0]),
    )
    vals = np.sqrt(np.clip(np.sort(vals), 0.0, None))
    return float(vals[-1]), float(vals[-2]), False


def spectrum_of_adjacency(
    adj: sp.csr_matrix,
    n_in: int,
    n_out: int,
    solver: Solver = "auto",
    biadjacency: sp.csr_matrix | None = None,
) -> SpectralProperties:
    """Properties of the undirected graph with symmetric 0/1 adjacency ``adj``.

    The first ``n_in`` nodes are the input side, the last ``n_out`` the output
    side (for isolated-neuron counts). With ``biadjacency`` (a layer), λ1 and
    λ2 come from its singular values, which is cheaper.
    """
    n = adj.shape[0]
    graph = ig.Graph(n=n, edges=np.column_stack(sp.triu(adj, k=1).nonzero()).tolist())
    membership = np.asarray(graph.connected_components().membership)
    sizes = np.bincount(membership) if n else np.zeros(0, dtype=int)
    components = int(sizes.size)
    degree = np.asarray(graph.degree())
    lcc_size = int(sizes.max()) if n else 0
    if n:
        lcc_nodes = np.flatnonzero(membership == int(np.argmax(sizes)))
        lcc = adj[lcc_nodes][:, lcc_nodes].tocsr()
        lcc_lambda2, dense_lcc = _laplacian_lambda2(lcc, solver)
    else:
        lcc_lambda2, dense_lcc = 0.0, True
    if biadjacency is not None:
        lam1, lam2, dense_top = _top_two_singular(biadjacency, solver)
    else:
        lam1, lam2, dense_top = _top_two(adj, solver)
    used = {dense_lcc, dense_top}
    in_side = degree[:n_in]
    out_side = degree[n - n_out :]
    in_degree = out_side  # fan-in of the output side
    return SpectralProperties(
        nodes=n,
        edges=int(graph.ecount()),
        components=components,
        algebraic_connectivity=lcc_lambda2 if components == 1 else 0.0,
        lcc_size=lcc_size,
        lcc_algebraic_connectivity=lcc_lambda2,
        lambda1=lam1,
        lambda2=lam2,
        spectral_gap=lam1 - lam2,
        isolated_in=int(np.count_nonzero(in_side == 0)),
        isolated_out=int(np.count_nonzero(out_side == 0)),
        mean_degree=float(degree.mean()) if n else 0.0,
        max_degree=int(degree.max()) if n else 0,
        mean_in_degree=float(in_degree.mean()) if n_out else 0.0,
        max_in_degree=int(in_degree.max()) if n_out else 0,
        spectral_solver="dense" if used == {True} else "sparse" if used == {False} else "mixed",
    )


def layer_spectrum(ck: Checkpoint, k: int, solver: Solver = "auto") -> SpectralProperties:
    """Properties of layer ``k``'s bipartite graph between neurons (channels, for a conv)."""
    b = ck.neuron_pattern(k)
    n_in, n_out = b.shape
    adj = sp.bmat(
        [[sp.csr_matrix((n_in, n_in)), b], [b.T, sp.csr_matrix((n_out, n_out))]], format="csr"
    )
    return spectrum_of_adjacency(adj, n_in, n_out, solver, biadjacency=b)


def network_spectrum(ck: Checkpoint, solver: Solver = "auto") -> SpectralProperties:
    """Properties of the whole network's graph (all layers, ``n_0 + ... + n_L`` nodes)."""
    widths = ck.widths
    offsets = np.concatenate([[0], np.cumsum(widths)])
    n = int(offsets[-1])
    rows, cols = [], []
    for k in range(len(ck.layers)):
        coo = ck.neuron_pattern(k).tocoo()
        rows.append(coo.row.astype(np.int64) + offsets[k])
        cols.append(coo.col.astype(np.int64) + offsets[k + 1])
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    upper = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n, n))
    adj = (upper + upper.T).tocsr()
    return spectrum_of_adjacency(adj, widths[0], widths[-1], solver)


def checkpoint_spectra(
    ck: Checkpoint, options: SpectralOptions | None = None
) -> CheckpointProperties:
    """Spectral properties of every layer of ``ck`` and of the whole network."""
    solver = (options or SpectralOptions()).solver
    return CheckpointProperties(
        measure="spectral",
        key=ck.key,
        layers=tuple(layer_spectrum(ck, k, solver) for k in range(len(ck.layers))),
        network=network_spectrum(ck, solver),
    )


#: The registry's entry for the spectral properties.
SPECTRAL = CheckpointMeasure(
    name="spectral",
    summary="spectral properties of each layer and the whole network (Bourely et al. 2017)",
    table="spectral",
    result_type=SpectralProperties,
    options_type=SpectralOptions,
    compute=checkpoint_spectra,
    relabel_invariant=True,
)
