"""Ingest: checkpoints from files, folders and archives into a graph store.

Idempotent by content hash: a checkpoint already stored whole with the same
hash is skipped; one stored with *different* content is refused (name the
run differently, or delete it first). Debris of an interrupted ingest (a
checkpoint left ``complete = false``) is removed and written again, so running
the same command after a crash completes the work.

Checkpoints are read and validated before anything of them is written, so a
bad checkpoint leaves nothing behind; with ``keep_going`` the others go on.
Good checkpoints are buffered into batches of about ``batch_edges`` edges:
the embedded store writes each batch with one COPY per table.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from topograph.errors import InputError
from topograph.loaders import SourceOptions, open_source
from topograph.model import Checkpoint, CheckpointKey
from topograph.stores.base import GraphStore

__all__ = ["DEFAULT_BATCH_EDGES", "IngestReport", "ingest", "read_new_checkpoints"]

#: Edges buffered before a batch is written (the embedded store's COPY size).
DEFAULT_BATCH_EDGES = 2_000_000


@dataclass
class IngestReport:
    """What one ingest did. ``seconds``: wall time; ``write_seconds``: inside the store."""

    stored: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    neurons: int = 0
    edges: int = 0
    seconds: float = 0.0
    write_seconds: float = 0.0

    @property
    def edges_per_second(self) -> float:
        return self.edges / self.seconds if self.seconds > 0 else 0.0


class ReadReport(Protocol):
    """What :func:`read_new_checkpoints` records: keys skipped, and failures with why."""

    skipped: list[str]
    failed: list[tuple[str, str]]


def read_new_checkpoints(
    paths: Sequence[str | Path],
    report: ReadReport,
    known: dict[CheckpointKey, str],
    clash: str,
    *,
    run: str | None,
    keep_going: bool,
    progress: bool,
    desc: str,
    source_options: SourceOptions | None,
) -> Iterator[tuple[CheckpointKey, Checkpoint]]:
    """``(key, checkpoint)`` for every checkpoint under ``paths`` not in ``known``, validated.

    The one reading pass of the online and the bulk ingest. A key already in
    ``known`` with the same hash is skipped (``report.skipped``); with another
    hash it is an :class:`InputError` saying ``"{source}: {key} {clash}"``. A
    source or checkpoint that cannot be read raises, or with ``keep_going`` is
    listed in ``report.failed``. The caller adds what it takes to ``known``.
    """
    for path in paths:
        try:
            source = open_source(path, run=run, options=source_options)
        except InputError as exc:
            if not keep_going:
                raise
            report.failed.append((str(path), str(exc)))
            continue
        with source:
            bar = tqdm(source.keys(), disable=not progress, unit="ckpt", desc=desc, leave=False)
            for key in bar:
                try:
                    ck = source.load(*key)
                    if key in known:
                        if known[key] != ck.content_hash:
                            raise InputError(f"{ck.source}: {key} {clash}")
                        report.skipped.append(str(key))
                        continue
                except InputError as exc:
                    if not keep_going:
                        raise
                    report.failed.append((str(key), str(exc)))
                    continue
                yield key, ck


def ingest(
    store: GraphStore,
    paths: Sequence[str | Path],
    run: str | None = None,
    keep_going: bool = False,
    progress: bool = False,
    batch_edges: int = DEFAULT_BATCH_EDGES,
    source_options: SourceOptions | None = None,
) -> IngestReport:
    """Ingest every checkpoint found under ``paths`` into ``store``.

    ``run`` renames the run of a source holding exactly one;
    ``source_options`` carry ``--pattern`` and ``--mapping``. Raises
    :class:`InputError` on the first bad checkpoint unless ``keep_going``
    (checkpoints read before it are still stored).
    """
    report = IngestReport()
    started = time.perf_counter()
    existing = store.catalog()
    seen = {key: c.hash for key, c in existing.items() if c.complete}
    batch: list[Checkpoint] = []
    pending_edges = 0

    def flush() -> None:
        nonlocal batch, pending_edges
        todo, batch, pending_edges = batch, [], 0
        if not todo:
            return
        t = time.perf_counter()
        store.write_checkpoints(todo)
        report.write_seconds += time.perf_counter() - t
        for ck in todo:
            report.stored.append(str(ck.key))
            report.neurons += sum(ck.widths)
            report.edges += ck.nnz

    try:
        for key, ck in read_new_checkpoints(
            paths, report, seen,
            "is already stored with different content; ingest it under another --run name",
            run=run, keep_going=keep_going, progress=progress, desc="ingest",
            source_options=source_options,
        ):  # fmt: skip
            if key in existing and not existing[key].complete:
                store.delete_checkpoint(key)  # debris of an interrupted ingest
                report.repaired.append(str(key))
            batch.append(ck)
            seen[key] = ck.content_hash
            pending_edges += ck.nnz
            if pending_edges >= batch_edges:
                flush()
    finally:
        # Checkpoints read before a failure are good: store them, then let
        # the error surface.
        flush()
        report.seconds = time.perf_counter() - started
    return report
