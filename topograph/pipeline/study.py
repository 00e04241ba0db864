"""The spectral study of Bourely, Boueri and Choromanski (2017), as a library function.

"Sparse Neural Networks Topologies" (arXiv 1706.05683) relate accuracy to
expander-like properties of each layer's bipartite graph (spectral gap,
algebraic connectivity) rather than to its density. :func:`run_study` builds,
for every family of :data:`topograph.constructions.CONSTRUCTIONS`, layers
over a grid of widths and degrees, computes their spectral properties with
:func:`topograph.measures.spectral.layer_spectrum` (on a one-layer Checkpoint, so the
values are exactly those topograph reports for stored networks) and returns
one ``pyarrow.Table`` row per layer, in :data:`STUDY_SCHEMA`.
:func:`plot_study` draws the table.

Every cell of the grid has its own seed, derived from the grid's seed and the
cell itself (family, widths, degree, replicate), so a cell gives the same
layer whatever else the grid holds and in whatever order it runs.

Cost: the default grid (:class:`StudyGrid`) builds 308 layers of 256 to 1024
nodes. Many small dense eigenproblems run best with one BLAS thread each:
:func:`run_study` limits BLAS to ``blas_threads`` (default 1) while it runs,
with ``threadpoolctl``. On a shared two-core machine the default grid took
14-30 s that way and 143 s with OpenBLAS's default two threads, which spin
against the other processes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
from threadpoolctl import threadpool_limits

from topograph.constructions import CONSTRUCTIONS, make_layer, stable_seed
from topograph.errors import InputError
from topograph.measures.spectral import layer_spectrum
from topograph.model import Checkpoint
from topograph.pipeline.figures import DEFAULT_OPTIONS, FigureOptions

__all__ = [
    "DEFAULT_METRICS",
    "FIGURE_SUFFIXES",
    "STUDY_SCHEMA",
    "Solver",
    "StudyCell",
    "StudyGrid",
    "plot_study",
    "ramanujan_bound",
    "run_study",
    "study_cell",
]

#: Eigensolver choice passed to :func:`topograph.measures.spectral.layer_spectrum`.
Solver = Literal["auto", "dense", "sparse"]
#: Image formats :func:`plot_study` writes, chosen by the file's extension.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def _field(name: str, type_: pa.DataType, doc: str) -> pa.Field:
    return pa.field(name, type_, nullable=False, metadata={"description": doc})


STUDY_SCHEMA = pa.schema(
    [
        _field("construction", pa.string(), "layer family: a key of CONSTRUCTIONS"),
        _field("n_in", pa.int64(), "input neurons (rows of W, left side of the graph)"),
        _field("n_out", pa.int64(), "output neurons (columns of W, right side)"),
        _field("degree", pa.int64(), "requested outputs per input neuron (mean for erdos_renyi)"),
        _field("replicate", pa.int32(), "replicate index; 0 only for deterministic families"),
        _field("seed", pa.int64(), "grid seed; with the cell it fixes the layer (study_cell)"),
        _field("nodes", pa.int64(), "nodes of the bipartite graph: n_in + n_out"),
        _field("edges", pa.int64(), "edges: non-zero weights of the layer"),
        _field("density", pa.float64(), "edges / (n_in * n_out)"),
        _field("mean_out_degree", pa.float64(), "edges / n_in: mean outputs per input neuron"),
        _field("mean_in_degree", pa.float64(), "edges / n_out: mean fan-in of an output neuron"),
        _field("components", pa.int64(), "connected components (isolated neurons count)"),
        _field(
            "algebraic_connectivity",
            pa.float64(),
            "second-smallest Laplacian eigenvalue of the whole graph; 0 if disconnected",
        ),
        _field("lcc_size", pa.int64(), "nodes of the largest connected component"),
        _field(
            "lcc_algebraic_connectivity",
            pa.float64(),
            "second-smallest Laplacian eigenvalue of the largest component",
        ),
        _field("lambda1", pa.float64(), "largest adjacency eigenvalue: sigma1 of W != 0"),
        _field("lambda2", pa.float64(), "second-largest adjacency eigenvalue: sigma2 of W != 0"),
        _field("spectral_gap", pa.float64(), "lambda1 - lambda2"),
        _field("isolated_in", pa.int64(), "input neurons without an edge"),
        _field("isolated_out", pa.int64(), "output neurons without an edge"),
        _field("max_degree", pa.int64(), "largest node degree"),
        _field(
            "ramanujan_bound",
            pa.float64(),
            "sqrt(mean_out_degree - 1) + sqrt(mean_in_degree - 1): the Ramanujan value of "
            "lambda2 for a biregular graph (2 sqrt(d - 1) when square); NaN below degree 1",
        ),
        _field("solver", pa.string(), "dense (numpy.linalg), sparse (ARPACK) or mixed"),
    ],
    metadata={"topograph.table": "spectral_study"},
)


def ramanujan_bound(d_left: float, d_right: float) -> float:
    """``sqrt(d_left - 1) + sqrt(d_right - 1)``: λ2 of a Ramanujan biregular bipartite graph.

    For a ``(d_left, d_right)``-biregular bipartite graph the Alon–Boppana
    bound (Feng and Li's bipartite form) says λ2 cannot stay below this as
    the graph grows, and a graph reaching it is Ramanujan. Square
    ``d``-regular: ``2 sqrt(d - 1)``. NaN when a degree is below 1.
    """
    if d_left < 1 or d_right < 1:
        return math.nan
    return math.sqrt(d_left - 1) + math.sqrt(d_right - 1)


@dataclass(frozen=True)
class StudyCell:
    """One layer of the study: family, widths, degree and replicate."""

    construction: str
    n_in: int
    n_out: int
    degree: int
    replicate: int

    def rng(self, seed: int) -> np.random.Generator:
        """This cell's Generator: a function of ``seed`` and the cell alone."""
        key = (stable_seed(self.construction), self.n_in, self.n_out, self.degree, self.replicate)
        return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


@dataclass(frozen=True)
class StudyGrid:
    """What :func:`run_study` computes.

    ``constructions``: family names (keys of ``CONSTRUCTIONS``). ``sizes``:
    ``(n_in, n_out)`` pairs. ``degrees``: outputs per input neuron; a cell
    whose family has no such layer (degree above ``n_out``; a biregular layer
    whose fan-in ``n_in·d/n_out`` is not whole) is left out. ``replicates``:
    independent layers per cell for the random families (deterministic ones
    get one). ``seed``: the parent of every cell's seed.

    The default, 5 families x 4 sizes x 7 degrees, 3 replicates of the random
    ones (308 layers, up to 1024 nodes), includes one layer with
    ``n_in != n_out`` (512 -> 128). Measured on a shared two-core machine
    (load average 7-10 from other work): 14-30 s with one BLAS thread.
    """

    constructions: tuple[str, ...] = tuple(CONSTRUCTIONS)
    sizes: tuple[tuple[int, int], ...] = ((128, 128), (256, 256), (512, 512), (512, 128))
    degrees: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 16)
    replicates: int = 3
    seed: int = 0
    solver: Solver = "auto"

    def __post_init__(self) -> None:
        for name in self.constructions:
            if name not in CONSTRUCTIONS:
                raise InputError(
                    f"unknown construction {name!r}; known: {', '.join(CONSTRUCTIONS)}"
                )
        for size in self.sizes:
            if len(size) != 2 or any(
                isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in size
            ):
                raise InputError(
                    f"sizes must be (n_in, n_out) pairs of positive ints, got {size!r}"
                )
        for d in self.degrees:
            if isinstance(d, bool) or not isinstance(d, int) or d < 1:
                raise InputError(f"degrees must be positive ints, got {d!r}")
        if isinstance(self.replicates, bool) or not isinstance(self.replicates, int):
            raise InputError(f"replicates must be an int, got {self.replicates!r}")
        if self.replicates < 1:
            raise InputError(f"replicates must be at least 1, got {self.replicates}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"seed must be a non-negative int, got {self.seed!r}")
        if self.solver not in ("auto", "dense", "sparse"):
            raise InputError(f"solver must be auto, dense or sparse, got {self.solver!r}")

    def cells(self) -> list[StudyCell]:
        """Every valid cell, in grid order (family, size, degree, replicate)."""
        out = []
        for name in self.constructions:
            c = CONSTRUCTIONS[name]
            for n_in, n_out in self.sizes:
                for d in self.degrees:
                    if not c.valid(n_in, n_out, d):
                        continue
                    for r in range(self.replicates if c.random else 1):
                        out.append(StudyCell(name, n_in, n_out, d, r))
        return out

    def as_json(self) -> str:
        """The grid as JSON, kept in the table's schema metadata for provenance."""
        return json.dumps(asdict(self), sort_keys=True)


def study_cell(cell: StudyCell, seed: int, solver: Solver = "auto") -> dict[str, object]:
    """One row of the study table: build the cell's layer and compute its spectrum."""
    w = make_layer(cell.construction, cell.n_in, cell.n_out, cell.degree, rng=cell.rng(seed))
    ck = Checkpoint(run=f"study_{cell.construction}", epoch=0, layers=(w,))
    s = layer_spectrum(ck, 0, solver=solver)
    edges = int(w.nnz)
    out_deg = edges / cell.n_in
    in_deg = edges / cell.n_out
    return {
        "construction": cell.construction,
        "n_in": cell.n_in,
        "n_out": cell.n_out,
        "degree": cell.degree,
        "replicate": cell.replicate,
        "seed": seed,
        "nodes": s.nodes,
        "edges": s.edges,
        "density": edges / (cell.n_in * cell.n_out),
        "mean_out_degree": out_deg,
        "mean_in_degree": in_deg,
        "components": s.components,
        "algebraic_connectivity": s.algebraic_connectivity,
        "lcc_size": s.lcc_size,
        "lcc_algebraic_connectivity": s.lcc_algebraic_connectivity,
        "lambda1": s.lambda1,
        "lambda2": s.lambda2,
        "spectral_gap": s.spectral_gap,
        "isolated_in": s.isolated_in,
        "isolated_out": s.isolated_out,
        "max_degree": s.max_degree,
        "ramanujan_bound": ramanujan_bound(out_deg, in_deg),
        "solver": s.spectral_solver,
    }


def run_study(grid: StudyGrid | None = None, *, blas_threads: int | None = 1) -> pa.Table:
    """The spectral study over ``grid`` (default :class:`StudyGrid`), one row per layer.

    Returns a table in :data:`STUDY_SCHEMA` (every column documented in its
    field metadata), the grid as JSON in the schema metadata under
    ``topograph.study_grid``. Rows follow :meth:`StudyGrid.cells`. Sequential:
    each layer takes milliseconds to a second, and the cells are independent,
    so a caller may split :meth:`StudyGrid.cells` over processes and call
    :func:`study_cell` on each, with identical results. ``blas_threads``
    caps BLAS threads during the run (``None``: leave them as they are); the
    values do not depend on it beyond the last bits of dense eigenvalues.
    """
    grid = grid or StudyGrid()
    if blas_threads is not None and (isinstance(blas_threads, bool) or blas_threads < 1):
        raise InputError(f"blas_threads must be a positive int or None, got {blas_threads!r}")
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        rows = [study_cell(cell, grid.seed, grid.solver) for cell in grid.cells()]
    cols = {f.name: [r[f.name] for r in rows] for f in STUDY_SCHEMA}
    schema = STUDY_SCHEMA.with_metadata(
        {**(STUDY_SCHEMA.metadata or {}), b"topograph.study_grid": grid.as_json().encode()}
    )
    return pa.Table.from_pydict(cols, schema=schema)


# --------------------------------------------------------------------------- figure

#: Columns :func:`plot_study` draws by default, one row of panels each.
DEFAULT_METRICS: tuple[str, ...] = (
    "lcc_algebraic_connectivity",
    "spectral_gap",
    "lambda2",
    "components",
)

_AXIS_LABELS = {
    "algebraic_connectivity": "algebraic connectivity λ2(L)",
    "lcc_algebraic_connectivity": "λ2(L) of largest component",
    "spectral_gap": "spectral gap σ1 − σ2",
    "lambda1": "λ1 = σ1",
    "lambda2": "λ2 = σ2",
    "components": "connected components",
    "lcc_size": "largest component (nodes)",
    "isolated_in": "isolated input neurons",
    "isolated_out": "isolated output neurons",
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _check_figure_path(out: Path) -> Path:
    out = Path(out)
    if out.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(f"{out}: figures are written as {', '.join(FIGURE_SUFFIXES)}")
    return out


def plot_study(
    table: pa.Table,
    out: Path,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    cmap: str | None = None,
    options: FigureOptions = DEFAULT_OPTIONS,
) -> Path:
    """Draw the study: one panel per metric (rows) and layer size (columns).

    x: outputs per input neuron ``d`` (log scale); y: the metric, mean over
    replicates with the min-max range as error bars; one colour and marker
    per construction, colours evenly spaced on a perceptually uniform map
    (``viridis`` by default; ``cividis`` also reads for colour-blind
    readers). The ``lambda2`` panels carry the Ramanujan value
    ``sqrt(d - 1) + sqrt(d n_in / n_out - 1)`` as a dashed line. Written with
    matplotlib's object API (no pyplot state), format from the extension of
    ``out`` (.png, .pdf, .svg), at ``options.dpi``. ``cmap``, when given,
    overrides ``options.cmap`` (kept for callers that passed it alone).
    Returns ``out``.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    out = _check_figure_path(out)
    needed = {"construction", "n_in", "n_out", "degree", *metrics}
    missing = sorted(needed - set(table.column_names))
    if missing:
        raise InputError(f"study table lacks column(s) {', '.join(missing)}")
    if table.num_rows == 0:
        raise InputError("study table is empty: nothing to plot")
    data = {name: table.column(name).to_pylist() for name in needed}
    names = list(dict.fromkeys(data["construction"]))
    sizes = sorted(set(zip(data["n_in"], data["n_out"], strict=True)), key=lambda s: (s[0], s[1]))
    colour_map = colormaps[cmap or options.cmap]
    colours = [colour_map(0.9 * i / max(len(names) - 1, 1)) for i in range(len(names))]
    labels = {n: CONSTRUCTIONS[n].label if n in CONSTRUCTIONS else n for n in names}

    fig = Figure(figsize=(3.4 * len(sizes) + 1.6, 2.6 * len(metrics) + 0.8), layout="constrained")
    axes = fig.subplots(len(metrics), len(sizes), squeeze=False, sharex="col")
    for j, (n_in, n_out) in enumerate(sizes):
        for i, metric in enumerate(metrics):
            ax = axes[i][j]
            for c, name in enumerate(names):
                per_degree: dict[int, list[float]] = {}
                for k in range(table.num_rows):
                    if (data["construction"][k], data["n_in"][k], data["n_out"][k]) == (
                        name,
                        n_in,
                        n_out,
                    ):
                        per_degree.setdefault(data["degree"][k], []).append(float(data[metric][k]))
                if not per_degree:
                    continue
                ds = np.array(sorted(per_degree))
                vals = [np.asarray(per_degree[d]) for d in ds]
                mean = np.array([v.mean() for v in vals])
                low = mean - np.array([v.min() for v in vals])
                high = np.array([v.max() for v in vals]) - mean
                ax.errorbar(
                    ds,
                    mean,
                    yerr=np.vstack([low, high]),
                    color=colours[c],
                    marker=_MARKERS[c % len(_MARKERS)],
                    markersize=4,
                    linewidth=1.2,
                    capsize=2,
                    label=labels[name],
                )
            if metric == "lambda2":
                ds = np.unique(np.asarray(data["degree"], dtype=float))
                bound = [ramanujan_bound(d, d * n_in / n_out) for d in ds]
                ax.plot(ds, bound, "k--", linewidth=1, label="Ramanujan √(d−1)+√(d′−1)")
            if metric == "components":
                ax.set_yscale("log")
            ax.set_xscale("log", base=2)
            ticks = sorted(set(data["degree"]))
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.minorticks_off()
            ax.grid(True, alpha=0.3)
            if i == 0:
                ax.set_title(f"{n_in} → {n_out} neurons")
            if i == len(metrics) - 1:
                ax.set_xlabel("outputs per input neuron d")
            if j == 0:
                ax.set_ylabel(_AXIS_LABELS.get(metric, metric))
    handles, legend_labels = axes[-1][0].get_legend_handles_labels()
    for row in axes:  # the Ramanujan line is only on the lambda2 row
        for h, lab in zip(*row[0].get_legend_handles_labels(), strict=True):
            if lab not in legend_labels:
                handles.append(h)
                legend_labels.append(lab)
    fig.legend(handles, legend_labels, loc="outside lower center", ncols=min(len(handles), 6))
    fig.suptitle("Spectral properties of sparse layer constructions (Bourely et al. 2017)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=options.dpi)
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    return out
