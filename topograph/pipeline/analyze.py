"""Analyze: workers compute registered measures from the store and write them back.

Stages (each timed), all on one engine (:class:`~topograph.compute.workers.Workers`):

1. **across runs**: every pair of runs at each chosen epoch (the NNSTD
   paper's Figure 4), with the chosen pair measure (NNSTD by default); network
   a is the run that sorts later (the published code's direction).
2. **along runs**: consecutive epochs of each chosen run and each epoch against
   the run's first (the distance-to-start curve of ``topograph plot
   evolution``); network a is the earlier epoch. For an aligned measure
   (NNSTD) the consecutive steps are also written as ``NEXT`` (the step's
   distance), ``EVOLVES`` between the same layer of the two epochs and
   ``MATCHES`` between their neurons, so a neuron can be followed through
   training.
3. **checkpoint measures** (spectral properties): every layer's and each whole
   network's, onto ``Layer`` and ``Checkpoint`` nodes.

Only results not yet stored are computed unless ``force``; recomputing
replaces (MERGE on pair and method), never duplicates. Workers read
checkpoints from the store themselves (:class:`StoreProvider`); this process
is the only writer.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from topograph import measures
from topograph.compute.pairs import Pair, across_runs, along_run, compute_pairs, compute_properties
from topograph.compute.workers import Workers, forget_checkpoints
from topograph.errors import InputError
from topograph.measures.base import PairMeasure
from topograph.model import Checkpoint, CheckpointKey
from topograph.results import PairDistance
from topograph.stores import GraphStore, StoredCheckpoint, open_store

__all__ = ["AnalysisPlan", "AnalysisReport", "StoreProvider", "analyze", "default_plan"]

#: Results buffered before they are written back in one batch.
WRITE_BATCH = 64
T = TypeVar("T")


@dataclass(frozen=True)
class StoreProvider:
    """Checkpoints read from a graph store, opened lazily once per process (read-only).

    The URI may carry credentials, so it is left out of the repr (task reprs
    reach Dask's logs). On a cluster, prefer NEO4J_USER/NEO4J_PASSWORD in the
    workers' environment to credentials in the URI, which is pickled to them.

    ``analysis`` is new for every provider and part of the cache key, so a
    worker's cached checkpoint serves one analysis only: a URI names a
    database, not its content. Between two analyses in one process (a
    notebook) a run may be ingested again or a checkpoint damaged, and the
    next analysis must read (and verify) what is stored now.
    """

    uri: str = field(repr=False)
    analysis: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def cache_key(self) -> object:
        return ("store", self.uri, self.analysis)

    def load(self, run: str, epoch: int) -> Checkpoint:
        with _LOCK:
            held = _STORES.get(self.uri)
            if held is None or held[0] != self.analysis:
                # A connection serves one analysis: an embedded file opened
                # read-only keeps the view it opened with.
                if held is not None:
                    held[1].close()
                held = (self.analysis, open_store(self.uri, read_only=True))
                _STORES[self.uri] = held
        return held[1].load_checkpoint(run, epoch)

    def release(self) -> None:
        """Close this process's connection and drop its cached checkpoints of this analysis."""
        with _LOCK:
            held = _STORES.get(self.uri)
            if held is not None and held[0] == self.analysis:
                del _STORES[self.uri]
                held[1].close()
        forget_checkpoints(self.cache_key)


_LOCK = threading.Lock()
#: Per process, the URI's read-only connection and the analysis it serves.
_STORES: dict[str, tuple[str, GraphStore]] = {}


@dataclass(frozen=True)
class AnalysisPlan:
    """What to compute. Empty selections skip a stage.

    ``measure``: the pair measure (a registry name); ``options`` its options
    (default: the measure's defaults). ``properties``: checkpoint measures to
    compute for every stored checkpoint (``("spectral",)``).
    """

    across_epochs: tuple[int, ...] = ()
    along_runs: tuple[str, ...] = ()
    properties: tuple[str, ...] = ()
    matches_across: bool = False
    force: bool = False
    measure: str = "nnstd"
    options: Any = None


@dataclass
class AnalysisReport:
    """Seconds per stage and how many results each stage computed and skipped."""

    stage_seconds: dict[str, float] = field(default_factory=dict)
    computed: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def _complete(store: GraphStore) -> dict[CheckpointKey, StoredCheckpoint]:
    complete = {k: c for k, c in store.catalog().items() if c.complete}
    if not complete:
        raise InputError(f"{store.describe()}: no complete checkpoint stored; ingest first")
    return complete


def default_plan(
    store: GraphStore,
    measure: str = "nnstd",
    options: Any = None,
    force: bool = False,
    matches_across: bool = False,
) -> AnalysisPlan:
    """Across runs at every epoch, along every run, every checkpoint measure of everything."""
    complete = _complete(store)
    return AnalysisPlan(
        across_epochs=tuple(sorted({k.epoch for k in complete})),
        along_runs=tuple(sorted({k.run for k in complete})),
        properties=tuple(m.name for m in measures.checkpoint_measures()),
        matches_across=matches_across,
        force=force,
        measure=measure,
        options=options,
    )


def _check_selection(plan: AnalysisPlan, stored: dict[CheckpointKey, StoredCheckpoint]) -> None:
    """An epoch or run that names nothing stored is an error, not an empty success."""
    epochs = sorted({k.epoch for k in stored})
    runs = sorted({k.run for k in stored})
    for e in plan.across_epochs:
        have = [k.run for k in stored if k.epoch == e]
        if not have:
            raise InputError(
                f"no complete checkpoint at epoch {e} (stored epochs: {_listing(epochs)})"
            )
    for r in plan.along_runs:
        if r not in runs:
            raise InputError(f"no complete checkpoint of run {r!r} (stored runs: {_listing(runs)})")
    for name in plan.properties:
        measures.get(name)


def _listing(values: Sequence[object], limit: int = 12) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def analyze(
    store: GraphStore,
    uri: str,
    plan: AnalysisPlan,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> AnalysisReport:
    """Run ``plan`` with workers reading from the store at ``uri``; write results through ``store``.

    ``store`` is this process's (writable) connection to the same database.
    """
    spec = measures.get(plan.measure)
    if not isinstance(spec, PairMeasure):
        raise InputError(f"{plan.measure!r} is not a distance between checkpoints")
    options = plan.options if plan.options is not None else spec.options()
    stored = _complete(store)
    _check_selection(plan, stored)
    report = AnalysisReport()
    provider = StoreProvider(uri)
    done: dict[str, set[tuple[CheckpointKey, CheckpointKey, str]]] = {}

    def missing(stage: str, kind: str, pairs: list[Pair]) -> list[Pair]:
        if plan.force:
            return pairs
        if kind not in done:
            done[kind] = store.stored_pairs(kind, spec.version)
        methods = options.stored_methods()
        todo = [(a, b) for a, b in pairs if not any((a, b, m) in done[kind] for m in methods)]
        report.skipped[stage] = report.skipped.get(stage, 0) + len(pairs) - len(todo)
        return todo

    def run_pairs(pairs: list[Pair], lineage: bool, matches: bool) -> None:
        def write(batch: list[PairDistance]) -> None:
            store.write_distances(
                batch, lineage=lineage and spec.aligned, matches=matches and spec.aligned
            )

        writer = _Batches(write)
        compute_pairs(provider, pairs, spec, options, workers=engine, progress=progress,
                      on_result=writer.add)  # fmt: skip
        writer.flush()

    try:
        with Workers(workers, scheduler) as engine:
            if plan.across_epochs:
                started = time.perf_counter()
                pairs = []
                for e in plan.across_epochs:
                    pairs += across_runs(sorted({k.run for k in stored if k.epoch == e}), e)
                # With MATCHES wanted, a pair is done only once its MATCHES are stored.
                kind = "MATCHES" if plan.matches_across and spec.aligned else spec.relationship
                todo = missing("across runs", kind, pairs)
                run_pairs(todo, lineage=False, matches=plan.matches_across)
                report.computed["across runs"] = len(todo)
                report.stage_seconds["across runs"] = time.perf_counter() - started

            if plan.along_runs:
                started = time.perf_counter()
                steps: list[Pair] = []
                from_first: list[Pair] = []
                for run in plan.along_runs:
                    epochs = sorted(k.epoch for k in stored if k.run == run)
                    steps += along_run(run, epochs, consecutive=True)
                    from_first += [
                        (CheckpointKey(run, epochs[0]), CheckpointKey(run, e)) for e in epochs[2:]
                    ]
                step_kind = "NEXT" if spec.aligned else spec.relationship
                todo_steps = missing("along runs", step_kind, steps)
                todo_first = missing("along runs", spec.relationship, from_first)
                run_pairs(todo_steps, lineage=True, matches=True)
                run_pairs(todo_first, lineage=False, matches=False)
                report.computed["along runs"] = len(todo_steps) + len(todo_first)
                report.stage_seconds["along runs"] = time.perf_counter() - started

            for name in plan.properties:
                cm = measures.get(name)
                assert isinstance(cm, measures.CheckpointMeasure)
                started = time.perf_counter()
                have = set() if plan.force else store.stored_properties(name)
                keys = [k for k in sorted(stored) if k not in have]
                report.skipped[name] = len(stored) - len(keys)
                props = _Batches(store.write_properties)
                compute_properties(provider, keys, cm, workers=engine, progress=progress,
                                   on_result=props.add)  # fmt: skip
                props.flush()
                report.computed[name] = len(keys)
                report.stage_seconds[name] = time.perf_counter() - started
    finally:
        provider.release()  # this process's (a pool's workers have exited with theirs)
    return report


class _Batches(Generic[T]):
    """Buffers results as they arrive and writes them back in batches.

    This process is the only writer; a failure loses at most one batch, which
    the next run computes again (nothing of it is marked done).
    """

    def __init__(self, write: Callable[[list[T]], None]) -> None:
        self.write = write
        self.buffer: list[T] = []

    def add(self, item: T) -> None:
        self.buffer.append(item)
        if len(self.buffer) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        todo, self.buffer = self.buffer, []
        if todo:
            self.write(todo)
