"""Analyze: workers compute NNSTD and spectral properties from the store and write them back.

Stages (each timed):

1. **across runs**: every pair of runs at each chosen epoch (Figure 4);
   written as ``NNSTD`` relationships, network a being the run that sorts
   first.
2. **along runs**: consecutive epochs of each chosen run, written as
   ``NNSTD`` and ``NEXT`` (with the step's distance) between checkpoints,
   ``EVOLVES`` between the same layer of the two epochs (that layer's
   distance) and ``MATCHES`` between their neurons (the NNSTD matching, with
   each matched pair's distance), so a neuron can be followed through
   training; plus each epoch against the run's first epoch (``NNSTD``), the
   distance-to-start curve of ``topograph plot evolution``. Network a is
   always the earlier epoch.
3. **spectral**: properties of every layer's graph (onto ``Layer`` nodes) and
   of each whole network (onto ``Checkpoint`` nodes).

Only results not yet stored are computed unless ``force``; recomputing
replaces (MERGE on pair and method), never duplicates. Workers read
checkpoints from the store themselves; this process is the only writer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from topograph.distances.nnstd import NNSTDOptions
from topograph.errors import InputError
from topograph.model import CheckpointKey
from topograph.pairwise import PairDistance, across_runs, along_run, compute_pairs
from topograph.spectral import SpectralProperties, layer_spectrum, network_spectrum
from topograph.stores import GraphStore
from topograph.stores.base import StoredCheckpoint
from topograph.stores.rows import checkpoint_id, layer_id, neuron_uid_base
from topograph.workers import CheckpointProvider, StoreProvider, cached_checkpoint, run_tasks

__all__ = ["AnalysisPlan", "AnalysisReport", "analyze", "default_plan"]

WRITE_BATCH = 64


@dataclass(frozen=True)
class AnalysisPlan:
    """What to compute. Empty selections skip a stage."""

    across_epochs: tuple[int, ...] = ()
    along_runs: tuple[str, ...] = ()
    spectral: bool = False
    matches_across: bool = False
    force: bool = False
    options: NNSTDOptions = field(default_factory=NNSTDOptions)


@dataclass
class AnalysisReport:
    """Seconds per stage and how many results each stage computed and skipped."""

    stage_seconds: dict[str, float] = field(default_factory=dict)
    computed: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def default_plan(
    store: GraphStore,
    options: NNSTDOptions | None = None,
    force: bool = False,
    matches_across: bool = False,
) -> AnalysisPlan:
    """Across runs at every epoch, along every run, spectral properties of everything."""
    complete = [c for c in store.stored().values() if c.complete]
    if not complete:
        raise InputError(f"{store.describe()}: no complete checkpoint stored; ingest first")
    return AnalysisPlan(
        across_epochs=tuple(sorted({c.epoch for c in complete})),
        along_runs=tuple(sorted({c.run for c in complete})),
        spectral=True,
        matches_across=matches_across,
        force=force,
        options=options or NNSTDOptions(),
    )


@dataclass(frozen=True)
class SpectraResult:
    """Spectral properties of one checkpoint: each layer's and the whole network's."""

    key: CheckpointKey
    layers: tuple[SpectralProperties, ...]
    network: SpectralProperties


def spectral_task(provider: CheckpointProvider, key: CheckpointKey) -> SpectraResult:
    """Worker task: spectra of one checkpoint."""
    ck = cached_checkpoint(provider, key)
    return SpectraResult(
        key=key,
        layers=tuple(layer_spectrum(ck, k) for k in range(len(ck.layers))),
        network=network_spectrum(ck),
    )


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
    report = AnalysisReport()
    stored = {c.id: c for c in store.stored().values() if c.complete}
    by_key = {CheckpointKey(c.run, c.epoch): c for c in stored.values()}
    existing = set() if plan.force else store.existing_results()
    method = plan.options.method
    provider = StoreProvider(uri)

    def missing(
        stage: str, kind: str, pairs: list[tuple[CheckpointKey, CheckpointKey]]
    ) -> list[Any]:
        # "auto" resolves per network width, so either stored method counts.
        methods = ("reference", "sparse") if method == "auto" else (method,)
        todo = [
            (a, b)
            for a, b in pairs
            if not any((kind, checkpoint_id(a), checkpoint_id(b), m) in existing for m in methods)
        ]
        report.skipped[stage] = report.skipped.get(stage, 0) + len(pairs) - len(todo)
        return todo

    # 1. across runs
    if plan.across_epochs:
        started = time.perf_counter()
        pairs = []
        for e in plan.across_epochs:
            runs = sorted({k.run for k in by_key if k.epoch == e})
            pairs += across_runs(runs, e)
        # With MATCHES wanted, a pair is done only once its MATCHES are stored.
        todo = missing("across runs", "MATCHES" if plan.matches_across else "NNSTD", pairs)
        writer = _ResultWriter(store, by_key, matches=plan.matches_across)
        compute_pairs(provider, todo, plan.options, workers=workers, scheduler=scheduler,
                      progress=progress, on_result=writer.add)  # fmt: skip
        writer.flush()
        report.computed["across runs"] = len(todo)
        report.stage_seconds["across runs"] = time.perf_counter() - started

    # 2. along runs
    if plan.along_runs:
        started = time.perf_counter()
        consecutive: list[tuple[CheckpointKey, CheckpointKey]] = []
        from_first: list[tuple[CheckpointKey, CheckpointKey]] = []
        for run in plan.along_runs:
            epochs = sorted(k.epoch for k in by_key if k.run == run)
            if not epochs:
                raise InputError(f"{store.describe()}: no complete checkpoint of run {run!r}")
            steps = along_run(run, epochs, consecutive=True)
            consecutive += steps
            from_first += [
                (CheckpointKey(run, epochs[0]), CheckpointKey(run, e)) for e in epochs[2:]
            ]
        todo_next = missing("along runs", "NEXT", consecutive)
        todo_first = missing("along runs", "NNSTD", from_first)
        writer = _ResultWriter(store, by_key, matches=True, lineage=True)
        compute_pairs(provider, todo_next, plan.options, workers=workers, scheduler=scheduler,
                      progress=progress, on_result=writer.add)  # fmt: skip
        writer.flush()
        writer = _ResultWriter(store, by_key, matches=False)
        compute_pairs(provider, todo_first, plan.options, workers=workers, scheduler=scheduler,
                      progress=progress, on_result=writer.add)  # fmt: skip
        writer.flush()
        report.computed["along runs"] = len(todo_next) + len(todo_first)
        report.stage_seconds["along runs"] = time.perf_counter() - started

    # 3. spectral
    if plan.spectral:
        started = time.perf_counter()
        done = set() if plan.force else store.spectra_done()
        keys = [k for k, c in sorted(by_key.items()) if c.id not in done]
        report.skipped["spectral"] = len(by_key) - len(keys)
        layers: list[dict[str, Any]] = []
        networks: list[dict[str, Any]] = []

        def take(res: SpectraResult) -> None:
            layers.extend(
                {"id": layer_id(res.key, k), **_props(p)} for k, p in enumerate(res.layers)
            )
            networks.append({"id": checkpoint_id(res.key), **_props(res.network)})
            if len(networks) >= WRITE_BATCH:
                store.write_spectra(layers, networks)
                layers.clear()
                networks.clear()

        run_tasks(spectral_task, provider, keys, workers=workers, scheduler=scheduler,
                  progress=progress, desc="spectral", on_result=take)  # fmt: skip
        store.write_spectra(layers, networks)
        report.computed["spectral"] = len(keys)
        report.stage_seconds["spectral"] = time.perf_counter() - started
    return report


def _props(p: SpectralProperties) -> dict[str, Any]:
    d = p.as_dict()
    d.pop("nodes")
    d.pop("edges")
    return d


class _ResultWriter:
    """Buffers pair results and writes them back in batches (this process is the only writer)."""

    def __init__(
        self,
        store: GraphStore,
        by_key: dict[CheckpointKey, StoredCheckpoint],
        matches: bool,
        lineage: bool = False,
    ) -> None:
        self.store = store
        self.by_key = by_key
        self.matches = matches
        self.lineage = lineage
        self.buffer: list[PairDistance] = []

    def add(self, pair: PairDistance) -> None:
        self.buffer.append(pair)
        if len(self.buffer) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        todo, self.buffer = self.buffer, []
        if not todo:
            return
        rows = [
            {
                "a": checkpoint_id(p.a),
                "b": checkpoint_id(p.b),
                "layers": list(p.result.layers),
                "mean": p.result.mean,
                "method": p.result.method,
                "version": p.result.version,
            }
            for p in todo
        ]
        # The relationships that mark a pair done (NNSTD, then NEXT) go last:
        # a failure before them leaves the pair to be computed again.
        if self.matches:
            self.store.write_matches(
                [(checkpoint_id(p.a), checkpoint_id(p.b), p.result.method) for p in todo],
                _matches_table(todo, self.by_key),
            )
        if self.lineage:
            self.store.write_relationships(
                "evolves",
                [
                    {
                        "a": layer_id(p.a, k),
                        "b": layer_id(p.b, k),
                        "distance": d,
                        "method": p.result.method,
                        "version": p.result.version,
                    }
                    for p in todo
                    for k, d in enumerate(p.result.layers)
                ],
            )
        self.store.write_relationships("nnstd", rows)
        if self.lineage:
            self.store.write_relationships("next", rows)


def _matches_table(
    pairs: Sequence[PairDistance], by_key: dict[CheckpointKey, StoredCheckpoint]
) -> pa.Table:
    """MATCHES rows: neuron j at position k+1 of a -> its match in b, with the pair's distance."""
    src, dst, pos, dist, method, version = [], [], [], [], [], []
    for p in pairs:
        base_a = neuron_uid_base(by_key[p.a].cid)
        base_b = neuron_uid_base(by_key[p.b].cid)
        widths = [m.size for m in p.result.matchings]
        # Neuron offsets along the chain: inputs of layer 0 come first.
        n_in = by_key[p.a].neurons - int(np.sum(widths))
        offset = n_in
        for k, (matching, costs) in enumerate(zip(p.result.matchings, p.result.costs, strict=True)):
            n = matching.size
            src.append(base_a + offset + np.arange(n, dtype=np.int64))
            dst.append(base_b + offset + matching.astype(np.int64))
            pos.append(np.full(n, k + 1, dtype=np.int64))
            dist.append(costs)
            method += [p.result.method] * n
            version += [p.result.version] * n
            offset += n
    return pa.table(
        {
            "src": pa.array(np.concatenate(src) if src else np.zeros(0, np.int64)),
            "dst": pa.array(np.concatenate(dst) if dst else np.zeros(0, np.int64)),
            "layer": pa.array(np.concatenate(pos) if pos else np.zeros(0, np.int64)),
            "distance": pa.array(np.concatenate(dist) if dist else np.zeros(0)),
            "method": pa.array(method, pa.string()),
            "version": pa.array(version, pa.string()),
        }
    )
