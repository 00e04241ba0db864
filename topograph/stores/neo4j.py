"""Neo4j adapter: a real Neo4j 5 server over Bolt, with the official driver.

Writes are batched: each statement sends up to ``batch_rows`` neurons or
edges as parallel lists (UNWIND), never one round trip per edge. A checkpoint
is written in several transactions and flagged ``complete`` in the last one,
so a crash never leaves a checkpoint that looks whole.

Credentials: from the URI (``bolt://user:password@host:7687``) or from
``NEO4J_USER`` / ``NEO4J_PASSWORD``; :meth:`Neo4jStore.describe` and every
error message show the URI without them.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import numpy as np

import topograph.cypher as cypher
from topograph.errors import TopographError, first_line
from topograph.stores.base import GraphStore, QueryResult, plain
from topograph.stores.codec import EncodedCheckpoint

__all__ = ["Neo4jStore", "redact"]

SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


class StoreError(TopographError):
    """The database could not be reached or refused an operation."""


def _split(uri: str) -> tuple[str, str | None, str | None]:
    """``uri`` without credentials (scheme, host, port, path and query kept), user, password.

    Raises :class:`StoreError` for a malformed URI, without echoing it whole.
    """
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise StoreError(f"malformed database URI ({exc})") from None
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port:
        host = f"{host}:{port}"
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return clean, user, password


def redact(uri: str) -> str:
    """``uri`` without user and password."""
    return _split(uri)[0]


def _auth_from(uri: str) -> tuple[str, tuple[str, str] | None]:
    clean, user, password = _split(uri)
    user = user or os.environ.get("NEO4J_USER") or os.environ.get("NEO4J_USERNAME")
    password = password or os.environ.get("NEO4J_PASSWORD")
    if password:
        return clean, (user or "neo4j", password)
    return clean, None


class Neo4jStore(GraphStore):
    """The graph in a Neo4j server. ``database``: Neo4j database name (default: the server's)."""

    kind = "neo4j"

    def __init__(
        self, uri: str, database: str | None = None, tx_edges: int = 500_000, writers: int = 2
    ) -> None:
        import neo4j
        from neo4j.exceptions import AuthError, ServiceUnavailable

        self.uri, auth = _auth_from(uri)
        self.database = database or os.environ.get("NEO4J_DATABASE") or None
        self.tx_edges = tx_edges
        self.writers = writers
        try:
            self._driver = neo4j.GraphDatabase.driver(
                self.uri, auth=auth, notifications_min_severity="OFF"
            )
            self._driver.verify_connectivity()
        except AuthError:
            raise StoreError(
                f"{self.uri}: authentication failed (check NEO4J_USER/NEO4J_PASSWORD)"
            ) from None
        except (ServiceUnavailable, OSError, ValueError) as exc:
            raise StoreError(f"{self.uri}: cannot reach Neo4j ({first_line(exc)})") from None

    def describe(self) -> str:
        return self.uri

    def close(self) -> None:
        self._driver.close()

    def _session(self, write: bool):  # type: ignore[no-untyped-def]
        import neo4j

        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        return self._driver.session(database=self.database, default_access_mode=mode)

    def ensure_schema(self) -> None:
        with self._session(write=True) as session:
            for stmt in cypher.statements("schema/neo4j"):
                session.run(stmt).consume()
            session.run(cypher.load("neo4j/await_indexes")).consume()

    def query(
        self, text: str, params: dict[str, Any] | None = None, write: bool = False
    ) -> QueryResult:
        from neo4j.exceptions import ClientError, DatabaseError

        self.check_query(text, write)

        def work(tx: Any) -> QueryResult:
            result = tx.run(text, params or {})
            keys = list(result.keys())
            rows = [tuple(plain(v) for v in rec.values()) for rec in result]
            return QueryResult(keys, rows)

        try:
            with self._session(write) as session:
                if write:
                    return session.execute_write(work)
                return session.execute_read(work)
        except (ClientError, DatabaseError) as exc:
            msg = f"{self.uri}: query failed: {(exc.message or str(exc)).splitlines()[0]}"
            if not write and "read access mode" in msg:
                msg = self.write_refused(msg)
            raise StoreError(msg) from None

    def _write_encoded(self, batch: Sequence[EncodedCheckpoint]) -> None:
        """Write each checkpoint in one transaction, ``writers`` transactions at a time.

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
        if errors:
            exc = errors[0]  # the first failure; the others follow from it
            if isinstance(exc, TopographError):
                raise exc
            raise StoreError(f"{self.uri}: write failed: {first_line(exc)}") from exc

    def _write_one(self, session: Any, e: EncodedCheckpoint) -> None:
        ck = e.checkpoint
        ckpt = e.id
        # Neurons are created from this statement's own lists; edges address
        # them by offset into that list (see neo4j/create_graph.cypher).
        graph = {
            "ckpt": ckpt,
            "run": ck["run"],
            "epoch": ck["epoch"],
            "uid": (e.base + np.arange(e.neurons, dtype=np.int64)).tolist(),
            "layer": e.position.tolist(),
            "idx": e.index.tolist(),
            "bias": [None if np.isnan(b) else b for b in e.bias.tolist()],
        }
        weight = e.weight.astype("float64")
        if e.src.size <= self.tx_edges:
            # The whole checkpoint in one transaction: atomic by itself.
            graph.update(
                src=e.src.tolist(), dst=e.dst.tolist(), tap=e.tap.tolist(), w=weight.tolist()
            )

            def whole(tx: Any) -> None:
                tx.run(cypher.load("neo4j/create_checkpoint"), ck=ck, layers=e.layers).consume()
                tx.run(cypher.load("neo4j/create_graph"), graph).consume()
                tx.run(cypher.load("neo4j/complete_checkpoint"), ckpt=ckpt).consume()

            session.execute_write(whole)
            return
        # Too big for one transaction: neurons, then edges in batches of
        # tx_edges, flagged complete only in the last transaction.
        session.execute_write(
            lambda tx: tx.run(
                cypher.load("neo4j/create_checkpoint"), ck=ck, layers=e.layers
            ).consume()
        )
        try:
            empty: dict[str, list[int]] = {"src": [], "dst": [], "tap": [], "w": []}
            session.execute_write(
                lambda tx: tx.run(cypher.load("neo4j/create_graph"), {**graph, **empty}).consume()
            )
            text = cypher.load("neo4j/create_edges")
            src, dst = e.base + e.src, e.base + e.dst
            for s in range(0, src.size, self.tx_edges):
                end = s + self.tx_edges
                p = {
                    "src": src[s:end].tolist(),
                    "dst": dst[s:end].tolist(),
                    "w": weight[s:end].tolist(),
                }
                session.execute_write(lambda tx, p=p: tx.run(text, p).consume())
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
        with self._session(write=True) as session:
            for s in range(0, len(cols["src"]), step):
                params = {name: values[s : s + step] for name, values in cols.items()}
                session.execute_write(lambda tx, p=params: tx.run(text, p).consume())

    def _delete_checkpoint(self, ckpt_id: str) -> None:
        with self._session(write=True) as session:
            # CALL ... IN TRANSACTIONS needs an implicit (auto-commit) transaction.
            session.run(cypher.load("neo4j/delete_checkpoint"), ckpt=ckpt_id).consume()
            session.run(cypher.load("neo4j/delete_checkpoint_nodes"), ckpt=ckpt_id).consume()
