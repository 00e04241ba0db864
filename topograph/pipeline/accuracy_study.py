"""The 2017 claim on real training: does a sparse layer's spectrum predict accuracy?

Bourely, Boueri and Choromanski ("Sparse Neural Networks Topologies", 2017)
argue that among sparse layers of one density, those with expander-like
spectra (large algebraic connectivity, large spectral gap) train to better
accuracy. This module tests that on networks trained for real:

* a 64-H-10 network on scikit-learn's digits (1797 8x8 images, the same
  80/20 stratified split with seed 0 as ``scripts/train_digits.py``: 1437
  training and 360 test images; nothing downloaded), whose hidden layer
  (64 -> H) is built by each construction of
  :data:`topograph.constructions.CONSTRUCTIONS` at several degrees (outputs
  per input neuron, density ``degree / H``); the output layer (H -> 10) is
  dense;
* trained with PyTorch on the CPU, minibatch SGD with momentum, the mask
  **fixed** (the effective weight is ``W * M`` in every forward pass, so a
  masked weight gets no gradient and stays exactly 0);
* recorded in the store as checkpoints (epoch 0 before training, epoch E
  after it) in the reference layout with the run's accuracy curve as
  ``testacc.txt``, ingested, their spectral properties computed and written
  back, then read back from the store for the table, so what is reported is
  what the store holds.

The report is Spearman's rank correlation of the final test accuracy with
layer 0's algebraic connectivity (whole graph, and largest component), its
spectral gap and its density, over all networks and within each degree
(where the density is fixed, as the claim is stated), with the p-value.

Initialisation: every weight of hidden neuron ``j`` is drawn from
``U(-1/sqrt(f_j), 1/sqrt(f_j))`` with ``f_j`` its actual fan-in (PyTorch's
rule for a dense layer, applied to the sparse fan-in), so a sparser
construction does not start with a smaller signal only because of the
initialisation. Every random draw (mask, weights, batch order) comes from the
cell's own Generator, and torch runs on ``threads`` CPU threads, so a cell
gives the same network and accuracy every time.

torch and scikit-learn are imported only here, and only when training runs:
``pip install 'topograph[study]'``.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import scipy.sparse as sp

from topograph import measures
from topograph.constructions import CONSTRUCTIONS, make_layer, stable_seed
from topograph.errors import InputError
from topograph.loaders import open_source
from topograph.model import Checkpoint
from topograph.pipeline.correlation import spearman
from topograph.pipeline.figures import (
    DEFAULT_OPTIONS,
    FigureOptions,
    check_figure_path,
    save_figure,
)
from topograph.pipeline.generate import write_reference_layout
from topograph.pipeline.ingest import ingest
from topograph.pipeline.tables import table_from_store
from topograph.stores import GraphStore

__all__ = [
    "ACCURACY_SCHEMA",
    "CORRELATED",
    "CORRELATION_SCHEMA",
    "AccuracyCell",
    "AccuracyGrid",
    "AccuracyStudy",
    "Digits",
    "TrainedNetwork",
    "correlation_table",
    "load_digits_split",
    "plot_accuracy_study",
    "run_accuracy_study",
    "study_table",
    "train_cell",
    "train_cells",
]

N_INPUTS, N_CLASSES = 64, 10


def _require_torch() -> Any:
    import importlib

    modules = []
    for name in ("torch", "sklearn"):  # torch first: the likelier to be missing
        try:
            modules.append(importlib.import_module(name))
        except ImportError as exc:
            raise InputError(
                f"the accuracy study trains networks and needs torch and scikit-learn "
                f"({exc.name or name} is missing): pip install 'topograph[study]'"
            ) from None
    return modules[0]


@dataclass(frozen=True)
class AccuracyCell:
    """One network of the study: the hidden layer's family and degree, and a replicate."""

    construction: str
    degree: int
    replicate: int

    def rng(self, seed: int, hidden: int) -> np.random.Generator:
        """This cell's Generator (mask, weights, batch order): a function of the cell alone."""
        key = (stable_seed(self.construction), hidden, self.degree, self.replicate)
        return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))

    def run(self, grid: AccuracyGrid) -> str:
        """Run name in the store, e.g. ``acc_h128_s0_biregular_d4_r0``."""
        return (
            f"acc_h{grid.hidden}_s{grid.seed}_{self.construction}_d{self.degree}_r{self.replicate}"
        )


@dataclass(frozen=True)
class AccuracyGrid:
    """What :func:`run_accuracy_study` trains.

    ``constructions``: hidden-layer families. ``hidden``: H. ``degrees``:
    outputs per input neuron of the 64 -> H layer (density ``degree / H``);
    a degree a family cannot build (biregular needs ``64 * degree / H``
    whole) is left out. ``replicates``: networks per cell, for every family
    (a deterministic construction has one topology, but its training still
    varies with the initial weights and batch order). ``epochs``: training
    epochs. ``learning_rate``, ``momentum``, ``batch_size``: SGD's.
    ``threads``: torch CPU threads (1 is fastest for networks this small and
    keeps results identical run to run). ``seed``: parent of every cell's.

    The default: 5 families x 4 degrees (2, 4, 8, 16 of 128: density 1.6 %
    to 12.5 %) x 3 replicates, 60 networks of 20 epochs.
    """

    constructions: tuple[str, ...] = tuple(CONSTRUCTIONS)
    hidden: int = 128
    degrees: tuple[int, ...] = (2, 4, 8, 16)
    replicates: int = 3
    epochs: int = 20
    learning_rate: float = 0.05
    momentum: float = 0.9
    batch_size: int = 32
    threads: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in self.constructions:
            if name not in CONSTRUCTIONS:
                raise InputError(
                    f"unknown construction {name!r}; known: {', '.join(CONSTRUCTIONS)}"
                )
        object.__setattr__(self, "constructions", tuple(self.constructions))
        object.__setattr__(self, "degrees", tuple(int(d) for d in self.degrees))
        ints = {"hidden": 1, "replicates": 1, "epochs": 1, "batch_size": 1, "threads": 1, "seed": 0}
        for name, low in ints.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(f"{name} must be an integer of at least {low}, got {value!r}")
        for d in self.degrees:
            if not 1 <= d <= self.hidden:
                raise InputError(f"degree {d} is not between 1 and hidden = {self.hidden}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise InputError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if not (math.isfinite(self.momentum) and 0 <= self.momentum < 1):
            raise InputError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not self.cells():
            raise InputError("the grid has no valid cell (no family builds these degrees)")

    def cells(self) -> list[AccuracyCell]:
        """Every valid cell in grid order (family, degree, replicate)."""
        return [
            AccuracyCell(name, d, r)
            for name in self.constructions
            for d in self.degrees
            if CONSTRUCTIONS[name].valid(N_INPUTS, self.hidden, d)
            for r in range(self.replicates)
        ]

    def as_json(self) -> str:
        """The grid as JSON, kept in the tables' schema metadata for provenance."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Digits:
    """scikit-learn's digits, inputs scaled to [0, 1] (float32 ``(n, 64)``), labels int64."""

    x_train: npt.NDArray[np.float32]
    y_train: npt.NDArray[np.int64]
    x_test: npt.NDArray[np.float32]
    y_test: npt.NDArray[np.int64]


def load_digits_split() -> Digits:
    """The 80/20 stratified split with seed 0 of ``scripts/train_digits.py`` (360 test images)."""
    _require_torch()
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return Digits(x_tr, y_tr, x_te, y_te)


@dataclass(frozen=True)
class TrainedNetwork:
    """One trained cell: its checkpoints (epoch 0 and the last), accuracy per epoch, seconds."""

    cell: AccuracyCell
    start: Checkpoint
    final: Checkpoint
    accuracy: tuple[float, ...]
    seconds: float


def _nonzero(w: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """``w`` with any weight inside the mask that is exactly 0 set to float32's smallest normal.

    A trained weight landing on exactly 0.0 is all but impossible, but it
    would silently drop an edge from the stored topology; this keeps the
    stored pattern equal to the mask.
    """
    out = np.where(mask, w, np.float32(0)).astype(np.float32)
    hole = mask & (out == 0)
    out[hole] = np.finfo(np.float32).tiny
    return out


def _initial(
    cell: AccuracyCell, grid: AccuracyGrid
) -> tuple[np.random.Generator, npt.NDArray[np.bool_], list[npt.NDArray[np.float32]]]:
    """The cell's Generator (after drawing), its mask ``(64, H)`` and initial ``w1, b1, w2, b2``."""
    rng = cell.rng(grid.seed, grid.hidden)
    h = grid.hidden
    pattern = make_layer(cell.construction, N_INPUTS, h, cell.degree, rng=rng)
    mask = (pattern != 0).toarray()  # (64, H): rows are inputs, as the model's layers
    bound1 = 1.0 / np.sqrt(np.maximum(mask.sum(axis=0), 1))
    w1 = (rng.uniform(-1.0, 1.0, (N_INPUTS, h)) * bound1[None, :] * mask).astype(np.float32)
    b1 = (rng.uniform(-1.0, 1.0, h) * bound1).astype(np.float32)
    w2 = (rng.uniform(-1.0, 1.0, (h, N_CLASSES)) / math.sqrt(h)).astype(np.float32)
    b2 = (rng.uniform(-1.0, 1.0, N_CLASSES) / math.sqrt(h)).astype(np.float32)
    return rng, mask, [w1, b1, w2, b2]


def train_cells(
    cells: Sequence[AccuracyCell], grid: AccuracyGrid, data: Digits
) -> list[TrainedNetwork]:
    """Build each cell's hidden-layer mask, train its 64-H-10 network with the mask fixed, test.

    The networks train side by side as one batch of independent networks
    (``torch.bmm`` over a leading network axis): the loss is the sum of the
    networks' own mean losses and no parameter is shared, so each network's
    gradient, momentum and step are exactly those of training it alone, with
    its own initial weights and its own batch order from its own Generator.
    Why: a 64-H-10 step costs microseconds of arithmetic and about a
    millisecond of framework overhead, so one batched step for 60 networks
    is some 50 times cheaper than 60 separate ones (measured: about 1.5 s of
    CPU per network alone). A network's values therefore depend only on its
    cell and the grid's training settings; the last bits of its weights may
    differ between batch compositions (a different matrix-multiply
    blocking), never between two runs of the same grid.

    Returns, per cell, the network before training (epoch 0) and after
    ``grid.epochs`` epochs, and the test accuracy (fraction of the 360 test
    images) after each epoch, index 0 before training.
    """
    torch = _require_torch()
    if not cells:
        return []
    started = time.perf_counter()
    inits = [_initial(c, grid) for c in cells]
    n_train = len(data.y_train)
    previous = torch.get_num_threads()
    torch.set_num_threads(grid.threads)
    try:
        stacked = [np.stack([init[2][i] for init in inits]) for i in range(4)]
        m = torch.from_numpy(np.stack([init[1] for init in inits]).astype(np.float32))
        params = [torch.from_numpy(a).requires_grad_(True) for a in stacked]
        opt = torch.optim.SGD(params, lr=grid.learning_rate, momentum=grid.momentum)
        x_tr, y_tr = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
        x_te, y_te = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)

        def forward(x: Any) -> Any:  # x: (N, B, 64) -> logits (N, B, 10)
            hidden = torch.relu(torch.bmm(x, params[0] * m) + params[1][:, None, :])
            return torch.bmm(hidden, params[2]) + params[3][:, None, :]

        def test_accuracy() -> list[float]:
            with torch.no_grad():
                logits = forward(x_te.expand(len(cells), -1, -1))
                return (logits.argmax(2) == y_te).double().mean(1).tolist()

        curves = [[a] for a in test_accuracy()]
        for _ in range(grid.epochs):
            order = torch.from_numpy(np.stack([init[0].permutation(n_train) for init in inits]))
            for s in range(0, n_train, grid.batch_size):
                idx = order[:, s : s + grid.batch_size]  # (N, B): each network its own batch
                opt.zero_grad()
                logits = forward(x_tr[idx])
                loss = (
                    torch.nn.functional.cross_entropy(
                        logits.reshape(-1, N_CLASSES), y_tr[idx].reshape(-1), reduction="sum"
                    )
                    / idx.shape[1]
                )  # sum over networks of each one's mean loss
                loss.backward()
                opt.step()
            for curve, a in zip(curves, test_accuracy(), strict=True):
                curve.append(a)
        trained = [p.detach().numpy().copy() for p in params]
    finally:
        torch.set_num_threads(previous)
    each = (time.perf_counter() - started) / len(cells)
    out = []
    for i, (cell, (_, mask, w0)) in enumerate(zip(cells, inits, strict=True)):
        start = _checkpoint(cell, grid, 0, _nonzero(w0[0], mask), w0[1], w0[2], w0[3])
        final = _checkpoint(
            cell, grid, grid.epochs, _nonzero(trained[0][i], mask),
            trained[1][i], trained[2][i], trained[3][i],
        )  # fmt: skip
        out.append(TrainedNetwork(cell, start, final, tuple(curves[i]), each))
    return out


def train_cell(cell: AccuracyCell, grid: AccuracyGrid, data: Digits) -> TrainedNetwork:
    """One cell trained alone (see :func:`train_cells`)."""
    return train_cells([cell], grid, data)[0]


def _checkpoint(
    cell: AccuracyCell,
    grid: AccuracyGrid,
    epoch: int,
    w1: npt.NDArray[np.float32],
    b1: npt.NDArray[np.float32],
    w2: npt.NDArray[np.float32],
    b2: npt.NDArray[np.float32],
) -> Checkpoint:
    return Checkpoint(
        run=cell.run(grid),
        epoch=epoch,
        layers=(sp.csr_matrix(w1), sp.csr_matrix(w2)),
        biases=(b1, b2),
        source=(
            f"accuracy study: {cell.construction} degree {cell.degree} replicate {cell.replicate}"
        ),
    )


# --------------------------------------------------------------------------- tables

#: Layer-0 and network properties the correlation table reports against accuracy.
CORRELATED: tuple[str, ...] = (
    "algebraic_connectivity",
    "lcc_algebraic_connectivity",
    "spectral_gap",
    "density",
    "network_algebraic_connectivity",
    "network_spectral_gap",
)


def _field(name: str, type_: pa.DataType, doc: str) -> pa.Field:
    return pa.field(name, type_, nullable=False, metadata={"description": doc})


ACCURACY_SCHEMA = pa.schema(
    [
        _field("run", pa.string(), "run name in the store"),
        _field("construction", pa.string(), "hidden layer's family: a key of CONSTRUCTIONS"),
        _field("hidden", pa.int64(), "hidden neurons H of the 64-H-10 network"),
        _field("degree", pa.int64(), "outputs per input neuron of layer 0 (mean for erdos_renyi)"),
        _field("replicate", pa.int32(), "replicate index"),
        _field("epoch", pa.int64(), "training epochs: the checkpoint the accuracy belongs to"),
        _field("accuracy", pa.float64(), "test accuracy, fraction of the 360 test images"),
        _field("density", pa.float64(), "layer 0: edges / (64 * H)"),
        _field("edges", pa.int64(), "layer 0: non-zero weights"),
        _field("components", pa.int64(), "layer 0: connected components"),
        _field(
            "algebraic_connectivity",
            pa.float64(),
            "layer 0: λ2 of the Laplacian; 0 if disconnected",
        ),
        _field("lcc_size", pa.int64(), "layer 0: nodes of the largest component"),
        _field("lcc_algebraic_connectivity", pa.float64(), "layer 0: λ2 of the largest component"),
        _field("spectral_gap", pa.float64(), "layer 0: σ1 - σ2 of the biadjacency"),
        _field("isolated_in", pa.int64(), "layer 0: inputs without an edge"),
        _field("isolated_out", pa.int64(), "layer 0: hidden neurons without an input"),
        _field(
            "network_algebraic_connectivity",
            pa.float64(),
            "whole network (dense output layer included): λ2 of the Laplacian",
        ),
        _field("network_spectral_gap", pa.float64(), "whole network: λ1 - λ2 of the adjacency"),
    ],
    metadata={"topograph.table": "accuracy_study"},
)

CORRELATION_SCHEMA = pa.schema(
    [
        _field("scope", pa.string(), "all networks, or those of one degree ('degree 4')"),
        _field("metric", pa.string(), "the property ranked against test accuracy"),
        _field("n", pa.int64(), "networks with both values"),
        pa.field(
            "rho",
            pa.float64(),
            nullable=True,
            metadata={"description": "Spearman's rank correlation; NaN if a side is constant"},
        ),
        pa.field(
            "p_value",
            pa.float64(),
            nullable=True,
            metadata={"description": "two-sided p-value (t approximation, n - 2 d.o.f.)"},
        ),
    ],
    metadata={"topograph.table": "accuracy_correlations"},
)


def study_table(store: GraphStore, grid: AccuracyGrid) -> pa.Table:
    """The study's networks after training, one row each, read back from ``store``."""
    wanted = {c.run(grid): c for c in grid.cells()}
    accuracy = {
        (r["run"], r["epoch"]): r["accuracy"]
        for r in table_from_store(store, "checkpoints").to_pylist()
    }
    layer0: dict[str, dict[str, Any]] = {}
    network: dict[str, dict[str, Any]] = {}
    for r in table_from_store(store, "spectral").to_pylist():
        if r["run"] not in wanted or r["epoch"] != grid.epochs:
            continue
        if r["scope"] == "layer" and r["layer"] == 0:
            layer0[r["run"]] = r
        elif r["scope"] == "network":
            network[r["run"]] = r
    rows = []
    for run, cell in wanted.items():
        if run not in layer0 or run not in network or accuracy.get((run, grid.epochs)) is None:
            raise InputError(
                f"{store.describe()}: {run}@{grid.epochs} lacks its spectra or accuracy"
            )
        s, n = layer0[run], network[run]
        rows.append(
            {
                "run": run,
                "construction": cell.construction,
                "hidden": grid.hidden,
                "degree": cell.degree,
                "replicate": cell.replicate,
                "epoch": grid.epochs,
                "accuracy": accuracy[(run, grid.epochs)],
                "density": s["edges"] / (N_INPUTS * grid.hidden),
                "edges": s["edges"],
                "components": s["components"],
                "algebraic_connectivity": s["algebraic_connectivity"],
                "lcc_size": s["lcc_size"],
                "lcc_algebraic_connectivity": s["lcc_algebraic_connectivity"],
                "spectral_gap": s["spectral_gap"],
                "isolated_in": s["isolated_in"],
                "isolated_out": s["isolated_out"],
                "network_algebraic_connectivity": n["algebraic_connectivity"],
                "network_spectral_gap": n["spectral_gap"],
            }
        )
    schema = ACCURACY_SCHEMA.with_metadata(
        {**(ACCURACY_SCHEMA.metadata or {}), b"topograph.accuracy_grid": grid.as_json().encode()}
    )
    return pa.Table.from_pylist(rows, schema=schema)


def correlation_table(table: pa.Table, metrics: Sequence[str] = CORRELATED) -> pa.Table:
    """Spearman's rho of ``accuracy`` with each metric: over all rows, then per degree.

    Within one degree every family has the same density (exactly, but for
    Erdős–Rényi's random edge count), which is how the 2017 claim is put:
    at equal density, do better spectra give better accuracy?
    """
    data = {c: table.column(c).to_pylist() for c in ("accuracy", "degree", *metrics)}
    rows = []
    scopes: list[tuple[str, list[int]]] = [("all", list(range(table.num_rows)))]
    for d in sorted(set(data["degree"])):
        scopes.append((f"degree {d}", [i for i, v in enumerate(data["degree"]) if v == d]))
    for scope, idx in scopes:
        acc = [data["accuracy"][i] for i in idx]
        for metric in metrics:
            s = spearman([data[metric][i] for i in idx], acc)
            rows.append(
                {"scope": scope, "metric": metric, "n": s.n, "rho": s.rho, "p_value": s.p_value}
            )
    return pa.Table.from_pylist(rows, schema=CORRELATION_SCHEMA)


# --------------------------------------------------------------------------- the study


@dataclass
class AccuracyStudy:
    """What :func:`run_accuracy_study` produced, and its wall time per stage (seconds)."""

    table: pa.Table
    correlations: pa.Table
    trained: int = 0
    reused: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)


def run_accuracy_study(
    store: GraphStore,
    grid: AccuracyGrid | None = None,
    checkpoints: Path | None = None,
) -> AccuracyStudy:
    """Train the grid, record it in ``store``, and correlate accuracy with the spectra.

    Checkpoints are written in the reference layout under ``checkpoints``
    (a temporary folder, removed afterwards, when ``None``) with each run's
    accuracy curve as ``testacc.txt``, then ingested (idempotent: the same
    grid again stores nothing new). Spectral properties of the trained
    checkpoints that the store lacks are computed and written back (those of
    epoch 0 would be the same: the mask is fixed; ``topograph analyze
    --spectral`` adds them). The table is read back from the store.
    """
    grid = grid or AccuracyGrid()
    stages: dict[str, float] = {}
    t = time.perf_counter()
    data = load_digits_split()
    trained = train_cells(grid.cells(), grid, data)
    stages["train"] = time.perf_counter() - t

    t = time.perf_counter()
    folder = (
        Path(checkpoints)
        if checkpoints is not None
        else Path(tempfile.mkdtemp(prefix="topograph-acc-"))
    )
    try:
        write_reference_layout(
            [ck for net in trained for ck in (net.start, net.final)],
            folder,
            accuracy={net.start.run: net.accuracy for net in trained},
        )
        report = ingest(store, [folder])
        stages["record"] = time.perf_counter() - t

        t = time.perf_counter()
        spec = measures.SPECTRAL
        done = store.stored_properties(spec.name)
        # the mask is fixed, so epoch 0 has the same topology: its spectra would repeat these
        keys = [net.final.key for net in trained]
        todo = [k for k in keys if k not in done]
        with open_source(folder) as src:
            results = [spec(src.load(*k), spec.options()) for k in todo]
        store.write_properties(results)
        stages["spectra"] = time.perf_counter() - t
    finally:
        if checkpoints is None:
            shutil.rmtree(folder, ignore_errors=True)
    table = study_table(store, grid)
    return AccuracyStudy(
        table=table,
        correlations=correlation_table(table),
        trained=len(trained),
        reused=len(report.skipped),
        stage_seconds=stages,
    )


# --------------------------------------------------------------------------- figure

_AXES = {
    "algebraic_connectivity": "algebraic connectivity λ2(L), layer 0",
    "lcc_algebraic_connectivity": "λ2(L) of layer 0's largest component",
    "spectral_gap": "spectral gap σ1 − σ2, layer 0",
    "density": "density of layer 0 (edges / 64·H)",
    "network_algebraic_connectivity": "algebraic connectivity, whole network",
    "network_spectral_gap": "spectral gap, whole network",
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def plot_accuracy_study(
    table: pa.Table,
    out: Path,
    metrics: Sequence[str] = CORRELATED[:4],
    options: FigureOptions = DEFAULT_OPTIONS,
) -> Path:
    """Test accuracy against each metric, one panel each; colour and marker per family.

    Each panel's title gives Spearman's rho over all networks. Marker size
    grows with the degree, so the density confound stays visible.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    out = check_figure_path(out)
    if table.num_rows == 0:
        raise InputError("accuracy study table is empty: nothing to plot")
    data = {
        c: table.column(c).to_pylist() for c in ("construction", "degree", "accuracy", *metrics)
    }
    names = list(dict.fromkeys(data["construction"]))
    palette = colormaps["tab10"]
    degrees = sorted(set(data["degree"]))
    size = {d: 14 + 40 * i / max(len(degrees) - 1, 1) for i, d in enumerate(degrees)}
    cols = min(len(metrics), 2)
    rows = math.ceil(len(metrics) / cols)
    fig = Figure(figsize=(5.2 * cols + 1.5, 3.9 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, metric in zip(axes, metrics, strict=False):
        for c, name in enumerate(names):
            idx = [i for i, v in enumerate(data["construction"]) if v == name]
            ax.scatter(
                [data[metric][i] for i in idx], [data["accuracy"][i] for i in idx],
                s=[size[data["degree"][i]] for i in idx], color=palette(c % 10),
                marker=_MARKERS[c % len(_MARKERS)], alpha=0.8, linewidths=0.4, edgecolors="black",
                label=CONSTRUCTIONS[name].label if name in CONSTRUCTIONS else name,
            )  # fmt: skip
        s = spearman(data[metric], data["accuracy"])
        ax.set_title(s.label(p_value=True), fontsize=9)
        ax.set_xlabel(_AXES.get(metric, metric))
        ax.set_ylabel("test accuracy (fraction correct)")
        ax.grid(True, alpha=0.3)
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=8, title="hidden layer")
    hidden = table.column("hidden")[0].as_py()
    fig.suptitle(
        f"Accuracy of 64-{hidden}-10 networks on digits against layer 0's topology "
        f"(marker size: degree {degrees[0]}..{degrees[-1]})"
    )
    return save_figure(fig, out, options)
