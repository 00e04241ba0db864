"""Embedded adapter: LadybugDB (the maintained continuation of Kuzu), no server.

The database is one file on disk (plus its write-ahead log beside it). Bulk
writes use ``COPY ... FROM`` an Arrow table, and a whole batch of checkpoints
goes into one COPY per table inside one transaction: each COPY has a fixed
cost of a fraction of a second, so batching is what makes ingest fast, and
the transaction keeps every checkpoint of the batch all-or-nothing (a crash
rolls the batch back when the database is next opened). The batch's
checkpoints are flagged complete only after that commit.

Only one process may open the file for writing (LadybugDB locks it); several
may open it read-only at once (workers do). An open that meets another
process's lock, or a read-only open while a writer's log awaits its
checkpoint, is retried for ``TOPOGRAPH_LOCK_WAIT`` seconds (default 10)
before it stops with one line.

Memory: LadybugDB's buffer pool defaults to about 80 % of the machine's RAM
and is filled as data passes through it, so an ingest's memory grew with the
data. It is bounded here: ``TOPOGRAPH_BUFFER_POOL`` (bytes, or with a unit:
``512MiB``, ``2GiB``), default 512 MiB, at least 256 MiB. Three other causes
of growth are handled in :meth:`EmbeddedStore._write_encoded` (measured,
LadybugDB 0.22): every COPY into a node table holds a node group of the
pool until the database closes (so the few Checkpoint and Layer rows, and
small batches of neurons, are written with Cypher instead); the connection
keeps every Arrow table it was given (a fresh connection per batch); nodes
written stay in memory until the database closes (reopened past 40 % of the
pool). What remains: a COPY of edges takes about 190 bytes per edge of the
batch outside the pool while it runs (``--batch-edges`` bounds it), and
each batch's merge into the Neuron primary-key hash index takes memory in
proportion to the keys already stored, so a long ingest's peak grows with
the store (``benchmarks/embedded_index_growth.py`` shows it with LadybugDB
alone; SERIAL keys and an ART index do no better). The Neo4j store's does
not grow.

Read-only queries (:mod:`topograph.stores.guard`): prepared, so LadybugDB's
own parser refuses a second statement before anything runs, and its
read/write analysis refuses a write inside a ``READ ONLY`` transaction; the
``EXPLAIN`` plan may hold only the read operators of
:data:`READ_OPERATORS` and the table functions of :data:`READ_PROCEDURES`.
LadybugDB has no setting that turns off file access or extension loading
(``LOAD EXTENSION`` is even allowed on a read-only database), which is why
the plan check and the lexical filter before it are what stop them.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

import topograph.cypher as cypher
from topograph.errors import InputError, first_line
from topograph.stores.base import (
    CheckReport,
    GraphStore,
    QueryResult,
    StoreError,
    StoreMemoryFull,
    WriterActive,
    plain,
)
from topograph.stores.codec import (
    CHECKPOINT_PROPERTIES,
    LAYER_PROPERTIES,
    EncodedCheckpoint,
    neuron_table,
)
from topograph.stores.guard import ReadOnlyViolation
from topograph.stores.lease import LOCK_WAIT_ENV, lock_wait

__all__ = [
    "BUFFER_POOL_ENV",
    "DEFAULT_BUFFER_POOL",
    "READ_BUFFER_POOL_ENV",
    "EmbeddedStore",
    "buffer_pool_size",
]

BUFFER_POOL_ENV = "TOPOGRAPH_BUFFER_POOL"
#: The buffer pool's default size, bytes: enough for the published set's
#: queries at full speed, bounded on any machine.
DEFAULT_BUFFER_POOL = 512 * 2**20
#: Below this LadybugDB 0.22 crashed (a segfault, not an error) copying a
#: 2M-edge batch (128 MiB did; 256 MiB worked).
MIN_BUFFER_POOL = 256 * 2**20
READ_BUFFER_POOL_ENV = "TOPOGRAPH_READ_BUFFER_POOL"
#: A read-only open's pool (analysis workers, queries, export) is the
#: writer's unless ``$TOPOGRAPH_READ_BUFFER_POOL`` says otherwise. Reading
#: passes through the pool once, so a reader's memory grows with the store
#: until its pool is full (every checkpoint of a 29.8M-edge store read back:
#: 457 MiB resident with 512 MiB, 224 MiB with 64 MiB), but one checkpoint's
#: edges are gathered in the pool: a 2M-edge checkpoint needs 192-256 MiB, so
#: a smaller reader pool is a choice for stores of small checkpoints.
MIN_READ_BUFFER_POOL = 64 * 2**20
_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6,
          "mib": 2**20, "g": 2**30, "gb": 10**9, "gib": 2**30}  # fmt: skip

#: Physical operators a read-only query's plan may hold: scans, joins,
#: filters, projections, aggregation, ordering, paths (names as LadybugDB 0.22
#: prints them, collected from the named queries and a set of read queries).
#: Anything else (COPY_TO, EXPORT_DATABASE, LOAD_EXTENSION, STANDALONE_CALL
#: settings, INSERT, SET_PROPERTY, an operator of a later version) is refused,
#: named: an unknown read operator costs a refusal, never a hole.
READ_OPERATORS = frozenset(
    {
        "AGGREGATE", "AGGREGATE_FINALIZE", "AGGREGATE_SCAN", "COUNT_REL_TABLE", "CROSS_PRODUCT",
        "EMPTY_RESULT", "QUERY_PRIMARY_KEY_LOOKUP",
        "FILTER", "FLATTEN", "HASH_JOIN_BUILD", "HASH_JOIN_PROBE", "INDEX_LOOKUP",
        "INTERSECT_BUILD", "INTERSECT", "LIMIT", "MULTIPLICITY_REDUCER", "PATH_PROPERTY_PROBE",
        "PRIMARY_KEY_SCAN_NODE_TABLE", "PROJECTION", "RECURSIVE_EXTEND", "RESULT_COLLECTOR",
        "SCAN_NODE_TABLE", "SCAN_REL_TABLE", "SEMI_MASKER", "SKIP", "TABLE_FUNCTION_CALL",
        "TOP_K", "TOP_K_SCAN", "ORDER_BY", "ORDER_BY_MERGE", "ORDER_BY_SCAN", "UNION_ALL_SCAN",
        "UNWIND",
    }
)  # fmt: skip
#: Table functions a read-only query may CALL (the catalog's own listings);
#: never a file reader (read_csv_*, read_parquet, read_npy, read_pandas),
#: a graph projection or a cache (they change the connection's state).
READ_PROCEDURES = frozenset(
    {
        "show_tables", "table_info", "show_connection", "show_indexes", "show_sequences",
        "show_macros", "show_functions", "db_version", "storage_version", "catalog_version",
    }
)  # fmt: skip
#: Table functions the planner itself puts into read plans (intermediate results).
_PLAN_FUNCTIONS = frozenset({"READ_FTABLE"})
_OPERATOR = re.compile(r"^([A-Z][A-Z_]*)\[\d+\]$")
_HOLDER = re.compile(r"Lock is held by PID (\d+)")


def buffer_pool_size(read_only: bool = False) -> int:
    """Bytes of LadybugDB buffer pool for one open of the database.

    A writer's: ``$TOPOGRAPH_BUFFER_POOL``, default 512 MiB, at least 256 MiB;
    a read-only open's: ``$TOPOGRAPH_READ_BUFFER_POOL``, at least 64 MiB,
    default the writer's.
    """
    env, least = BUFFER_POOL_ENV, MIN_BUFFER_POOL
    if read_only and os.environ.get(READ_BUFFER_POOL_ENV, "").strip():
        env, least = READ_BUFFER_POOL_ENV, MIN_READ_BUFFER_POOL
    raw = os.environ.get(env, "").strip()
    if not raw:
        return DEFAULT_BUFFER_POOL
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)", raw)
    if not m or m.group(2).lower() not in _UNITS:
        raise InputError(
            f"{env} must be a size such as 512MiB or 2GiB (bytes without a unit), got {raw!r}"
        )
    size = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if size < least:
        raise InputError(f"{env} must be at least {least // 2**20}MiB, got {raw!r}")
    return size


class EmbeddedStoreError(StoreError):
    """The embedded database could not be opened or refused an operation."""


#: Neurons in a batch from which COPY is worth its fixed cost (about 7 MiB
#: of buffer pool held until the database closes, against ~0.2 KiB a row
#: for Cypher's CREATE, which is also 4x slower on large batches).
COPY_NEURONS = 65_536


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
    read_procedures = READ_PROCEDURES

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        import ladybug

        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise EmbeddedStoreError(f"{self.path}: no database here (ingest something first)")
        if self.path.is_dir():
            raise EmbeddedStoreError(f"{self.path}: is a folder; the embedded store is one file")
        self._pool = buffer_pool_size(read_only)
        # A file that no longer matches its digest keeps the mismatch: a
        # writer must not bless damage by recording the damaged file's digest.
        self._tainted = not read_only and not self._matches_digest()
        try:
            self._db = self._open(ladybug, read_only)
            self._conn = ladybug.Connection(self._db)
        except RuntimeError as exc:
            raise EmbeddedStoreError(f"{self.path}: cannot open ({first_line(exc)})") from None

    def _open(self, ladybug: Any, read_only: bool) -> Any:
        """The Database, waiting (bounded) for another process's lock or checkpoint."""
        wait = lock_wait()
        deadline = time.monotonic() + wait
        while True:
            try:
                return ladybug.Database(
                    str(self.path), read_only=read_only, buffer_pool_size=self._pool
                )
            except RuntimeError as exc:
                message = str(exc)
                if read_only and "recovery is pending" in message:
                    # The log awaits its checkpoint: a writer is at it now (then
                    # we wait), or was killed (then one read-write open replays it).
                    try:
                        pool = buffer_pool_size()  # a replay writes: the writer's pool
                        ladybug.Database(str(self.path), buffer_pool_size=pool).close()
                        continue
                    except RuntimeError as again:
                        message = str(again)
                if "Could not set lock" not in message:
                    raise
                if time.monotonic() >= deadline:
                    holder = _HOLDER.search(message)
                    who = f" (pid {holder.group(1)})" if holder else ""
                    raise WriterActive(
                        f"{self.path}: another process is writing to this store{who}; waited "
                        f"{wait:g} s ({LOCK_WAIT_ENV}): run this again when it has finished"
                    ) from None
                time.sleep(0.2)

    def describe(self) -> str:
        return str(self.path)

    def close(self) -> None:
        # Idempotent: a second close, or one after a failed open, does nothing.
        conn, db = self.__dict__.pop("_conn", None), self.__dict__.pop("_db", None)
        if conn is not None:
            conn.close()
        if db is not None:
            db.close()
            if not self.read_only and not self._tainted:
                self._write_digest()

    @property
    def digest_path(self) -> Path:
        """``<file>.sha256``: the file's digest when topograph last closed it after writing."""
        return self.path.with_name(self.path.name + ".sha256")

    def _file_digest(self) -> str:
        h = hashlib.sha256()
        with open(self.path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()

    def _write_digest(self) -> None:
        """Record the closed file's SHA-256, so ``db check`` sees damage anywhere in it.

        The per-checkpoint hashes cover what topograph reads back; bytes it
        never reads (indexes, relationship ids, free pages) are covered by
        this. LadybugDB keeps no checksum of its main file (its checksums are
        the write-ahead log's). A file closed with its log still pending
        (a crash) gets none.
        """
        if not self.path.is_file() or self._wal_path().exists():
            return
        tmp = self.digest_path.with_name(self.digest_path.name + ".tmp")
        try:
            tmp.write_text(f"{self._file_digest()}  {self.path.name}\n", encoding="ascii")
            os.replace(tmp, self.digest_path)
        except OSError:
            tmp.unlink(missing_ok=True)

    def _matches_digest(self) -> bool:
        """Whether the file is as topograph left it (true when there is nothing to compare).

        A pending log (a crash) means the digest cannot vouch either way: the
        recovered file gets a new one.
        """
        if not self.path.is_file() or not self.digest_path.is_file() or self._wal_path().exists():
            return True
        recorded = self.digest_path.read_text(encoding="ascii").split()[:1]
        return recorded == [self._file_digest()]

    def _wal_path(self) -> Path:
        return self.path.with_name(self.path.name + ".wal")

    def _writer_active(self) -> bool:
        """Whether another process holds LadybugDB's write lock on the file (a POSIX lock).

        Only for a reader: see :meth:`check`.
        """
        try:
            with open(self.path, "rb") as f:
                fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.lockf(f, fcntl.LOCK_UN)
        except OSError:
            return True
        return False

    def check(self) -> CheckReport:
        """The shared checks, and the whole file against the digest of its last close.

        The file is only compared when this store is a reader: a writer's file
        is changing, and opening the file again in the writer's process would
        drop LadybugDB's lock on it (POSIX locks belong to the process and
        go with any of its descriptors of the file).
        """
        if not self.read_only:
            report = super().check()
            report.notes.append("the whole file is compared with its digest by a reader only")
            return report
        if self._writer_active():
            raise WriterActive(
                f"{self.path}: another process is writing to this store; check it when that "
                "has finished"
            )
        report = super().check()
        if not self.digest_path.is_file():
            report.notes.append(
                "no digest of the whole file (written when topograph closes the store after "
                "writing to it): only what topograph reads back was verified"
            )
            return report
        if self._wal_path().exists() or not self._matches_digest():
            report.damaged.append(
                (
                    "file",
                    "its bytes differ from those topograph left when it last closed it (damage, "
                    "a write by another program, or an interrupted one: re-run it, then check)",
                )
            )
        return report

    def _exec(self, text: str | Any, params: dict[str, Any] | None = None) -> Any:
        try:
            return self._conn.execute(text, params or {})
        except RuntimeError as exc:
            if "buffer pool is full" in str(exc):
                env = READ_BUFFER_POOL_ENV if self.read_only else BUFFER_POOL_ENV
                raise StoreMemoryFull(
                    f"{self.path}: the buffer pool ({self._pool / 2**20:g} MiB) is too small for "
                    f"this operation, which was not applied: raise {env} (e.g. {env}=2GiB) "
                    "and run it again"
                ) from None
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

    def _run(self, text: str, params: dict[str, Any], write: bool) -> QueryResult:
        if write:
            self._check_writable()
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

    def _unsafe_functions(self) -> frozenset[str]:
        # setseed changes the connection's random state for later queries.
        return frozenset({"setseed"})

    def _check_plan(self, text: str, params: dict[str, Any]) -> None:
        """Refuse unless LadybugDB, preparing the query, says it only reads the graph.

        Prepared (not run) inside a READ ONLY transaction: the parser refuses
        a second statement, the read/write analysis a write. Then its
        ``EXPLAIN`` plan may hold only :data:`READ_OPERATORS` and table
        functions of :data:`READ_PROCEDURES`.
        """
        import ladybug

        with self._transaction(write=False):
            prepared = ladybug.PreparedStatement(self._conn, "EXPLAIN " + text)
            if not prepared.is_success():
                message = first_line(RuntimeError(prepared.get_error_message()))
                if "multiple statements" in message:
                    raise InputError("one Cypher statement per query (found a second statement)")
                if "read-only" in message:
                    raise ReadOnlyViolation(self.write_refused(f"{self.path}: {message}"))
                raise EmbeddedStoreError(f"{self.path}: {message}")
            result = self._exec(prepared, params)
            plan = "\n".join(str(row[0]) for row in result.get_all())
        operators, functions = _plan_names(plan)
        if not operators:
            raise EmbeddedStoreError(f"{self.path}: read-only query refused: no plan to check")
        for name in operators:
            if name not in READ_OPERATORS:
                raise ReadOnlyViolation(
                    f"{self.path}: read-only query refused: its plan holds {name}, which does "
                    "more than read the graph"
                )
        allowed = _PLAN_FUNCTIONS | {f.upper() for f in READ_PROCEDURES}
        for function in functions:
            if function not in allowed:
                raise ReadOnlyViolation(
                    f"{self.path}: read-only query refused: table function {function.lower()} "
                    "is not on the read-only allow-list"
                )

    def _write_encoded(self, batch: Sequence[EncodedCheckpoint]) -> None:
        if not batch:
            return
        self._check_writable()
        checkpoints = pa.Table.from_pylist(
            [e.checkpoint for e in batch], schema=CHECKPOINT_PROPERTIES
        )
        layers = pa.Table.from_pylist(
            [lay for e in batch for lay in e.layers], schema=LAYER_PROPERTIES
        )
        neurons = pa.concat_tables([neuron_table(e) for e in batch])
        copy_neurons = neurons.num_rows >= COPY_NEURONS
        # Three transactions, in this order. COPY data is made durable by the
        # checkpoint at COMMIT while Cypher writes are replayed from the WAL,
        # so a transaction mixing both can come back torn after a kill -9:
        # first the Cypher writes (runs, checkpoints still incomplete, layers,
        # a small batch's neurons), then the COPYs (a large batch's neurons,
        # the edges), then the complete flags. A crash in between leaves
        # checkpoints flagged incomplete, which the next ingest removes.
        with self._transaction():
            self._exec(cypher.load("embedded/create_checkpoints"), {"batch": checkpoints})
            self._exec(cypher.load("embedded/create_layers"), {"batch": layers})
            if not copy_neurons:
                self._exec(cypher.load("embedded/create_neurons"), {"batch": neurons})
        with self._transaction():
            if copy_neurons:
                self._exec(cypher.load("embedded/copy/neurons"), {"batch": neurons})
            connects = pa.concat_tables([_connects(e) for e in batch])
            self._exec(cypher.load("embedded/copy/connects"), {"batch": connects})
        self._exec(cypher.load("embedded/complete_checkpoints"), {"ids": [e.id for e in batch]})
        self._release_memory()

    def _release_memory(self) -> None:
        """Give back what a bulk write keeps, so a long ingest stays inside the pool.

        The connection caches each statement prepared with an Arrow table,
        and the table with it: a new connection drops them. LadybugDB also
        keeps every node it inserted in memory until the database is closed
        (about 190 bytes a neuron, some in the buffer pool, some outside it;
        measured), so once the pool is 40 % used the database is reopened:
        the file lock is let go for that moment, and reopening waits for it
        like any open. On a big ingest the trigger rarely fires: much of that
        memory sits outside the pool, and each batch's COPY touches the
        Neuron primary-key index in proportion to the neurons already stored,
        so even reopening before every batch (measured: 1.35x from 10 to 50 %
        of the synthetic archive; README, "Memory on a big archive") is not
        flat, and it would let go of the writer's lock between batches.
        """
        import ladybug

        usage = self._pool
        try:
            usage = int(self._exec(cypher.load("embedded/buffer_pool")).get_all()[0][1])
        except EmbeddedStoreError:
            pass
        self._conn.close()
        if usage >= 0.4 * self._pool:
            self._db.close()
            try:
                self._db = self._open(ladybug, read_only=False)
            except RuntimeError as exc:
                message = first_line(exc)
                raise EmbeddedStoreError(f"{self.path}: cannot reopen ({message})") from None
        self._conn = ladybug.Connection(self._db)

    def _create_matches(self, matches: dict[str, Any]) -> None:
        self._check_writable()
        self._exec(cypher.load("embedded/copy_matches"), {"batch": pa.table(matches)})
        self._release_memory()

    def _delete_checkpoint(self, ckpt_id: str) -> None:
        self._check_writable()
        with self._transaction():
            for stmt in cypher.statements("embedded/delete_checkpoint"):
                self._exec(stmt, {"ckpt": ckpt_id})


def _plan_names(plan: str) -> tuple[list[str], list[str]]:
    """Operators and table functions named in an ``EXPLAIN`` plan drawing.

    Every box's title cell is ``NAME[id]``; a table function call says
    ``Function: NAME`` in its box. All such cells are returned, wherever they
    stand: text a query puts into a box (an expression) can only add names,
    which are then checked too, never hide one.
    """
    operators, functions = [], []
    for line in plan.splitlines():
        for cell in re.findall(r"│([^│]*)(?=│)", line):
            cell = cell.strip()
            m = _OPERATOR.match(cell)
            if m:
                operators.append(m.group(1))
            elif cell.startswith("Function:"):
                functions.append(cell.removeprefix("Function:").strip().upper())
    return operators, functions
