"""Typed, documented Parquet tables of topograph results.

Three tables, each with its schema below (column descriptions travel in the
Parquet field metadata): ``distances``, ``spectral``, ``checkpoints``. The
store-backed builders (:func:`table_from_store`) read what ``topograph
analyze`` wrote; :func:`distances_table` builds the same distances table
straight from computed pairs.

``distances`` schema, one row per checkpoint pair and layer:

=========  =======  ==========================================================
column     type     meaning
=========  =======  ==========================================================
run_a      string   run of network a (the run that sorts first, or the run)
epoch_a    int64    epoch of network a (the earlier one along a run)
run_b      string   run of network b
epoch_b    int64    epoch of network b
layer      int32    layer index k: the distance compares ``W[k]`` of a and b
distance   float64  NNSTD of that layer, in [0, 1]
method     string   ``reference`` or ``sparse``
=========  =======  ==========================================================

The network distance (the reference's mean) is the mean of a pair's rows;
Figure 4's value for layer L is the mean over layers 0..L. Each column carries
its description in the field metadata; the schema metadata names the NNSTD
version that computed the values.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from topograph.distances.nnstd import NNSTD_VERSION
from topograph.errors import InputError
from topograph.pairwise import PairDistance
from topograph.stores.base import GraphStore

__all__ = [
    "CHECKPOINTS_SCHEMA",
    "DISTANCES_SCHEMA",
    "SPECTRAL_SCHEMA",
    "TABLES",
    "distances_table",
    "figure4_matrix",
    "one_method",
    "read_distances",
    "table_from_store",
    "write_table",
]


def _field(name: str, type_: pa.DataType, doc: str) -> pa.Field:
    return pa.field(name, type_, nullable=False, metadata={"description": doc})


DISTANCES_SCHEMA = pa.schema(
    [
        _field("run_a", pa.string(), "run of network a (sorts first across runs)"),
        _field("epoch_a", pa.int64(), "epoch of network a (the earlier along a run)"),
        _field("run_b", pa.string(), "run of network b"),
        _field("epoch_b", pa.int64(), "epoch of network b"),
        _field("layer", pa.int32(), "layer index k: compares W[k] of a and b"),
        _field("distance", pa.float64(), "NNSTD of the layer, in [0, 1]"),
        _field("method", pa.string(), "assignment method: reference or sparse"),
    ],
    metadata={"topograph.table": "distances", "topograph.nnstd_version": NNSTD_VERSION},
)


_SPECTRAL_FIELDS = [
    ("components", pa.int64(), "connected components (isolated neurons count)"),
    (
        "algebraic_connectivity",
        pa.float64(),
        "second-smallest Laplacian eigenvalue; 0 if disconnected",
    ),
    ("lcc_size", pa.int64(), "nodes of the largest connected component"),
    ("lcc_algebraic_connectivity", pa.float64(), "algebraic connectivity of the largest component"),
    ("lambda1", pa.float64(), "largest adjacency eigenvalue"),
    ("lambda2", pa.float64(), "second-largest adjacency eigenvalue"),
    ("spectral_gap", pa.float64(), "lambda1 - lambda2"),
    ("isolated_in", pa.int64(), "input-side neurons without an edge"),
    ("isolated_out", pa.int64(), "output-side neurons without an edge"),
    ("mean_degree", pa.float64(), "mean node degree"),
    ("max_degree", pa.int64(), "largest node degree"),
    ("mean_in_degree", pa.float64(), "mean fan-in of output-side neurons"),
    ("max_in_degree", pa.int64(), "largest fan-in of an output-side neuron"),
    ("spectral_solver", pa.string(), "dense (numpy.linalg) or sparse (ARPACK)"),
]

SPECTRAL_SCHEMA = pa.schema(
    [
        _field("run", pa.string(), "training run"),
        _field("epoch", pa.int64(), "epoch of the checkpoint"),
        _field("scope", pa.string(), "layer (one layer's bipartite graph) or network (all layers)"),
        _field("layer", pa.int32(), "layer index k for scope=layer; -1 for scope=network"),
        _field("nodes", pa.int64(), "nodes of the graph (neurons)"),
        _field("edges", pa.int64(), "edges of the graph (non-zero weights)"),
        *(_field(n, t, d) for n, t, d in _SPECTRAL_FIELDS),
    ],
    metadata={"topograph.table": "spectral"},
)

CHECKPOINTS_SCHEMA = pa.schema(
    [
        _field("run", pa.string(), "training run"),
        _field("epoch", pa.int64(), "epoch"),
        _field("hash", pa.string(), "SHA-256 of the canonical layers and biases"),
        pa.field(
            "accuracy",
            pa.float64(),
            nullable=True,
            metadata={"description": "test accuracy when the run records it"},
        ),
        _field("source", pa.string(), "where the checkpoint was read from"),
        _field("n_layers", pa.int32(), "number of layers"),
        _field("neurons", pa.int64(), "neurons over all positions"),
        _field("edges", pa.int64(), "non-zero weights over all layers"),
    ],
    metadata={"topograph.table": "checkpoints"},
)


def distances_table(pairs: Sequence[PairDistance]) -> pa.Table:
    """One row per pair and layer, in the :data:`DISTANCES_SCHEMA`."""
    cols: dict[str, list[object]] = {f.name: [] for f in DISTANCES_SCHEMA}
    for p in pairs:
        for k, d in enumerate(p.result.layers):
            cols["run_a"].append(p.a.run)
            cols["epoch_a"].append(p.a.epoch)
            cols["run_b"].append(p.b.run)
            cols["epoch_b"].append(p.b.epoch)
            cols["layer"].append(k)
            cols["distance"].append(d)
            cols["method"].append(p.result.method)
    return pa.Table.from_pydict(cols, schema=DISTANCES_SCHEMA)


def write_table(table: pa.Table, path: Path, partition_by: str | None = None) -> None:
    """Write ``table`` to ``path`` (a file, or a folder of files partitioned by a column).

    Written under a temporary name beside the target and renamed over it, so
    an interrupted export never leaves a half-written table under the final
    name, and a re-export replaces (never adds to) the previous one.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if partition_by is None and path.is_dir():
            raise InputError(f"{path}: is a folder; give a file name (or --partition)")
        shutil.rmtree(tmp, ignore_errors=True)
        if partition_by is not None:
            pq.write_to_dataset(table, root_path=tmp, partition_cols=[partition_by])
        else:
            pq.write_table(table, tmp)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        tmp.replace(path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None


def read_distances(path: Path) -> pa.Table:
    """Read a distances table back, checking it has the documented columns."""
    table = pq.read_table(path)
    missing = set(DISTANCES_SCHEMA.names) - set(table.column_names)
    if missing:
        raise InputError(f"{path}: not a distances table (missing {', '.join(sorted(missing))})")
    return table.select(DISTANCES_SCHEMA.names).cast(DISTANCES_SCHEMA)


def figure4_matrix(
    table: pa.Table, epoch: int, layer: int, method: str | None = None
) -> tuple[list[str], np.ndarray]:
    """The paper's Figure 4 matrix at ``epoch``: runs x runs of mean NNSTD over layers 0..layer.

    Symmetric by construction (each unordered pair is stored once, a -> b);
    the diagonal is 0, the distance of a network to itself. ``method``
    selects one method's rows; without it the table must hold only one.
    """
    rows = one_method(table.to_pylist(), method)
    runs = sorted(
        {r["run_a"] for r in rows if r["epoch_a"] == epoch and r["epoch_b"] == epoch}
        | {r["run_b"] for r in rows if r["epoch_a"] == epoch and r["epoch_b"] == epoch}
    )
    if not runs:
        raise InputError(f"no across-run distances at epoch {epoch}")
    index = {r: i for i, r in enumerate(runs)}
    per_pair: dict[tuple[int, int], dict[int, float]] = {}
    for r in rows:
        if r["epoch_a"] != epoch or r["epoch_b"] != epoch or r["run_a"] == r["run_b"]:
            continue
        per_pair.setdefault((index[r["run_a"]], index[r["run_b"]]), {})[r["layer"]] = r["distance"]
    expected = len(runs) * (len(runs) - 1) // 2
    if len(per_pair) != expected:
        raise InputError(
            f"epoch {epoch}: {len(per_pair)} of {expected} run pairs have distances; "
            "compute the missing ones first"
        )
    matrix = np.zeros((len(runs), len(runs)))
    for (i, j), layers in per_pair.items():
        if any(k not in layers for k in range(layer + 1)):
            raise InputError(f"distances of layers 0..{layer} missing for a pair at epoch {epoch}")
        value = float(np.mean([layers[k] for k in range(layer + 1)]))
        matrix[i, j] = matrix[j, i] = value
    return runs, matrix


def one_method(rows: list[dict[str, Any]], method: str | None) -> list[dict[str, Any]]:
    """The rows of one NNSTD method: never mix two methods' values in one figure."""
    if method is not None:
        return [r for r in rows if r["method"] == method]
    methods = sorted({r["method"] for r in rows})
    if len(methods) > 1:
        raise InputError(
            f"distances of several methods are stored ({', '.join(methods)}); "
            "choose one with --method"
        )
    return rows


def _distances_from_store(store: GraphStore) -> pa.Table:
    cols: dict[str, list[object]] = {f.name: [] for f in DISTANCES_SCHEMA}
    for r in store.named("export_distances").dicts():
        for k, d in enumerate(r["layers"]):
            cols["run_a"].append(r["run_a"])
            cols["epoch_a"].append(r["epoch_a"])
            cols["run_b"].append(r["run_b"])
            cols["epoch_b"].append(r["epoch_b"])
            cols["layer"].append(k)
            cols["distance"].append(float(d))
            cols["method"].append(r["method"])
    return pa.Table.from_pydict(cols, schema=DISTANCES_SCHEMA)


def _spectral_from_store(store: GraphStore) -> pa.Table:
    rows: list[dict[str, object]] = []
    for r in store.named("export_layer_spectra").dicts():
        rows.append({**r, "scope": "layer", "nodes": r["n_in"] + r["n_out"], "edges": r["nnz"]})
    for r in store.named("export_network_spectra").dicts():
        rows.append({**r, "scope": "network", "layer": -1})
    rows.sort(key=lambda r: (r["run"], r["epoch"], r["scope"] == "network", r["layer"]))
    names = SPECTRAL_SCHEMA.names
    return pa.Table.from_pylist([{n: r[n] for n in names} for r in rows], schema=SPECTRAL_SCHEMA)


def _checkpoints_from_store(store: GraphStore) -> pa.Table:
    return pa.Table.from_pylist(
        store.named("export_checkpoints").dicts(), schema=CHECKPOINTS_SCHEMA
    )


#: Table name -> (schema, builder from a store, partition column when large).
TABLES = {
    "distances": (DISTANCES_SCHEMA, _distances_from_store, "run_a"),
    "spectral": (SPECTRAL_SCHEMA, _spectral_from_store, "run"),
    "checkpoints": (CHECKPOINTS_SCHEMA, _checkpoints_from_store, "run"),
}
#: Tables with more rows than this are written partitioned by run.
PARTITION_ROWS = 1_000_000


def table_from_store(store: GraphStore, name: str) -> pa.Table:
    """The ``name`` table (distances, spectral, checkpoints) of what the store holds."""
    if name not in TABLES:
        raise InputError(f"unknown table {name!r} (choose from {', '.join(TABLES)})")
    return TABLES[name][1](store)
