"""Neo4j adapter: a real Neo4j 5 server over Bolt, with the official driver.

Writes are batched: each statement sends many neurons or edges as parallel
lists (UNWIND), never one round trip per edge. A checkpoint of up to
``tx_edges`` edges goes in one transaction; a bigger one in several bounded
ones (its neurons, then its edges, ``tx_edges`` at a time), so a server with
the default 1 GiB heap takes checkpoints of any size. Either way the
checkpoint is flagged ``complete`` only in the last transaction: readers never
see part of one as whole.

One writer at a time: a store opened for writing holds the database's writer
lease (:mod:`topograph.stores.lease`) until it is closed.

Queries without ``write`` are checked by their plan before they run
(:meth:`Neo4jStore._check_plan`, see :mod:`topograph.stores.guard`) and run
in read access mode.

Credentials: from the URI (``bolt://user:password@host:7687``) or from
``NEO4J_USER`` / ``NEO4J_PASSWORD``; :meth:`Neo4jStore.describe` and every
error message show the URI without them (:mod:`topograph.stores.uri`).

A lost server: the driver retries a transaction for at most
``TOPOGRAPH_NEO4J_RETRY`` seconds (default 15), then the operation stops with
one line (:class:`~topograph.stores.base.StoreUnavailable`); whatever was
committed stays, and running the same command again completes the work.
"""

from __future__ import annotations

import gc
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

import topograph.cypher as cypher
from topograph.errors import InputError, TopographError, first_line
from topograph.stores import lease as leases
from topograph.stores.base import (
    GraphStore,
    QueryResult,
    StoreError,
    StoreUnavailable,
    plain,
)
from topograph.stores.codec import EncodedCheckpoint
from topograph.stores.guard import ReadOnlyViolation
from topograph.stores.uri import SCHEMES, parse_server_uri, redact

__all__ = ["READ_PROCEDURES", "SCHEMES", "Neo4jStore", "StoreError", "redact"]

RETRY_ENV = "TOPOGRAPH_NEO4J_RETRY"
TX_EDGES_ENV = "TOPOGRAPH_NEO4J_TX_EDGES"
#: Edges per transaction. 100,000 keeps one transaction's state well inside
#: the transaction memory of a 1 GiB heap with two writers at once (a
#: 500,000-edge transaction ran out of it).
DEFAULT_TX_EDGES = 100_000

#: Procedures a read-only query may CALL: the schema's names, nothing that
#: acts on the server or reads outside the graph.
READ_PROCEDURES = frozenset(
    {
        "db.labels",
        "db.relationshiptypes",
        "db.propertykeys",
        "db.schema.visualization",
        "db.schema.nodetypeproperties",
        "db.schema.reltypeproperties",
    }
)
#: Plan operators a read-only query may not hold, by name prefix: files
#: (LoadCSV), commands on the server or on other sessions (SHOW ...,
#: TERMINATE ...), its own transactions (CALL ... IN TRANSACTIONS). Writes
#: are refused by the plan's query type before these are looked at.
_DENIED_OPERATORS = {
    "LoadCSV": "reads a file or a URL (LOAD CSV)",
    "Show": "is an administration command (SHOW ...)",
    "Terminate": "acts on other sessions (TERMINATE ...)",
    "Transaction": "runs transactions of its own (CALL ... IN TRANSACTIONS)",
}


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise InputError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise InputError(f"{name} must be positive, got {raw!r}")
    return value


def _auth_from(uri: str) -> tuple[str, tuple[str, str] | None]:
    parsed = parse_server_uri(uri)
    user = parsed.user or os.environ.get("NEO4J_USER") or os.environ.get("NEO4J_USERNAME")
    password = parsed.password or os.environ.get("NEO4J_PASSWORD")
    if password:
        return parsed.clean, (user or "neo4j", password)
    return parsed.clean, None


def _operators(plan: Any) -> Iterator[tuple[str, str]]:
    """``(operator name, details)`` of every operator of a plan (the driver's dict form)."""
    stack = [plan] if plan else []
    while stack:
        op = stack.pop()
        name = str(op.get("operatorType", "")).split("@", 1)[0]
        yield name, str(op.get("args", {}).get("Details", ""))
        stack.extend(op.get("children", []))


class Neo4jStore(GraphStore):
    """The graph in a Neo4j server. ``database``: Neo4j database name (default: the server's).

    ``read_only``: this connection never writes (and never takes the writer
    lease); ``tx_edges``: edges per transaction (default
    ``$TOPOGRAPH_NEO4J_TX_EDGES``, else 100,000).
    """

    kind = "neo4j"
    read_procedures = READ_PROCEDURES

    def __init__(
        self,
        uri: str,
        database: str | None = None,
        tx_edges: int | None = None,
        writers: int = 2,
        read_only: bool = False,
    ) -> None:
        from neo4j.exceptions import AuthError

        self.uri, self._auth = _auth_from(uri)
        self.database = database or os.environ.get("NEO4J_DATABASE") or None
        self.tx_edges = tx_edges or int(_env_number(TX_EDGES_ENV, DEFAULT_TX_EDGES))
        self.writers = writers
        self.read_only = read_only
        self._retry = _env_number(RETRY_ENV, 15.0)
        self._lease: leases.WriterLease | None = None
        self._user_functions: frozenset[str] | None = None
        try:
            self._driver = self._new_driver()
            self._driver.verify_connectivity()
        except AuthError:
            raise StoreError(
                f"{self.uri}: authentication failed (check NEO4J_USER/NEO4J_PASSWORD)"
            ) from None
        except Exception as exc:
            if isinstance(exc, TopographError):
                raise
            raise StoreUnavailable(f"{self.uri}: cannot reach Neo4j ({first_line(exc)})") from None

    def _new_driver(self) -> Any:
        import neo4j

        return neo4j.GraphDatabase.driver(
            self.uri,
            auth=self._auth,
            notifications_min_severity="OFF",
            max_transaction_retry_time=self._retry,
            connection_timeout=min(self._retry, 10.0),
            connection_acquisition_timeout=self._retry + 10.0,
        )

    def describe(self) -> str:
        return self.uri

    def take_writer_lock(self) -> None:
        if self.read_only or self._lease is not None:
            return
        with self._errors(write=True, what="writer lock"):
            self._lease = leases.hold(
                self._new_driver, self.database, self.uri, self.uri, leases.lock_wait()
            )

    def close(self) -> None:
        lease, self._lease = self._lease, None
        if lease is not None:
            leases.let_go(lease)
        driver = self.__dict__.pop("_driver", None)
        if driver is not None:
            driver.close()

    @contextmanager
    def _errors(self, write: bool = False, what: str = "query failed") -> Iterator[None]:
        """Driver and server errors as one-line store errors (the URI never with credentials)."""
        from neo4j.exceptions import (
            ConstraintError,
            DriverError,
            Neo4jError,
            ServiceUnavailable,
            SessionExpired,
        )

        try:
            yield
        except TopographError:
            raise
        except (ServiceUnavailable, SessionExpired) as exc:
            raise StoreUnavailable(
                f"{self.uri}: lost the connection to Neo4j ({first_line(exc)}; retried "
                f"{self._retry:g} s); what was committed is kept: run the same command again "
                "when the server is back"
            ) from None
        except ConstraintError as exc:
            raise StoreError(
                f"{self.uri}: {what}: another writer stored the same key "
                f"({first_line(Exception(exc.message or exc))})"
            ) from None
        except Neo4jError as exc:
            msg = first_line(Exception(exc.message or exc))
            if "MemoryPoolOutOfMemoryError" in str(exc.code):
                raise StoreError(
                    f"{self.uri}: {what}: the server ran out of transaction memory; lower "
                    f"{TX_EDGES_ENV} (now {self.tx_edges}) or give the server more heap"
                ) from None
            if not write and ("read access mode" in msg or "not allowed" in msg.lower()):
                raise StoreError(self.write_refused(f"{self.uri}: {what}: {msg}")) from None
            raise StoreError(f"{self.uri}: {what}: {msg}") from None
        except (DriverError, OverflowError) as exc:
            raise StoreError(f"{self.uri}: {what}: {first_line(exc)}") from None

    def _session(self, write: bool):  # type: ignore[no-untyped-def]
        import neo4j

        if write and self._lease is not None:
            self._lease.check()
        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        return self._driver.session(database=self.database, default_access_mode=mode)

    def ensure_schema(self) -> None:
        with self._errors(write=True, what="schema"), self._session(write=True) as session:
            for stmt in cypher.statements("schema/neo4j"):
                session.run(stmt).consume()
            session.run(cypher.load("neo4j/await_indexes")).consume()

    def _run(self, text: str, params: dict[str, Any], write: bool) -> QueryResult:
        def work(tx: Any) -> QueryResult:
            result = tx.run(text, params)
            keys = list(result.keys())
            rows = [tuple(plain(v) for v in rec.values()) for rec in result]
            return QueryResult(keys, rows)

        with self._errors(write), self._session(write) as session:
            if write:
                return session.execute_write(work)
            return session.execute_read(work)

    def _unsafe_functions(self) -> frozenset[str]:
        """Functions installed beyond Neo4j's own (asked once per connection)."""
        if self._user_functions is None:
            rows = self._named("neo4j/user_functions").rows
            self._user_functions = frozenset(str(r[0]).lower() for r in rows)
        return self._user_functions

    def _check_plan(self, text: str, params: dict[str, Any]) -> None:
        """Refuse unless Neo4j's own plan says the query only reads the graph.

        ``EXPLAIN`` plans without running: the summary's ``query_type`` must
        be ``"r"`` (``"w"``/``"rw"`` write, ``"s"`` changes the schema or the
        server), and no operator may read files, command the server or other
        sessions, or call a procedure outside :data:`READ_PROCEDURES`.
        """

        def explain(tx: Any) -> Any:
            return tx.run("EXPLAIN " + text, params).consume()

        with self._errors(write=False), self._session(write=False) as session:
            summary = session.execute_read(explain)
        kind = summary.query_type
        if kind in ("w", "rw"):
            raise ReadOnlyViolation(
                self.write_refused(f"{self.uri}: read-only query refused: it writes")
            )
        if kind != "r":
            raise ReadOnlyViolation(
                f"{self.uri}: read-only query refused: it changes the schema or the server "
                f"(query type {kind!r})"
            )
        for name, details in _operators(summary.plan):
            for prefix, why in _DENIED_OPERATORS.items():
                if name.startswith(prefix):
                    raise ReadOnlyViolation(
                        f"{self.uri}: read-only query refused: it {why} ({name})"
                    )
            if name == "ProcedureCall":
                proc = details.split("(", 1)[0].strip().lower()
                if proc not in READ_PROCEDURES:
                    raise ReadOnlyViolation(
                        f"{self.uri}: read-only query refused: procedure {proc} is not on the "
                        f"read-only allow-list ({', '.join(sorted(READ_PROCEDURES))})"
                    )

    def _allocate_cids(self, n: int) -> int:
        with self._errors(write=True, what="allocating checkpoint numbers"):
            rows = self._named("neo4j/allocate_cids", {"n": n}, write=True).rows
        return int(rows[0][0])

    def _write_encoded(self, batch: Sequence[EncodedCheckpoint]) -> None:
        """Write each checkpoint in its own transaction(s), ``writers`` checkpoints at a time.

        Parameters for the next checkpoint are packed in this thread while
        the writer threads' transactions run on the server.
        """
        jobs: queue.Queue[EncodedCheckpoint | None] = queue.Queue(maxsize=2 * self.writers)
        errors: list[BaseException] = []

        def writer() -> None:
            with self._session(write=True) as session:
                while (job := jobs.get()) is not None:
                    if errors:
                        continue
                    try:
                        with self._errors(write=True, what=f"writing {job.id}"):
                            self._write_one(session, job)
                    except BaseException as exc:  # surfaced below, in the caller's thread
                        errors.append(exc)

        threads = [threading.Thread(target=writer, daemon=True) for _ in range(self.writers)]
        for t in threads:
            t.start()
        try:
            for encoded in batch:
                if errors:
                    break
                jobs.put(encoded)
        finally:
            for _ in threads:
                jobs.put(None)
            for t in threads:
                t.join()
        # The driver keeps every query's parameters (here a checkpoint's
        # edges as Python lists, ~10 MB per 60k edges) in its result summary,
        # which sits in a reference cycle with the result: they are freed only
        # when the cyclic collector runs, so a long ingest's peak grew with
        # the archive (357 -> 469 MiB from 10 % to 100 % of the synthetic
        # archive). Collected once per batch, the peak is the batch's.
        gc.collect()
        if errors:
            raise errors[0]  # the first failure; the others follow from it

    def _write_one(self, session: Any, e: EncodedCheckpoint) -> None:
        ck = e.checkpoint
        ckpt = e.id
        neurons = {
            "ckpt": ckpt,
            "run": ck["run"],
            "epoch": ck["epoch"],
            "uid": (e.base + np.arange(e.neurons, dtype=np.int64)).tolist(),
            "layer": e.position.tolist(),
            "idx": e.index.tolist(),
            "bias": [None if np.isnan(b) else b for b in e.bias.tolist()],
        }
        weight = e.weight.astype("float64")
        if e.src.size + e.neurons <= self.tx_edges:
            # The whole checkpoint in one transaction: atomic by itself. Neurons
            # are created from this statement's own lists; edges address them
            # by offset into that list (see neo4j/create_graph.cypher).
            graph = {
                **neurons,
                "src": e.src.tolist(),
                "dst": e.dst.tolist(),
                "tap": e.tap.tolist(),
                "w": weight.tolist(),
            }

            def whole(tx: Any) -> None:
                tx.run(cypher.load("neo4j/create_checkpoint"), ck=ck, layers=e.layers).consume()
                tx.run(cypher.load("neo4j/create_graph"), graph).consume()
                tx.run(cypher.load("neo4j/complete_checkpoint"), ckpt=ckpt).consume()

            session.execute_write(whole)
            return
        # Too big for one transaction: the Checkpoint node (complete = false),
        # its neurons and its edges in batches of tx_edges, and the complete
        # flag in a last transaction of its own.
        session.execute_write(
            lambda tx: tx.run(
                cypher.load("neo4j/create_checkpoint"), ck=ck, layers=e.layers
            ).consume()
        )
        step = self.tx_edges
        try:
            text = cypher.load("neo4j/create_neurons")
            for s in range(0, e.neurons, step):
                part = {
                    k: (v[s : s + step] if isinstance(v, list) else v) for k, v in neurons.items()
                }
                session.execute_write(lambda tx, p=part: tx.run(text, p).consume())
            text = cypher.load("neo4j/create_edges")
            for s in range(0, e.src.size, step):
                src, dst = e.src[s : s + step], e.dst[s : s + step]
                lo = int(min(src.min(), dst.min()))
                hi = int(max(src.max(), dst.max())) + 1
                p = {
                    "lo": e.base + lo,
                    "hi": e.base + hi,
                    "src": (src - lo).tolist(),
                    "dst": (dst - lo).tolist(),
                    "tap": e.tap[s : s + step].tolist(),
                    "w": weight[s : s + step].tolist(),
                }
                created = session.execute_write(
                    lambda tx, p=p: tx.run(text, p).single(strict=True)[0]
                )
                if created != src.size:
                    raise StoreError(
                        f"{self.uri}: writing {ckpt}: {created} of {src.size} edges of a batch "
                        "were stored (its neurons are missing)"
                    )
            session.execute_write(
                lambda tx: tx.run(cypher.load("neo4j/complete_checkpoint"), ckpt=ckpt).consume()
            )
        except BaseException:
            # Leave no debris when we can; after a kill -9 the next ingest
            # removes it (complete = false).
            try:
                self._delete_checkpoint(ckpt)
            except Exception:
                pass
            raise

    def _create_matches(self, matches: dict[str, Any]) -> None:
        text = cypher.load("neo4j/create_matches")
        cols = {name: values.tolist() for name, values in matches.items()}
        step = 50_000
        with self._errors(write=True, what="writing MATCHES"), self._session(write=True) as session:
            for s in range(0, len(cols["src"]), step):
                params = {name: values[s : s + step] for name, values in cols.items()}
                session.execute_write(lambda tx, p=params: tx.run(text, p).consume())

    def _delete_checkpoint(self, ckpt_id: str) -> None:
        with self._errors(write=True, what=f"deleting {ckpt_id}"):
            with self._session(write=True) as session:
                # CALL ... IN TRANSACTIONS needs an implicit (auto-commit) transaction.
                session.run(cypher.load("neo4j/delete_checkpoint"), ckpt=ckpt_id).consume()
                session.run(cypher.load("neo4j/delete_checkpoint_nodes"), ckpt=ckpt_id).consume()
