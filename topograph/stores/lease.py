"""One writer at a time on a Neo4j database: a lease held in the database itself.

Two ``analyze`` runs at once used to write every MATCHES relationship twice
(each deleted the pair's old matching, then both created theirs), and two
``ingest`` runs picked the same checkpoint numbers. The embedded store never
had this problem: LadybugDB locks its file for one writer. This gives Neo4j
the same rule: a process that opens the store for writing takes the lease and
keeps it while the store is open; a second writer waits a little
(``TOPOGRAPH_LOCK_WAIT`` seconds, default 10) and then stops with one line
naming the holder. Readers never take it.

The lease is a ``(:TopographLock {name})`` node (unique by a constraint).
Taking it happens in one transaction that first write-locks the node, so two
writers deciding at once are serialized. The holder renews it every
``ttl / 3`` seconds from a daemon thread; a holder that died is taken over
when its lease expires (``ttl``, 30 s), or at once when it ran on this host
and its process is gone (``kill -9`` followed by a re-run). Stores of one
process share one lease.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import topograph.cypher as cypher
from topograph.errors import TopographError
from topograph.stores.base import WriterActive

__all__ = ["LOCK_WAIT_ENV", "WriterLease", "hold", "let_go", "lock_wait"]

LOCK_WAIT_ENV = "TOPOGRAPH_LOCK_WAIT"
#: Seconds a writer (or an embedded reader) waits for another process's lock.
DEFAULT_LOCK_WAIT = 10.0
_NAME = "writer"


def lock_wait() -> float:
    """Seconds to wait for another process's lock: ``$TOPOGRAPH_LOCK_WAIT``, default 10."""
    raw = os.environ.get(LOCK_WAIT_ENV, "")
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_LOCK_WAIT
    except ValueError:
        raise TopographError(f"{LOCK_WAIT_ENV} must be a number of seconds, got {raw!r}") from None


def _start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, Linux), to tell a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, started: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return started is None or _start_time(pid) in (None, started)


class WriterLease:
    """The writer lease of one Neo4j database, held by this process (see the module doc)."""

    def __init__(self, driver: Any, database: str | None, where: str, ttl: float = 30.0) -> None:
        # Its own driver: the lease outlives the store that took it when the
        # process opens several.
        self.driver = driver
        self.database = database
        self.where = where
        self.ttl_ms = int(ttl * 1000)
        self.owner = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.pid_start = _start_time(self.pid)
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _session(self) -> Any:
        import neo4j

        return self.driver.session(database=self.database, default_access_mode=neo4j.WRITE_ACCESS)

    def _try_take(self) -> dict[str, Any] | None:
        """Take the lease if it is free; else the holder's fields."""
        params = {"name": _NAME}

        def work(tx: Any) -> dict[str, Any] | None:
            holder = tx.run(cypher.load("neo4j/lease/inspect"), params).single().data()
            free = (
                holder["owner"] is None
                or holder["owner"] == self.owner
                or holder["expires"] is None
                or holder["expires"] < holder["now"]
                or (holder["host"] == self.host and not _alive(holder["pid"], holder["pid_start"]))
            )
            if not free:
                return dict(holder)
            tx.run(
                cypher.load("neo4j/lease/take"),
                params,
                owner=self.owner,
                host=self.host,
                pid=self.pid,
                pid_start=self.pid_start,
                ttl=self.ttl_ms,
            ).consume()
            return None

        with self._session() as session:
            return session.execute_write(work)

    def acquire(self, wait: float) -> None:
        """Take the lease, waiting up to ``wait`` seconds for another holder to let go."""
        deadline = time.monotonic() + wait
        while True:
            holder = self._try_take()
            if holder is None:
                break
            if time.monotonic() >= deadline:
                since = datetime.fromtimestamp(holder["since"] / 1000).strftime("%H:%M:%S")
                raise WriterActive(
                    f"{self.where}: another topograph process is writing to this store "
                    f"(pid {holder['pid']} on {holder['host']}, since {since}); waited "
                    f"{wait:g} s ({LOCK_WAIT_ENV}): run this again when it has finished"
                )
            time.sleep(0.5)
        self._thread = threading.Thread(target=self._renew, name="topograph-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        params = {"name": _NAME, "owner": self.owner, "ttl": self.ttl_ms}
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                with self._session() as session:
                    renewed = session.execute_write(
                        lambda tx: tx.run(cypher.load("neo4j/lease/renew"), params).single()[0]
                    )
                if not renewed and self._try_take() is not None:
                    self.lost = True
                    return
            except Exception:  # the server is away: the writes will say so themselves
                continue

    def check(self) -> None:
        """Raise if another process took the lease over (this one stalled past its ttl)."""
        if self.lost:
            raise WriterActive(
                f"{self.where}: this process lost its writer lock to another process "
                "(it stalled for longer than the lock lasts); nothing more was written"
            )

    def release(self) -> None:
        """Stop renewing and give the lease back (quietly when the server is gone)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            with self._session() as session:
                session.run(
                    cypher.load("neo4j/lease/release"), name=_NAME, owner=self.owner
                ).consume()
        except Exception as exc:  # expires by itself
            del exc
        self.driver.close()


_HELD: dict[tuple[str, str | None], tuple[WriterLease, int]] = {}
_HELD_LOCK = threading.Lock()


def hold(
    make_driver: Callable[[], Any], database: str | None, uri: str, where: str, wait: float
) -> WriterLease:
    """This process's lease on ``(uri, database)``, taken on first use, shared by its stores.

    ``make_driver``: a new driver for the lease's own connection.
    """
    key = (uri, database)
    with _HELD_LOCK:
        if key in _HELD:
            lease, count = _HELD[key]
            _HELD[key] = (lease, count + 1)
            return lease
        lease = WriterLease(make_driver(), database, where)
        try:
            lease.acquire(wait)
        except BaseException:
            lease.driver.close()
            raise
        _HELD[key] = (lease, 1)
        return lease


def let_go(lease: WriterLease) -> None:
    """Undo one :func:`hold`; the last store of the process gives the lease back."""
    with _HELD_LOCK:
        for key, (held, count) in list(_HELD.items()):
            if held is lease:
                if count > 1:
                    _HELD[key] = (held, count - 1)
                    return
                del _HELD[key]
                break
    lease.release()
