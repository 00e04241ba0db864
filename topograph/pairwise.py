"""Pairwise NNSTD over many checkpoints, in a process pool.

Which pairs: across runs at one epoch (the paper's Figure 4), or along one
run (every epoch against every other, or consecutive epochs only). Direction
is fixed so stored results never depend on scheduling: network ``a`` is the
run that sorts first (across runs) or the earlier epoch (along a run).

Workers receive a picklable *provider* (a loader source, or a graph store
through :class:`topograph.workers.StoreProvider`), load what they need
themselves and keep a per-process cache (:mod:`topograph.workers`). NNSTD is
deterministic, so the number of workers never changes a value (tested).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from topograph.distances.nnstd import NNSTDOptions, NNSTDResult, nnstd
from topograph.model import CheckpointKey
from topograph.workers import CheckpointProvider, cached_checkpoint, default_workers, run_tasks

__all__ = [
    "CheckpointProvider",
    "PairDistance",
    "across_runs",
    "along_run",
    "compute_pairs",
    "default_workers",
    "nnstd_task",
]

Pair = tuple[CheckpointKey, CheckpointKey]


@dataclass(frozen=True, eq=False)
class PairDistance:
    """NNSTD from checkpoint ``a`` to checkpoint ``b``."""

    a: CheckpointKey
    b: CheckpointKey
    result: NNSTDResult


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


def nnstd_task(provider: CheckpointProvider, pair: Pair, options: NNSTDOptions) -> PairDistance:
    """One pair's NNSTD, on a worker (checkpoints through the worker's cache)."""
    a, b = pair
    return PairDistance(
        a, b, nnstd(cached_checkpoint(provider, a), cached_checkpoint(provider, b), options)
    )


def compute_pairs(
    provider: CheckpointProvider,
    pairs: Sequence[Pair],
    options: NNSTDOptions | None = None,
    workers: int | None = None,
    progress: bool = False,
    scheduler: str | None = None,
    on_result: Callable[[PairDistance], None] | None = None,
) -> list[PairDistance]:
    """NNSTD for every pair, in the order given (see :func:`topograph.workers.run_tasks`).

    ``workers``: processes (default: every core); 1 computes in this process.
    ``scheduler``: a Dask scheduler address to run on instead. Pairs are
    handed out in chunks in the given order, so pairs that share a checkpoint
    tend to land on the same worker and hit its cache.
    """
    return run_tasks(
        nnstd_task,
        provider,
        list(pairs),
        options or NNSTDOptions(),
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        desc="NNSTD",
        on_result=on_result,
    )
