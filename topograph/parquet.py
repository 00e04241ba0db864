"""Typed, documented Parquet tables of topograph results.

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

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from topograph.distances.nnstd import NNSTD_VERSION
from topograph.errors import InputError
from topograph.pairwise import PairDistance

__all__ = ["DISTANCES_SCHEMA", "distances_table", "figure4_matrix", "read_distances", "write_table"]


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
    """Write ``table`` to ``path`` (a file, or a folder when partitioned).

    Written to a temporary name first and renamed, so an interrupted export
    never leaves a half-written file under the final name.
    """
    path = Path(path)
    if partition_by is not None:
        pq.write_to_dataset(table, root_path=path, partition_cols=[partition_by])
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    pq.write_table(table, tmp)
    tmp.replace(path)


def read_distances(path: Path) -> pa.Table:
    """Read a distances table back, checking it has the documented columns."""
    table = pq.read_table(path)
    missing = set(DISTANCES_SCHEMA.names) - set(table.column_names)
    if missing:
        raise InputError(f"{path}: not a distances table (missing {', '.join(sorted(missing))})")
    return table.select(DISTANCES_SCHEMA.names).cast(DISTANCES_SCHEMA)


def figure4_matrix(table: pa.Table, epoch: int, layer: int) -> tuple[list[str], np.ndarray]:
    """The paper's Figure 4 matrix at ``epoch``: runs x runs of mean NNSTD over layers 0..layer.

    Symmetric by construction (each unordered pair is stored once, a -> b);
    the diagonal is 0, the distance of a network to itself.
    """
    rows = table.to_pylist()
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
