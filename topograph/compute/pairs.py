"""Pair measures over many checkpoints: which pairs, and computing them on workers.

Which pairs: across runs at one epoch (the NNSTD paper's Figure 4), or along
one run (every epoch against every other, or consecutive epochs only).
Direction is fixed so stored results never depend on scheduling. Across runs,
network ``a`` is the run that sorts *later*, as in the published code's
Figure 4 (its loop fills cell ``(i1, i2)``, ``i2 < i1``, with
``NNSTD(net[i1], net[i2])`` over the sorted networks; beyond layer 0 NNSTD is
not exactly symmetric, so the direction shows in the values). Along a run,
``a`` is the earlier epoch.

Workers receive a picklable *provider* (a loader source, or a graph store's
provider), load what they need themselves and keep a per-process cache
(:mod:`topograph.compute.workers`). Measures are deterministic, so the number
of workers never changes a value (tested).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from topograph import measures
from topograph.compute.workers import CheckpointProvider, Workers, cached_checkpoint
from topograph.measures.base import CheckpointMeasure, PairMeasure
from topograph.model import CheckpointKey
from topograph.results import CheckpointProperties, PairDistance

__all__ = [
    "Pair",
    "across_runs",
    "along_run",
    "compute_pairs",
    "compute_properties",
    "pair_task",
    "properties_task",
]

Pair = tuple[CheckpointKey, CheckpointKey]


def across_runs(runs: Sequence[str], epoch: int) -> list[Pair]:
    """Every unordered pair of distinct runs at ``epoch``; ``a`` is the one that sorts later."""
    ordered = sorted(set(runs))
    return [
        (CheckpointKey(r2, epoch), CheckpointKey(r1, epoch))
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


def pair_task(provider: CheckpointProvider, pair: Pair, measure: str, options: Any) -> PairDistance:
    """One pair's distance, on a worker (checkpoints through the worker's cache)."""
    spec = measures.get(measure)
    assert isinstance(spec, PairMeasure)
    a, b = pair
    result = spec(cached_checkpoint(provider, a), cached_checkpoint(provider, b), options)
    return PairDistance(measure, a, b, result)


def properties_task(
    provider: CheckpointProvider, key: CheckpointKey, measure: str, options: Any
) -> CheckpointProperties:
    """One checkpoint's properties, on a worker."""
    spec = measures.get(measure)
    assert isinstance(spec, CheckpointMeasure)
    return spec(cached_checkpoint(provider, key), options)


def compute_pairs(
    provider: CheckpointProvider,
    pairs: Sequence[Pair],
    measure: PairMeasure | None = None,
    options: Any = None,
    workers: Workers | int | None = None,
    progress: bool = False,
    on_result: Callable[[PairDistance], None] | None = None,
) -> list[PairDistance]:
    """``measure`` (default NNSTD) for every pair, in the order given.

    ``workers``: an open engine to use, or a number of processes for one
    opened and closed here (default: every core). Pairs are handed out in
    chunks in the given order, so pairs that share a checkpoint tend to land
    on the same worker and hit its cache.
    """
    spec = measure or measures.NNSTD
    opts = options if options is not None else spec.options()
    with _engine(workers) as engine:
        return engine.map(
            pair_task, provider, list(pairs), spec.name, opts,
            progress=progress, desc=spec.name, on_result=on_result,
        )  # fmt: skip


def compute_properties(
    provider: CheckpointProvider,
    keys: Sequence[CheckpointKey],
    measure: CheckpointMeasure | None = None,
    options: Any = None,
    workers: Workers | int | None = None,
    progress: bool = False,
    on_result: Callable[[CheckpointProperties], None] | None = None,
) -> list[CheckpointProperties]:
    """``measure`` (default: spectral) of every checkpoint, in the order given."""
    spec = measure or measures.SPECTRAL
    opts = options if options is not None else spec.options()
    with _engine(workers) as engine:
        return engine.map(
            properties_task, provider, list(keys), spec.name, opts,
            progress=progress, desc=spec.name, on_result=on_result,
        )  # fmt: skip


class _Borrowed:
    """A caller's engine, used without closing it."""

    def __init__(self, engine: Workers) -> None:
        self.engine = engine

    def __enter__(self) -> Workers:
        return self.engine

    def __exit__(self, *exc: object) -> None:
        pass


def _engine(workers: Workers | int | None) -> Workers | _Borrowed:
    return _Borrowed(workers) if isinstance(workers, Workers) else Workers(workers)
