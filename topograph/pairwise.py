"""Pairwise NNSTD over many checkpoints, in a process pool.

Which pairs: across runs at one epoch (the paper's Figure 4), or along one
run (every epoch against every other, or consecutive epochs only). Direction
is fixed so stored results never depend on scheduling: network ``a`` is the
run that sorts first (across runs) or the earlier epoch (along a run).

Workers receive a picklable *provider* (anything with ``load(run, epoch) ->
Checkpoint``, e.g. a loader source), load what they need themselves and keep
a small per-process cache, so each checkpoint crosses no process boundary and
is read at most once per worker. NNSTD is deterministic, so the number of
workers never changes a value (tested).
"""

from __future__ import annotations

import itertools
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from tqdm import tqdm

from topograph.distances.nnstd import NNSTDOptions, NNSTDResult, nnstd
from topograph.errors import InputError
from topograph.model import Checkpoint, CheckpointKey

__all__ = [
    "CheckpointProvider",
    "PairDistance",
    "across_runs",
    "along_run",
    "compute_pairs",
    "default_workers",
]

Pair = tuple[CheckpointKey, CheckpointKey]


class CheckpointProvider(Protocol):
    """Where workers read checkpoints from; must pickle to worker processes."""

    def load(self, run: str, epoch: int) -> Checkpoint: ...


@dataclass(frozen=True, eq=False)
class PairDistance:
    """NNSTD from checkpoint ``a`` to checkpoint ``b``."""

    a: CheckpointKey
    b: CheckpointKey
    result: NNSTDResult


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def across_runs(runs: Sequence[str], epoch: int) -> list[Pair]:
    """Every unordered pair of distinct runs at ``epoch``; ``a`` sorts first."""
    ordered = sorted(set(runs))
    return [
        (CheckpointKey(r1, epoch), CheckpointKey(r2, epoch))
        for r1, r2 in itertools.combinations(ordered, 2)
    ]


def along_run(run: str, epochs: Sequence[int], consecutive: bool = False) -> list[Pair]:
    """Pairs of epochs of one run, the earlier one as ``a``.

    ``consecutive=True`` gives only neighbours in epoch order (the lineage);
    else every pair.
    """
    ordered = sorted(set(epochs))
    if consecutive:
        combos: Iterable[tuple[int, int]] = itertools.pairwise(ordered)
    else:
        combos = itertools.combinations(ordered, 2)
    return [(CheckpointKey(run, e1), CheckpointKey(run, e2)) for e1, e2 in combos]


class _CachedLoader:
    """A provider plus an LRU cache of the checkpoints it returned."""

    def __init__(self, provider: CheckpointProvider, size: int = 64) -> None:
        self.provider = provider
        self.size = size
        self._cache: OrderedDict[CheckpointKey, Checkpoint] = OrderedDict()

    def get(self, key: CheckpointKey) -> Checkpoint:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        ckpt = self.provider.load(key.run, key.epoch)
        self._cache[key] = ckpt
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return ckpt


_WORKER: dict[str, object] = {}


def _init_worker(provider: CheckpointProvider, options: NNSTDOptions) -> None:
    _WORKER["loader"] = _CachedLoader(provider)
    _WORKER["options"] = options


def _run_pair(pair: Pair) -> PairDistance:
    loader = _WORKER["loader"]
    options = _WORKER["options"]
    assert isinstance(loader, _CachedLoader) and isinstance(options, NNSTDOptions)
    a, b = pair
    return PairDistance(a, b, nnstd(loader.get(a), loader.get(b), options))


def compute_pairs(
    provider: CheckpointProvider,
    pairs: Sequence[Pair],
    options: NNSTDOptions | None = None,
    workers: int | None = None,
    progress: bool = False,
    on_result: Callable[[PairDistance], None] | None = None,
) -> list[PairDistance]:
    """NNSTD for every pair, in the order given.

    ``workers``: processes to use (default: every core); 1 computes in this
    process. ``progress`` shows a progress bar on stderr. Pairs are handed
    out in chunks in the given order, so pairs that share a checkpoint tend
    to land on the same worker and hit its cache.
    """
    opts = options or NNSTDOptions()
    n_workers = default_workers() if workers is None else workers
    if n_workers < 1:
        raise InputError(f"--workers must be at least 1, got {n_workers}")
    results: list[PairDistance] = []
    bar = tqdm(total=len(pairs), disable=not progress, unit="pair", desc="NNSTD")
    try:
        if n_workers == 1 or len(pairs) <= 1:
            _init_worker(provider, opts)
            stream: Iterable[PairDistance] = map(_run_pair, pairs)
            for res in stream:
                results.append(res)
                bar.update()
                if on_result:
                    on_result(res)
        else:
            chunk = max(1, min(16, len(pairs) // (4 * n_workers)))
            with ProcessPoolExecutor(
                max_workers=n_workers, initializer=_init_worker, initargs=(provider, opts)
            ) as pool:
                for res in pool.map(_run_pair, pairs, chunksize=chunk):
                    results.append(res)
                    bar.update()
                    if on_result:
                        on_result(res)
    finally:
        bar.close()
        _WORKER.clear()
    return results
