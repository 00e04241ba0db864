"""Workers: run measure tasks in parallel, locally or on a Dask cluster.

A task is a module-level function ``fn(provider, item, *args)``; the
*provider* says where checkpoints come from (a loader source for files, a
store provider for a graph store) and must pickle. Each worker process keeps
one LRU cache of checkpoints within a memory budget (:data:`CACHE_BYTES`), so
it reads each checkpoint at most once while it is in the cache.

Engines, chosen once per :class:`Workers` (open it once for a whole analysis:
starting a process pool costs about a second per worker, which used to be
paid again at every stage):

* ``workers=1``: in this process (debugging, tiny jobs).
* local process pool (default, ``spawn`` start method: children never inherit
  an open database handle or driver thread from the parent).
* Dask distributed (``scheduler="tcp://host:port"``): the same task functions
  on an existing cluster; results come back in submission order.

Measures are deterministic, so the engine and the number of workers never
change a value (tested).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from functools import partial
from types import TracebackType
from typing import Any, Protocol, TypeVar

from tqdm import tqdm

from topograph.errors import InputError
from topograph.model import Checkpoint, CheckpointKey

__all__ = [
    "CACHE_BYTES",
    "CheckpointProvider",
    "Workers",
    "cached_checkpoint",
    "checkpoint_bytes",
    "default_workers",
    "forget_checkpoints",
]

T = TypeVar("T")
R = TypeVar("R")


class CheckpointProvider(Protocol):
    """Where workers read checkpoints from; must pickle to worker processes.

    ``cache_key`` names the data behind the provider (same key, same
    checkpoints), so a worker's cache is shared by equal providers.
    """

    @property
    def cache_key(self) -> object: ...

    def load(self, run: str, epoch: int) -> Checkpoint: ...


_LOCK = threading.Lock()
_CACHE: OrderedDict[tuple[object, CheckpointKey], tuple[Checkpoint, int]] = OrderedDict()
_CACHED_BYTES = 0
#: Bytes of checkpoints a worker process keeps (least recently used go first):
#: ``$TOPOGRAPH_WORKER_CACHE_MB`` MiB, default 256. A worker's memory is this
#: budget plus the two checkpoints of the task at hand and the measure's work.
CACHE_BYTES = int(float(os.environ.get("TOPOGRAPH_WORKER_CACHE_MB", "256")) * 2**20)


def checkpoint_bytes(ck: Checkpoint) -> int:
    """Memory held by a checkpoint's arrays (weights, indices, biases), in bytes."""
    total = 0
    for w, b in zip(ck.layers, ck.biases, strict=True):
        total += w.data.nbytes + w.indices.nbytes + w.indptr.nbytes
        total += b.nbytes if b is not None else 0
    return total


def cached_checkpoint(provider: CheckpointProvider, key: CheckpointKey) -> Checkpoint:
    """``provider.load(*key)`` through this process's LRU cache (thread-safe).

    The cache holds at most :data:`CACHE_BYTES` of checkpoints, shared by all
    providers of the process (keyed by the provider's ``cache_key``); a
    checkpoint larger than the whole budget is returned without being kept.
    """
    global _CACHED_BYTES
    entry = (provider.cache_key, key)
    with _LOCK:
        if entry in _CACHE:
            _CACHE.move_to_end(entry)
            return _CACHE[entry][0]
    ckpt = provider.load(key.run, key.epoch)
    size = checkpoint_bytes(ckpt)
    with _LOCK:
        if size <= CACHE_BYTES and entry not in _CACHE:
            _CACHE[entry] = (ckpt, size)
            _CACHED_BYTES += size
            while _CACHED_BYTES > CACHE_BYTES:
                _, (_, freed) = _CACHE.popitem(last=False)
                _CACHED_BYTES -= freed
    return ckpt


def forget_checkpoints(cache_key: object) -> None:
    """Drop this process's cached checkpoints of the provider whose ``cache_key`` is given."""
    global _CACHED_BYTES
    with _LOCK:
        for entry in [e for e in _CACHE if e[0] == cache_key]:
            _CACHED_BYTES -= _CACHE.pop(entry)[1]


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Workers:
    """One engine for many task batches: in-process, a process pool, or a Dask cluster.

    Use as a context manager; the pool (or the cluster connection) is opened
    at the first batch that needs it and closed on exit.
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None) -> None:
        self.n = default_workers() if workers is None else workers
        if self.n < 1:
            raise InputError(f"--workers must be at least 1, got {self.n}")
        self.scheduler = scheduler
        self._pool: Executor | None = None
        self._client: Any = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def map(
        self,
        fn: Callable[..., R],
        provider: CheckpointProvider,
        items: Sequence[T],
        *args: Any,
        progress: bool = False,
        desc: str = "tasks",
        on_result: Callable[[R], None] | None = None,
    ) -> list[R]:
        """``[fn(provider, item, *args) for item in items]``, in parallel, in order.

        ``on_result`` sees each result as it arrives (in order), e.g. to write
        results back in batches while the rest still compute.
        """
        task = partial(_apply, partial(fn, provider), args)
        results: list[R] = []
        bar = tqdm(total=len(items), disable=not progress, unit="task", desc=desc, leave=False)

        def take(stream: Iterable[R]) -> None:
            for res in stream:
                results.append(res)
                bar.update()
                if on_result is not None:
                    on_result(res)

        try:
            if self.scheduler:
                take(self._on_dask(task, items))
            elif self.n == 1 or len(items) <= 1:
                take(task(item) for item in items)
            else:
                chunk = max(1, min(16, len(items) // (4 * self.n)))
                take(self._local_pool().map(task, items, chunksize=chunk))
        finally:
            bar.close()
        return results

    def _local_pool(self) -> Executor:
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.n, mp_context=ctx)
        return self._pool

    def _on_dask(self, task: Callable[[Any], R], items: Sequence[Any]) -> Iterable[R]:
        if self._client is None:
            try:
                from distributed import Client
            except ImportError:
                raise InputError(
                    "--scheduler needs Dask distributed: pip install '.[dask]'"
                ) from None
            try:
                self._client = Client(self.scheduler, timeout=30)
            except OSError as exc:
                raise InputError(
                    f"cannot reach the Dask scheduler at {self.scheduler} ({exc})"
                ) from None
        futures = self._client.map(task, list(items), pure=False)
        # Yield in submission order, as each becomes available.
        for future in futures:
            yield future.result()


def _apply(task: Callable[..., R], args: tuple[Any, ...], item: Any) -> R:
    return task(item, *args)
