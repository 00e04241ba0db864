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

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

import topograph.cypher as cypher
from topograph.errors import TopographError, first_line
from topograph.stores.base import GraphStore, QueryResult, plain
from topograph.stores.rows import CheckpointRows

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
    ]
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

    def _rollback(self) -> None:
        """Roll back the open transaction; a failed statement may have ended it already."""
        try:
            self._conn.execute("ROLLBACK")
        except RuntimeError:
            pass

    def ensure_schema(self) -> None:
        if self.read_only:
            return
        for stmt in cypher.statements("schema/embedded"):
            self._exec(stmt)

    def query(
        self, text: str, params: dict[str, Any] | None = None, write: bool = False
    ) -> QueryResult:
        if write and self.read_only:
            raise EmbeddedStoreError(f"{self.path}: opened read-only; cannot write")
        self.check_query(text, write)
        # A read-only transaction makes the store refuse writes, as Neo4j's
        # read access mode does.
        self._exec("BEGIN TRANSACTION" if write else "BEGIN TRANSACTION READ ONLY")
        try:
            result = self._exec(text, params)
            columns = list(result.get_column_names())
            rows = [tuple(plain(v) for v in row) for row in result.get_all()]
            self._exec("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return QueryResult(columns, rows)

    def write_checkpoints(self, batch: Sequence[CheckpointRows]) -> None:
        if not batch:
            return
        if self.read_only:
            raise EmbeddedStoreError(f"{self.path}: opened read-only; cannot write")
        checkpoints = pa.Table.from_pylist(
            [{**r.checkpoint, "complete": False} for r in batch], schema=_CHECKPOINT_SCHEMA
        )
        layers = pa.Table.from_pylist(
            [lay for r in batch for lay in r.layers], schema=_LAYER_SCHEMA
        )
        neurons = pa.concat_tables([r.neurons for r in batch])
        edges = pa.concat_tables([r.edges for r in batch])
        has_checkpoint = pa.table({"from": checkpoints["run"], "to": checkpoints["id"]})
        has_layer = pa.table({"from": layers["ckpt"], "to": layers["id"]})
        runs = sorted({str(r.checkpoint["run"]) for r in batch})
        tables = {
            "checkpoints": checkpoints,
            "layers": layers,
            "neurons": neurons,
            "has_checkpoint": has_checkpoint,
            "has_layer": has_layer,
            "connects": edges,
        }
        # Three steps, in this order, because COPY data is made durable by the
        # checkpoint at COMMIT while Cypher writes are replayed from the WAL:
        # a transaction mixing both can come back torn after a kill -9.
        self._exec(cypher.load("embedded/merge_runs"), {"runs": runs})
        self._exec("BEGIN TRANSACTION")
        try:
            for stmt in cypher.statements("embedded/copy_batch"):
                name = stmt.rsplit("$", 1)[1]
                self._exec(stmt, {name: tables[name]})
            self._exec("COMMIT")
        except BaseException:
            self._rollback()
            raise
        ids = [str(r.checkpoint["id"]) for r in batch]
        self._exec(cypher.load("embedded/complete_checkpoints"), {"ids": ids})

    def _create_matches(self, matches: pa.Table) -> None:
        self._exec(cypher.load("embedded/copy_matches"), {"matches": matches})

    def delete_checkpoint(self, ckpt_id: str) -> None:
        self._exec("BEGIN TRANSACTION")
        try:
            for stmt in cypher.statements("embedded/delete_checkpoint"):
                self._exec(stmt, {"ckpt": ckpt_id})
            self._exec("COMMIT")
        except BaseException:
            self._rollback()
            raise
