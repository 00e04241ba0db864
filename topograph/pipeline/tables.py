"""Typed, documented Parquet tables of topograph results.

One table per registered measure (``distances`` for NNSTD, ``spectral`` for
the spectral properties), plus ``checkpoints``. Each schema is built from the
field declarations of the measure's result dataclass (and of
:class:`~topograph.stores.StoredCheckpoint`), so a new measure brings its
table with it; column descriptions travel in the Parquet field metadata.
:func:`table_from_store` reads what ``topograph analyze`` wrote;
:func:`distances_table` builds the same table straight from computed pairs.

``distances`` schema, one row per checkpoint pair and layer:

=========  =======  ==========================================================
column     type     meaning
=========  =======  ==========================================================
run_a      string   run of network a (the run that sorts later, or the run)
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
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import topograph.cypher as cypher
from topograph import measures
from topograph.errors import InputError
from topograph.measures.base import CheckpointMeasure, PairMeasure
from topograph.results import PairDistance, ResultField, result_fields
from topograph.stores import GraphStore, StoredCheckpoint

__all__ = [
    "PARTITION_ROWS",
    "check_parent",
    "dense_layers",
    "distances_table",
    "figure4_matrix",
    "one_method",
    "read_distances",
    "schema",
    "table_from_store",
    "table_names",
    "write_table",
]

#: Tables with more rows than this are written partitioned by run.
PARTITION_ROWS = 1_000_000

_ARROW_TYPES = {
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
}


def _field(name: str, type_: pa.DataType, doc: str, nullable: bool = False) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": doc})


def _columns(fields: Sequence[ResultField]) -> list[pa.Field]:
    return [
        _field(f.column, _ARROW_TYPES[f.type], f.doc, f.nullable)
        for f in fields
        if f.column is not None
    ]


def _pair_schema(spec: PairMeasure) -> pa.Schema:
    """One row per checkpoint pair and layer; the measure's columns after the keys."""
    keys = [
        _field("run_a", pa.string(), "run of network a (sorts later across runs)"),
        _field("epoch_a", pa.int64(), "epoch of network a (the earlier along a run)"),
        _field("run_b", pa.string(), "run of network b"),
        _field("epoch_b", pa.int64(), "epoch of network b"),
        _field("layer", pa.int32(), "layer index k: compares W[k] of a and b"),
    ]
    per_layer = [f for f in spec.fields if f.scope == "layer"]
    per_pair = [f for f in spec.fields if f.scope == "result"]
    return pa.schema(
        keys + _columns(per_layer) + _columns(per_pair),
        metadata={"topograph.table": spec.table, f"topograph.{spec.name}_version": spec.version},
    )


def _checkpoint_measure_schema(spec: CheckpointMeasure) -> pa.Schema:
    """One row per layer and one per whole network of each checkpoint."""
    keys = [
        _field("run", pa.string(), "training run"),
        _field("epoch", pa.int64(), "epoch of the checkpoint"),
        _field("scope", pa.string(), "layer (one layer's bipartite graph) or network (all layers)"),
        _field("layer", pa.int32(), "layer index k for scope=layer; -1 for scope=network"),
    ]
    return pa.schema(keys + _columns(spec.fields), metadata={"topograph.table": spec.table})


def _checkpoints_schema() -> pa.Schema:
    return pa.schema(
        _columns(result_fields(StoredCheckpoint)), metadata={"topograph.table": "checkpoints"}
    )


def _tables() -> dict[str, tuple[pa.Schema, str]]:
    """Table name -> (schema, partition column when large); the registry decides."""
    out: dict[str, tuple[pa.Schema, str]] = {}
    for m in measures.REGISTRY.values():
        if isinstance(m, PairMeasure):
            out[m.table] = (_pair_schema(m), "run_a")
        else:
            out[m.table] = (_checkpoint_measure_schema(m), "run")
    out["checkpoints"] = (_checkpoints_schema(), "run")
    return out


def table_names() -> list[str]:
    """The tables that can be exported: one per registered measure, and ``checkpoints``."""
    return list(_tables())


def schema(name: str) -> pa.Schema:
    """The documented schema of table ``name``."""
    return _lookup(name)[0]


def partition_column(name: str) -> str:
    """The column a large table ``name`` is partitioned by."""
    return _lookup(name)[1]


def _lookup(name: str) -> tuple[pa.Schema, str]:
    tables = _tables()
    if name not in tables:
        raise InputError(f"unknown table {name!r} (choose from {', '.join(tables)})")
    return tables[name]


def _pair_spec(table: str) -> PairMeasure:
    for m in measures.pair_measures():
        if m.table == table:
            return m
    raise InputError(f"{table!r} is not a table of distances")


def _pair_rows(spec: PairMeasure, pairs: Sequence[dict[str, Any]]) -> pa.Table:
    """Long format: each pair's per-layer fields exploded into one row per layer."""
    sch = _pair_schema(spec)
    per_layer = [f for f in spec.fields if f.scope == "layer" and f.column]
    per_pair = [f for f in spec.fields if f.scope == "result" and f.column]
    cols: dict[str, list[object]] = {name: [] for name in sch.names}
    for p in pairs:
        n = len(p[per_layer[0].name])
        for k in range(n):
            for key in ("run_a", "epoch_a", "run_b", "epoch_b"):
                cols[key].append(p[key])
            cols["layer"].append(k)
            for f in per_layer:
                cols[str(f.column)].append(p[f.name][k])
            for f in per_pair:
                cols[str(f.column)].append(p[f.name])
    return pa.Table.from_pydict(cols, schema=sch)


def distances_table(pairs: Sequence[PairDistance], table: str = "distances") -> pa.Table:
    """One row per pair and layer, in the schema of the pair measure's table."""
    spec = _pair_spec(table)
    rows = []
    for p in pairs:
        row: dict[str, Any] = {
            "run_a": p.a.run, "epoch_a": p.a.epoch, "run_b": p.b.run, "epoch_b": p.b.epoch,
        }  # fmt: skip
        row.update({f.name: getattr(p.result, f.name) for f in spec.fields})
        rows.append(row)
    return _pair_rows(spec, rows)


def _properties_from_store(store: GraphStore, spec: CheckpointMeasure) -> pa.Table:
    layers, networks = store.read_properties(spec.name)
    rows: list[dict[str, object]] = []
    for r in layers:
        rows.append({**r, "scope": "layer", "nodes": r["n_in"] + r["n_out"], "edges": r["nnz"]})
    for r in networks:
        rows.append({**r, "scope": "network", "layer": -1})
    rows.sort(key=lambda r: (r["run"], r["epoch"], r["scope"] == "network", r["layer"]))
    sch = _checkpoint_measure_schema(spec)
    return pa.Table.from_pylist([{n: r[n] for n in sch.names} for r in rows], schema=sch)


def _checkpoints_from_store(store: GraphStore) -> pa.Table:
    sch = _checkpoints_schema()
    rows = [{n: getattr(c, n) for n in sch.names} for c in store.catalog().values() if c.complete]
    return pa.Table.from_pylist(rows, schema=sch)


def table_from_store(store: GraphStore, name: str) -> pa.Table:
    """The ``name`` table (see :func:`table_names`) of what the store holds."""
    _lookup(name)
    if name == "checkpoints":
        return _checkpoints_from_store(store)
    for m in measures.REGISTRY.values():
        if m.table != name:
            continue
        if isinstance(m, PairMeasure):
            return _pair_rows(m, store.read_distances(m.name))
        return _properties_from_store(store, m)
    raise AssertionError(name)  # pragma: no cover - _lookup knows every name


def write_table(table: pa.Table, path: Path, partition_by: str | None = None) -> None:
    """Write ``table`` to ``path`` (a file, or a folder of files partitioned by a column).

    Written under a temporary name beside the target and renamed over it, so
    an interrupted export never leaves a half-written table under the final
    name, and a re-export replaces (never adds to) the previous one.
    """
    path = Path(path)
    check_parent(path)
    tmp = path.with_name(f".{path.name}.partial")
    try:
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


def check_parent(path: Path) -> None:
    """Make sure the folder of an output path exists, creating at most that one folder.

    ``figures/fig.png`` creates ``figures/`` when missing; a path whose folder's
    own parent is missing too (``/missing/dir/x.png``) is refused rather than
    creating a chain of folders, e.g. at the file-system root, that the user
    may not have meant.
    """
    parent = Path(path).parent
    if parent.is_dir():
        return
    if parent.exists():
        raise InputError(f"{path}: {parent} is not a folder")
    if not parent.parent.is_dir():
        raise InputError(f"{path}: folder {parent.parent} does not exist (create it first)")
    try:
        parent.mkdir()
    except OSError as exc:
        raise InputError(f"{path}: cannot create {parent} ({exc.strerror or exc})") from None


def read_distances(path: Path) -> pa.Table:
    """Read a distances table back, checking it has the documented columns."""
    table = pq.read_table(path)
    sch = schema("distances")
    missing = set(sch.names) - set(table.column_names)
    if missing:
        raise InputError(f"{path}: not a distances table (missing {', '.join(sorted(missing))})")
    return table.select(sch.names).cast(sch)


def figure4_matrix(
    table: pa.Table,
    epoch: int,
    layer: int,
    method: str | None = None,
    exclude: Collection[int] = (),
) -> tuple[list[str], np.ndarray]:
    """The paper's Figure 4 matrix at ``epoch``: runs x runs of mean NNSTD over layers 0..layer.

    Symmetric by construction (each unordered pair is stored once, a -> b);
    the diagonal is 0, the distance of a network to itself. ``method``
    selects one method's rows; without it the table must hold only one.
    ``exclude``: layers left out of the mean (dense layers, whose NNSTD is
    always 0 and only dilutes it).
    """
    kept = [k for k in range(layer + 1) if k not in set(exclude)]
    if not kept:
        raise InputError(f"layers 0..{layer} are all dense: no sparse layer to show")
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
        if any(k not in layers for k in kept):
            raise InputError(f"distances of layers 0..{layer} missing for a pair at epoch {epoch}")
        value = float(np.mean([layers[k] for k in kept]))
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


def dense_layers(store: GraphStore) -> frozenset[int]:
    """Layer indices that are dense (every position connected) in every stored checkpoint.

    SET keeps its output layer dense (784 x 10 in the published networks):
    its NNSTD is always 0, every EVOLVES step of it is "frozen", and its
    singular value sqrt(784 * 10) = 88.5 dominates the whole network's
    spectral gap. Figures leave such layers out under ``sparse_only``.
    """
    rows = store.query(cypher.load("read/layer_density"), {}).dicts()
    return frozenset(int(r["layer"]) for r in rows if float(r["min_density"]) >= 1.0)
