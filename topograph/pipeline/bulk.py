"""Bulk ingest: checkpoints from files into a new Neo4j database, through Neo4j's offline importer.

What :func:`~topograph.pipeline.ingest.ingest` does over Bolt, for archives
too big for transactions: the checkpoints are read and validated exactly as
there, encoded by the same codec (so the graph is the same, node for node and
property for property), streamed into import files
(:class:`~topograph.stores.neo4j_bulk.ImportWriter`), and loaded by
``neo4j-admin database import full`` into a new database; the server is then
started on it, the schema created and every count checked
(:func:`~topograph.stores.neo4j_bulk.bulk_import`).

A new database: Neo4j Community serves one, so the import goes into a data
dir never started, or replaces the graph of an existing one (``overwrite``).
Nothing is merged with what a store held: for that, the online ingest.

Memory stays bounded: checkpoints are encoded and written one batch of about
``batch_edges`` edges at a time, the import files go to disk, and the
importer works off-heap within ``max_off_heap``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from topograph.errors import InputError
from topograph.loaders import SourceOptions
from topograph.model import CheckpointKey
from topograph.pipeline.ingest import DEFAULT_BATCH_EDGES, read_new_checkpoints
from topograph.stores import neo4j_bulk as nb
from topograph.stores.codec import EncodedCheckpoint, encode_checkpoint

__all__ = ["BulkIngestReport", "bulk_ingest"]


@dataclass
class BulkIngestReport:
    """What one bulk ingest did.

    ``read_seconds``: reading, validating and encoding the checkpoints and
    writing the import files (one stream); ``load``: the importer, the
    restart, the schema and the counts (its own seconds per step).
    ``counts``: nodes and relationships read back through Bolt, equal to
    those written.
    """

    where: str
    stored: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    neurons: int = 0
    edges: int = 0
    read_seconds: float = 0.0
    load: nb.BulkReport | None = None
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.load.counts) if self.load is not None else {}

    @property
    def edges_per_second(self) -> float:
        return self.edges / self.seconds if self.seconds > 0 else 0.0


def bulk_ingest(
    server: nb.Neo4jServer,
    paths: Sequence[str | Path],
    run: str | None = None,
    keep_going: bool = False,
    progress: bool = False,
    batch_edges: int = DEFAULT_BATCH_EDGES,
    source_options: SourceOptions | None = None,
    overwrite: bool = False,
    file_format: nb.FileFormat = "csv",
    work_dir: str | Path | None = None,
    max_off_heap: str | None = None,
    where: str = "",
) -> BulkIngestReport:
    """Import every checkpoint found under ``paths`` into a new database of ``server``.

    ``run``, ``keep_going``, ``source_options`` as for the online ingest. A
    key found twice with the same content is imported once; with different
    content it is an :class:`InputError`. Checkpoints are numbered in the
    order they are read, as the online ingest numbers them. ``overwrite``
    replaces the graph of an existing database (it is lost); without it an
    existing database is refused and left as it was. ``work_dir``: where the
    import files go (removed afterwards; default: the system's temporary
    folder); ``file_format``: ``csv`` or ``parquet``. Raises
    :class:`~topograph.stores.neo4j_bulk.BulkImportError` when the importer
    fails or the counts read back differ.
    """
    report = BulkIngestReport(where=where)
    started = time.perf_counter()
    seen: dict[CheckpointKey, str] = {}

    def encoded() -> Iterator[EncodedCheckpoint]:
        for key, ck in read_new_checkpoints(
            paths, report, seen,
            "is found twice with different content; ingest one of them under another --run name",
            run=run, keep_going=keep_going, progress=progress, desc="bulk",
            source_options=source_options,
        ):  # fmt: skip
            seen[key] = ck.content_hash
            report.stored.append(str(key))
            report.neurons += sum(ck.widths)
            report.edges += ck.nnz
            yield encode_checkpoint(ck, len(report.stored) - 1)

    server.check_target("neo4j", overwrite)  # before any file is written
    folder = Path(tempfile.mkdtemp(prefix="topograph-import-", dir=work_dir))
    try:
        with nb.ImportWriter(folder / "files", fmt=file_format) as writer:
            nb.write_checkpoints(writer, encoded(), batch_edges=batch_edges)
        files = writer.close()
        report.read_seconds = time.perf_counter() - started
        if not report.stored:
            raise InputError("no checkpoints to import (nothing found, or every one failed)")
        report.load = nb.bulk_import(files, server, overwrite=overwrite, max_off_heap=max_off_heap)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        report.seconds = time.perf_counter() - started
    return report
