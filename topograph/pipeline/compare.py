"""Compare checkpoints straight from files, without a store.

:func:`compare_files` gives one pair's distance (``topograph nnstd``);
:func:`distance_matrix` every pair of runs at some epochs, or the epochs of
one run (``topograph matrix``), computed on workers that read the files
themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from topograph import measures
from topograph.compute.pairs import Pair, across_runs, along_run, compute_pairs
from topograph.compute.workers import Workers
from topograph.errors import InputError
from topograph.loaders import SourceOptions, open_source
from topograph.model import Checkpoint, CheckpointKey
from topograph.pipeline.tables import distances_table
from topograph.results import PairDistance

__all__ = ["Comparison", "DistanceMatrix", "compare_files", "distance_matrix"]


@dataclass(frozen=True)
class Comparison:
    """One pair's distance, and the two checkpoints it compared."""

    pair: PairDistance
    a: Checkpoint
    b: Checkpoint


def compare_files(
    a: str | Path,
    b: str | Path,
    run_a: str | None = None,
    epoch_a: int | None = None,
    run_b: str | None = None,
    epoch_b: int | None = None,
    align: str = "nnstd",
    source_options: SourceOptions | None = None,
    **options: Any,
) -> Comparison:
    """The distance from checkpoint ``a`` to checkpoint ``b``, each a file, folder or archive.

    A source holding several checkpoints needs ``run_*``/``epoch_*`` to pick
    one. ``align``: ``nnstd`` (neurons matched, NNSTD) or ``none`` (masks
    compared as labelled); ``options`` are the measure's (``method="sparse"``);
    ``source_options`` name runs and epochs (``--pattern``) and layers
    (``--mapping``) in both.
    """
    spec = measures.by_align(align)
    opts = spec.options(**options)
    with (
        open_source(a, options=source_options) as src_a,
        open_source(b, options=source_options) as src_b,
    ):
        ka = src_a.resolve(run_a, epoch_a)
        kb = src_b.resolve(run_b, epoch_b)
        ck_a, ck_b = src_a.load(*ka), src_b.load(*kb)
    return Comparison(PairDistance(spec.name, ka, kb, spec(ck_a, ck_b, opts)), ck_a, ck_b)


@dataclass(frozen=True)
class DistanceMatrix:
    """Every pair asked for, its table (one row per pair and layer) and the wall time."""

    pairs: list[PairDistance]
    table: pa.Table
    n_layers: int
    seconds: float
    #: Layers dense (every position connected) in the first checkpoint compared.
    dense_layers: frozenset[int] = frozenset()


def distance_matrix(
    source: str | Path,
    epochs: list[int] | None = None,
    run: str | None = None,
    consecutive: bool = False,
    layer: int = 0,
    align: str = "nnstd",
    workers: int | None = None,
    progress: bool = False,
    source_options: SourceOptions | None = None,
    **options: Any,
) -> DistanceMatrix:
    """Pairwise distances from files: across runs at ``epochs``, or along ``run``.

    ``layer`` is only checked against the networks' depth here (the figure and
    the printed matrices show the mean of layers 0..layer).
    """
    if (epochs is None) == (run is None):
        raise InputError("choose what to compare: --epoch E (across runs) or --run R (along a run)")
    spec = measures.by_align(align)
    opts = spec.options(**options)
    with open_source(source, options=source_options) as src:
        pairs: list[Pair] = []
        if epochs is not None:
            for e in epochs:
                have = [r for r in src.runs() if CheckpointKey(r, e) in src]
                if len(have) < 2:
                    raise InputError(f"{source}: fewer than two runs have epoch {e}")
                pairs += across_runs(have, e)
        else:
            assert run is not None
            pairs = along_run(run, src.epochs(run), consecutive=consecutive)
            if not pairs:
                raise InputError(f"{source}: run {run!r} has fewer than two epochs")
        first = src.load(*pairs[0][0])
        n_layers = len(first.layers)
        dense = frozenset(k for k, w in enumerate(first.layers) if w.nnz == w.shape[0] * w.shape[1])
        if not 0 <= layer < n_layers:
            raise InputError(
                f"--layer {layer} out of range: these networks have layers 0..{n_layers - 1}"
            )
        started = time.perf_counter()
        with Workers(workers) as engine:
            results = compute_pairs(src, pairs, spec, opts, workers=engine, progress=progress)
        seconds = time.perf_counter() - started
    return DistanceMatrix(results, distances_table(results, spec.table), n_layers, seconds, dense)
