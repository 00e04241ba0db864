"""Workers: run measure tasks in parallel, locally or on a Dask cluster.

A task is a module-level function ``fn(provider, item, *args)``; the
*provider* says where checkpoints come from (a loader source for files, a
:class:`StoreProvider` for a graph store) and must pickle. Each worker
process keeps one cached loader per provider, so it opens its own store
connection once (read-only for the embedded store) and reads each
checkpoint at most once while it is in the cache.

Engines:

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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

from tqdm import tqdm

from topograph.errors import InputError
from topograph.model import Checkpoint, CheckpointKey

__all__ = [
    "CheckpointProvider",
    "StoreProvider",
    "cached_checkpoint",
    "default_workers",
    "run_tasks",
]

T = TypeVar("T")
R = TypeVar("R")


class CheckpointProvider(Protocol):
    """Where workers read checkpoints from; must pickle to worker processes."""

    def load(self, run: str, epoch: int) -> Checkpoint: ...


@dataclass(frozen=True)
class StoreProvider:
    """Checkpoints read from a graph store, opened lazily once per process (read-only).

    The URI may carry credentials, so it is left out of the repr (task reprs
    reach Dask's logs). On a cluster, prefer NEO4J_USER/NEO4J_PASSWORD in the
    workers' environment to credentials in the URI, which is pickled to them.
    """

    uri: str = field(repr=False)

    def load(self, run: str, epoch: int) -> Checkpoint:
        from topograph.stores import open_store

        with _LOCK:
            store = _STORES.get(self.uri)
            if store is None:
                store = open_store(self.uri, read_only=True)
                _STORES[self.uri] = store
        return store.load_checkpoint(run, epoch)


_LOCK = threading.Lock()
_STORES: dict[str, Any] = {}
_CACHES: dict[object, OrderedDict[CheckpointKey, Checkpoint]] = {}
CACHE_SIZE = 64


def _cache_key(provider: CheckpointProvider) -> object:
    if isinstance(provider, StoreProvider):
        return ("store", provider.uri)
    root = getattr(provider, "root", None)
    return ("files", str(root)) if root is not None else ("object", id(provider))


def cached_checkpoint(provider: CheckpointProvider, key: CheckpointKey) -> Checkpoint:
    """``provider.load(*key)`` through this process's LRU cache (thread-safe)."""
    ck_key = _cache_key(provider)
    with _LOCK:
        cache = _CACHES.setdefault(ck_key, OrderedDict())
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    ckpt = provider.load(key.run, key.epoch)
    with _LOCK:
        cache[key] = ckpt
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return ckpt


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_tasks(
    fn: Callable[..., R],
    provider: CheckpointProvider,
    items: Sequence[T],
    *args: Any,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
    desc: str = "tasks",
    on_result: Callable[[R], None] | None = None,
) -> list[R]:
    """``[fn(provider, item, *args) for item in items]``, in parallel, in order.

    ``on_result`` sees each result as it arrives (in order), e.g. to write
    results back in batches while the rest still compute.
    """
    n_workers = default_workers() if workers is None else workers
    if n_workers < 1:
        raise InputError(f"--workers must be at least 1, got {n_workers}")
    task = partial(fn, provider)
    results: list[R] = []
    bar = tqdm(total=len(items), disable=not progress, unit="task", desc=desc, leave=False)

    def take(stream: Iterable[R]) -> None:
        for res in stream:
            results.append(res)
            bar.update()
            if on_result is not None:
                on_result(res)

    try:
        if scheduler:
            take(_on_dask(scheduler, task, items, args))
        elif n_workers == 1 or len(items) <= 1:
            take(task(item, *args) for item in items)
        else:
            chunk = max(1, min(16, len(items) // (4 * n_workers)))
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
                take(pool.map(partial(_apply, task, args), items, chunksize=chunk))
    finally:
        bar.close()
    return results


def _apply(task: Callable[..., R], args: tuple[Any, ...], item: Any) -> R:
    return task(item, *args)


def _on_dask(
    scheduler: str, task: Callable[..., R], items: Sequence[Any], args: tuple[Any, ...]
) -> Iterable[R]:
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            "--scheduler needs Dask distributed: pip install 'topograph[dask]'"
        ) from None
    try:
        client = Client(scheduler, timeout=30)
    except OSError as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
    try:
        futures = client.map(partial(_apply, task, args), list(items), pure=False)
        # Yield in submission order, as each becomes available.
        for future in futures:
            yield future.result()
    finally:
        client.close()
