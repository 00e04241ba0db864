"""Embedded adapter: LadybugDB (the maintained continuation of Kuzu), no server.

The database is one file on disk (plus its write-ahead log beside it). Bulk
writes use ``COPY ... FROM`` an Arrow table, and a whole batch of checkpoints
goes into one COPY per table inside one transaction: each COPY has a fixed
cost of a fraction of a second, so batching is what makes ingest fast, and
the transaction keeps every checkpoint of the batch all-or-nothing (a crash
rolls the batch back when the database is next opened). The batch's
checkpoints are flagged complete only after that commit.

Only one process may open the file for writing; several may open it
read-only at once (workers do).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import topograph.cypher as cypher
from topograph.errors import TopographError, first_line
from topograph.stores.base import GraphStore, QueryResult, plain
from topograph.stores.codec import EncodedCheckpoint

__all__ = ["EmbeddedStore"]


class EmbeddedStoreError(TopographError):
    """The embedded database could not be opened or refused an operation."""


_CHECKPOINT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("run", pa.string()),
        ("epoch", pa.int64()),
        ("hash", pa.string()),
        ("accuracy", pa.float64()),
        ("source", pa.string()),
        ("cid", pa.int64()),
        ("n_layers", pa.int64()),
        ("neurons", pa.int64()),
        ("edges", pa.int64()),
        ("complete", pa.bool_()),
    ]
)
_LAYER_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("ckpt", pa.string()),
        ("run", pa.string()),
        ("epoch", pa.int64()),
        ("idx", pa.int64()),
        ("n_in", pa.int64()),
        ("n_out", pa.int64()),
        ("nnz", pa.int64()),
        ("density", pa.float64()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("kernel", pa.string()),
        ("block", pa.int64()),
        ("topology", pa.string()),
    ]
)
#: COPY statements of a batch, in dependency order: nodes before the
#: relationships between them (``cypher/embedded/copy/<name>.cypher``).
_COPY_ORDER = ("checkpoints", "layers", "neurons", "has_checkpoint", "has_layer", "connects")


def _neurons(e: EncodedCheckpoint) -> pa.Table:
    """The Neuron table of one checkpoint (columns of the embedded schema, in order)."""
    n = e.neurons
    return pa.table(
        {
            "uid": pa.array(e.base + np.arange(n, dtype=np.int64)),
            "ckpt": pa.array(np.full(n, e.id, dtype=object), pa.string()),
            "run": pa.array(np.full(n, e.checkpoint["run"], dtype=object), pa.string()),
            "epoch": pa.array(np.full(n, e.checkpoint["epoch"], dtype=np.int64)),
            "layer": pa.array(e.position),
            "idx": pa.array(e.index),
            "bias": pa.array(e.bias, mask=np.isnan(e.bias)),
        }
    )


def _connects(e: EncodedCheckpoint) -> pa.Table:
    return pa.table(
        {
            "src": pa.array(e.base + e.src),
            "dst": pa.array(e.base + e.dst),
            "weight": pa.array(e.weight),
            "tap": pa.array(e.tap),
        }
    )


class EmbeddedStore(GraphStore):
    """The graph in a LadybugDB file at ``path`` (created when missing, unless read-only)."""

    kind = "embedded"

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        import ladybug

        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise EmbeddedStoreError(f"{self.path}: no database here (ingest something first)")
        if self.path.is_dir():
            raise EmbeddedStoreError(f"{self.path}: is a folder; the embedded store is one file")
        try:
            try:
                self._db = ladybug.Database(str(self.path), read_only=read_only)
            except RuntimeError as exc:
                if not (read_only and "recovery is pending" in str(exc)):
                    raise
                # A writer was killed: one read-write open replays its log (and
                # fails, as it should, while another writer holds the file).
                ladybug.Database(str(self.path)).close()
                self._db = ladybug.Database(str(self.path), read_only=True)
            self._conn = ladybug.Connection(self._db)
        except RuntimeError as exc:
            raise EmbeddedStoreError(f"{self.path}: cannot open ({first_line(exc)})") from None

    def describe(self) -> str:
        return str(self.path)

    def close(self) -> None:
        # Idempotent: a second close, or one after a failed open, does nothing.
        conn, db = self.__dict__.pop("_conn", None), self.__dict__.pop("_db", None)
        if conn is not None:
            conn.close()
        if db is not None:
            db.close()

    def _exec(self, text: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return self._conn.execute(text, params or {})
        except RuntimeError as exc:
            raise EmbeddedStoreError(f"{self.path}: {first_line(exc)}") from None

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[None]:
        """One explicit transaction: committed on success, rolled back on any error."""
        self._exec(cypher.load("embedded/begin_write" if write else "embedded/begin_read"))
        try:
            yield
            self._exec(cypher.load("embedded/commit"))
        except BaseException:
            try:  # a failed statement may have ended the transaction already
                self._conn.execute(cypher.load("embedded/rollback"))
            except RuntimeError:
                pass
            raise

    def _check_writable(self) -> None:
        if self.read_only:
            raise EmbeddedStoreError(f"{self.path}: opened read-only; cannot write")

    def ensure_schema(self) -> None:
        if self.read_only:
            return
        for stmt in cypher.statements("schema/embedded"):
            self._exec(stmt)

    def query(
        self, text: str, params: dict[str, Any] | None = None, write: bool = False
    ) -> QueryResult:
        if write:
            self._check_writable()
        self.check_query(text, write)
        # A read-only transaction makes the store refuse writes, as Neo4j's
        # read access mode does.
        with self._transaction(write):
            try:
                result = self._exec(text, params)
            except EmbeddedStoreError as exc:
                if not write and "read-only" in str(exc):
                    raise EmbeddedStoreError(self.write_refused(str(exc))) from None
                raise
            columns = list(result.get_column_names())
            rows = [tuple(plain(v) for v in row) for row in result.get_all()]
        return QueryResult(columns, rows)

    def _write_encoded(self, batch: Sequence[EncodedCheckpoint]) -> None:
        if not batch:
            return
        self._check_writable()
        checkpoints = pa.Table.from_pylist([e.checkpoint for e in batch], schema=_CHECKPOINT_SCHEMA)
        layers = pa.Table.from_pylist(
            [lay for e in batch for lay in e.layers], schema=_LAYER_SCHEMA
        )
        tables = {
            "checkpoints": checkpoints,
            "layers": layers,
            "neurons": pa.concat_tables([_neurons(e) for e in batch]),
            "has_checkpoint": pa.table({"from": checkpoints["run"], "to": checkpoints["id"]}),
            "has_layer": pa.table({"from": layers["ckpt"], "to": layers["id"]}),
            "connects": pa.concat_tables([_connects(e) for e in batch]),
        }
        runs = sorted({str(e.checkpoint["run"]) for e in batch})
        # Three steps, in this order, because COPY data is made durable by the
        # checkpoint at COMMIT while Cypher writes are replayed from the WAL:
        # a transaction mixing both can come back torn after a kill -9.
        self._exec(cypher.load("embedded/merge_runs"), {"runs": runs})
        with self._transaction():
            for name in _COPY_ORDER:
                self._exec(cypher.load(f"embedded/copy/{name}"), {"batch": tables[name]})
        self._exec(cypher.load("embedded/complete_checkpoints"), {"ids": [e.id for e in batch]})

    def _create_matches(self, matches: dict[str, Any]) -> None:
        self._check_writable()
        self._exec(cypher.load("embedded/copy_matches"), {"batch": pa.table(matches)})

    def _delete_checkpoint(self, ckpt_id: str) -> None:
        self._check_writable()
        with self._transaction():
            for stmt in cypher.statements("embedded/delete_checkpoint"):
                self._exec(stmt, {"ckpt": ckpt_id})
