"""The front door: one session over one graph store.

>>> import topograph
>>> with topograph.connect("graph.lbdb") as tg:            # doctest: +SKIP
...     tg.ingest("examples/topo-sample")
...     tg.analyze(workers=2)
...     df = tg.query("run_similarity", epoch=190).to_pandas()
...     distances = tg.table("distances")                  # a pyarrow.Table

Everything the ``topograph`` command does with a store is a method here (the
CLI calls exactly these). The store is opened when first needed, read-only
for reads (several processes may read an embedded file at once) and
read-write for writes, and stays open until :meth:`Session.close` (or the
``with`` block ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa

from topograph.errors import InputError
from topograph.pipeline.analyze import AnalysisPlan, AnalysisReport, default_plan
from topograph.pipeline.ingest import DEFAULT_BATCH_EDGES, IngestReport
from topograph.pipeline.record import Recorder
from topograph.stores import (
    CheckReport,
    GraphStore,
    QueryResult,
    StoreStatus,
    has_password,
    open_store,
    resolve_uri,
)

if TYPE_CHECKING:  # imported only when used: start-up stays light
    from topograph.pipeline.accuracy_study import AccuracyGrid, AccuracyStudy
    from topograph.pipeline.bulk import BulkIngestReport
    from topograph.pipeline.figures import FigureOptions
    from topograph.pipeline.generate import Format, GenerateReport, GenerateSpec
    from topograph.pipeline.report import ReportOptions, ReportResult
    from topograph.pipeline.tickets import TicketSummary

__all__ = ["ExportReport", "GenerateResult", "Session", "connect", "has_password"]


@dataclass(frozen=True)
class ExportReport:
    """What :meth:`Session.export` wrote: the table, its rows, where, and whether partitioned."""

    table: str
    rows: int
    path: Path
    partitioned: bool


@dataclass(frozen=True)
class GenerateResult:
    """What :meth:`Session.generate` did: the checkpoints written, and the ingest of them."""

    written: GenerateReport
    stored: IngestReport


class Session:
    """A connection to one graph store (see :func:`connect`)."""

    def __init__(self, db: str | None = None, read_only: bool = False) -> None:
        self.uri = resolve_uri(db)
        self.read_only = read_only
        self._store: GraphStore | None = None
        self._writable = False
        self._recorder: Recorder | None = None

    # -- lifetime -----------------------------------------------------------
    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Write what :meth:`record` queued, close the store (idempotent).

        The session reopens the store when used again.
        """
        try:
            if self._recorder is not None:
                recorder, self._recorder = self._recorder, None
                recorder.close()
        finally:
            if self._store is not None:
                self._store.close()
                self._store = None

    def __repr__(self) -> str:
        state = "open" if self._store is not None else "not open yet"
        return f"Session({self.describe()}, {state})"

    def describe(self) -> str:
        """Where the store is, safe to print (never a password)."""
        if self._store is not None:
            return self._store.describe()
        from topograph.stores import is_server_uri

        if is_server_uri(self.uri):
            from topograph.stores.neo4j import redact

            return redact(self.uri)
        return self.uri

    def _reader(self) -> GraphStore:
        self.flush()
        if self._store is None:
            self._store = open_store(self.uri, read_only=True)
            self._writable = False
        return self._store

    def _writer(self) -> GraphStore:
        self.flush()
        if self.read_only:
            raise InputError(f"{self.describe()}: this session is read-only")
        if self._store is not None and not self._writable:
            self.close()
        if self._store is None:
            self._store = open_store(self.uri)
            self._writable = True
        return self._store

    # -- the store ----------------------------------------------------------
    def ingest(
        self,
        *paths: str | Path,
        run: str | None = None,
        keep_going: bool = False,
        batch_edges: int = DEFAULT_BATCH_EDGES,
        progress: bool = False,
        pattern: str | None = None,
        mapping: str | Path | None = None,
        follow_links: bool = False,
    ) -> IngestReport:
        """Store every checkpoint found under ``paths`` (files, folders, archives).

        Idempotent by content hash, atomic per checkpoint. ``run`` renames the
        run of a source holding one; ``keep_going`` skips bad checkpoints
        (listed in the report) instead of stopping at the first. ``pattern``:
        a regex with named groups ``run``/``epoch`` over each file's path
        relative to its source; ``mapping``: a TOML file naming the layers
        (see the README's "Input formats"); ``follow_links``: read through
        symbolic links inside a source folder (refused otherwise).
        """
        from topograph.loaders import SourceOptions
        from topograph.pipeline.ingest import ingest

        if not paths:
            raise InputError("ingest needs at least one checkpoint file, folder or archive")
        return ingest(
            self._writer(), paths, run=run, keep_going=keep_going,
            progress=progress, batch_edges=batch_edges,
            source_options=SourceOptions(pattern, mapping, follow_links),
        )  # fmt: skip

    def bulk_ingest(
        self,
        *paths: str | Path,
        run: str | None = None,
        keep_going: bool = False,
        progress: bool = False,
        pattern: str | None = None,
        mapping: str | Path | None = None,
        follow_links: bool = False,
        neo4j_data: str | Path | None = None,
        compose: str | Path | None = None,
        overwrite: bool = False,
        file_format: str = "csv",
        work_dir: str | Path | None = None,
        max_off_heap: str | None = None,
    ) -> BulkIngestReport:
        """Store checkpoints in a *new* Neo4j database with Neo4j's offline importer.

        For archives too big for :meth:`ingest` over Bolt: the same graph,
        written as import files and loaded by ``neo4j-admin database import``
        while the server is stopped; the server is then started, the schema
        created and every count checked (see :mod:`topograph.pipeline.bulk`).
        The session's URI must name the server: the local one of
        ``scripts/neo4j-local/neo4j-local.sh`` (``bolt://127.0.0.1:PORT``; its
        data dir ``neo4j_data``, default the script's) or, with ``compose``,
        the service of that ``docker compose`` file. ``overwrite`` replaces
        the graph of a database that exists (always so for a server that ran
        before): it is lost. Other options as for :meth:`ingest`.
        """
        from topograph.loaders import SourceOptions
        from topograph.pipeline.bulk import bulk_ingest
        from topograph.stores import is_server_uri
        from topograph.stores import neo4j_bulk as nb

        if not paths:
            raise InputError("ingest needs at least one checkpoint file, folder or archive")
        if self.read_only:
            raise InputError(f"{self.describe()}: this session is read-only")
        if not is_server_uri(self.uri):
            raise InputError(
                f"{self.describe()}: --bulk imports into a Neo4j server (--db bolt://...); "
                "the embedded store already loads whole batches at once (plain ingest)"
            )
        if file_format not in ("csv", "parquet"):
            raise InputError(f"import file format must be csv or parquet, not {file_format!r}")
        server: nb.Neo4jServer
        if compose is not None:
            if neo4j_data is not None:
                raise InputError("give either the compose file or the local data dir, not both")
            server = nb.ComposeNeo4j(Path(compose), uri=self.uri)
            where = f"docker compose {compose}"
        else:
            data = Path(neo4j_data) if neo4j_data is not None else None
            local = nb.LocalNeo4j.attach(self.uri, data)
            server, where = local, f"neo4j-local data dir {local.where}"
        self.close()  # the server stops for the import: no connection of ours stays open
        return bulk_ingest(
            server, paths, run=run, keep_going=keep_going, progress=progress,
            source_options=SourceOptions(pattern, mapping, follow_links), overwrite=overwrite,
            file_format=cast("nb.FileFormat", file_format),  # checked above
            work_dir=work_dir, max_off_heap=max_off_heap, where=where,
        )  # fmt: skip

    def analyze(
        self,
        *,
        epochs: list[int] | None = None,
        runs: list[str] | None = None,
        spectral: bool = False,
        align: str = "nnstd",
        matches_across: bool = False,
        force: bool = False,
        workers: int | None = None,
        scheduler: str | None = None,
        progress: bool = False,
        **options: Any,
    ) -> AnalysisReport:
        """Compute measures from the store and write them back as relationships.

        With no selection (no ``epochs``, ``runs`` or ``spectral``) the default
        plan: across runs at every epoch, along every run, spectral
        properties of everything. ``epochs``: every pair of runs at these
        epochs; ``runs``: consecutive epochs of these runs (NEXT, EVOLVES,
        MATCHES) and each against the first; ``spectral``: spectral properties
        of every checkpoint. ``align``: ``nnstd`` (neurons matched: NNSTD) or
        ``none`` (masks compared as labelled: the unaligned distance);
        ``options`` the measure's options (``method="sparse"``). Only missing results are computed
        unless ``force``. ``scheduler``: a Dask scheduler address.
        """
        from topograph import measures
        from topograph.pipeline.analyze import analyze

        spec = measures.by_align(align)
        opts = spec.options(**options)
        store = self._writer()
        if epochs or runs or spectral:
            plan = AnalysisPlan(
                across_epochs=tuple(epochs or ()),
                along_runs=tuple(runs or ()),
                properties=("spectral",) if spectral else (),
                matches_across=matches_across,
                force=force,
                measure=spec.name,
                options=opts,
            )
        else:
            plan = default_plan(
                store, measure=spec.name, options=opts, force=force, matches_across=matches_across
            )
        return analyze(store, self.uri, plan, workers=workers, scheduler=scheduler,
                       progress=progress)  # fmt: skip

    def record(
        self,
        model: Any,
        *,
        run: str,
        epoch: int,
        metrics: dict[str, Any] | None = None,
    ) -> bool:
        """Store the topology (and weights) of ``model`` as checkpoint ``run@epoch``, from memory.

        ``model``: a ``torch.nn.Module``, a state dict (tensors or arrays), or
        a :class:`~topograph.Checkpoint`. Its sparse layers are found as
        :func:`topograph.load` finds them in a file (masks of
        ``torch.nn.utils.prune`` and ``torch.ao.pruning`` included).
        ``metrics``: the accuracy is read from ``accuracy``/``acc``/``test_acc``
        (and like names). The conversion happens now, in the caller's thread
        (before training changes the weights); the write happens in the
        background, so a training loop can call this every epoch. Returns
        False when the same content is stored already; different content under
        the same run and epoch is an :class:`InputError`. :meth:`flush` waits
        for the writes, and every other method (and ``close``) flushes first.
        """
        from topograph.loaders import checkpoint_from_state_dict
        from topograph.model import Checkpoint
        from topograph.pipeline.record import accuracy_from, state_and_masks

        accuracy = accuracy_from(metrics)
        if isinstance(model, Checkpoint):
            ck = model
            if (ck.run, ck.epoch) != (run, int(epoch)) or accuracy is not None:
                ck = Checkpoint(
                    run, int(epoch), ck.layers, ck.biases, ck.source,
                    accuracy if accuracy is not None else ck.accuracy, ck.info,
                )  # fmt: skip
        else:
            state, masks = state_and_masks(model)
            ck = checkpoint_from_state_dict(
                state, run=run, epoch=int(epoch), accuracy=accuracy, masks=masks or None,
                source=f"record({type(model).__name__})",
            )  # fmt: skip
        if self._recorder is None:
            store = self._writer()
            catalog = store.catalog()
            for key, c in catalog.items():
                if not c.complete:
                    store.delete_checkpoint(key)  # debris of an interrupted write
            known = {key: c.hash for key, c in catalog.items() if c.complete}
            self._recorder = Recorder(store, known)
        return self._recorder.submit(ck)

    def flush(self) -> None:
        """Wait until every checkpoint :meth:`record` queued is written."""
        if self._recorder is not None:
            self._recorder.flush()

    def query(self, name: str, **params: Any) -> QueryResult:
        """Run a named query (see :func:`queries`) with its declared parameters, checked first."""
        from topograph.pipeline.queries import run_named

        return run_named(self._reader(), name, params)

    def cypher(self, text: str, /, write: bool = False, **params: Any) -> QueryResult:
        """Run your own Cypher with parameters; read-only unless ``write=True``."""
        store = self._writer() if write else self._reader()
        return store.query(text, params, write=write)

    def table(self, name: str) -> pa.Table:
        """A result table as a ``pyarrow.Table``: ``distances``, ``spectral`` or ``checkpoints``."""
        from topograph.pipeline.tables import table_from_store

        return table_from_store(self._reader(), name)

    def export(self, name: str, path: str | Path, partition: bool | None = None) -> ExportReport:
        """Write table ``name`` to Parquet at ``path`` (partitioned by run when large or asked)."""
        from topograph.pipeline.tables import PARTITION_ROWS, partition_column, write_table

        data = self.table(name)
        split = partition if partition is not None else data.num_rows > PARTITION_ROWS
        write_table(data, Path(path), partition_by=partition_column(name) if split else None)
        return ExportReport(name, data.num_rows, Path(path), split)

    def status(self) -> StoreStatus:
        """Counts per node label and relationship type; runs and their epochs."""
        return self._reader().status()

    def check(self) -> CheckReport:
        """Verify the whole store: every checkpoint read back against its content hash."""
        return self._reader().check()

    # -- figures --------------------------------------------------------------
    def plot_heatmap(
        self,
        out: str | Path,
        epochs: list[int],
        layer: int = 0,
        method: str | None = None,
        options: FigureOptions | None = None,
    ) -> Path:
        """The NNSTD paper's Figure 4 from stored results: runs x runs, one panel per epoch.

        ``options``: how the figure looks (colour map and range, cell values,
        dpi; ``sparse_only`` leaves dense layers out of the mean over 0..layer).
        """
        from topograph.pipeline.figures import FigureOptions
        from topograph.pipeline.plot import check_figure_path, plot_figure4

        opts = options or FigureOptions()
        path = check_figure_path(Path(out))
        exclude = self._dense_layers() if opts.sparse_only else frozenset()
        plot_figure4(self.table("distances"), epochs, layer, path, method, opts, exclude=exclude)
        return path

    def plot_evolution(
        self,
        out: str | Path,
        layer: int | None = None,
        method: str | None = None,
        options: FigureOptions | None = None,
    ) -> Path:
        """NNSTD to the first epoch and test accuracy against epoch, one line per run.

        ``options``: how the figure looks (``bands`` for mean ± spread over
        runs; ``sparse_only`` leaves dense layers out of the network mean).
        """
        from topograph.pipeline.figures import FigureOptions
        from topograph.pipeline.plot import check_figure_path, evolution_curves, plot_evolution

        opts = options or FigureOptions()
        path = check_figure_path(Path(out))
        exclude = self._dense_layers() if opts.sparse_only and layer is None else frozenset()
        curves = evolution_curves(
            self.table("distances"), self.table("checkpoints"), layer, method, exclude=exclude
        )
        if not any(len(c.distances) > 1 for c in curves):
            raise InputError("no distances to the first epoch stored; run analyze first")
        if layer is not None:
            note = f"layer {layer}"
        else:
            note = "mean of sparse layers" if exclude else "mean of layers"
        return plot_evolution(curves, path, layer_note=note, options=opts)

    def _dense_layers(self) -> frozenset[int]:
        from topograph.pipeline.tables import dense_layers

        return dense_layers(self._reader())

    # -- generators, studies, report ----------------------------------------------
    def generate(
        self, spec: GenerateSpec, out: str | Path | None = None, fmt: Format = "reference"
    ) -> GenerateResult:
        """Generate ``spec``'s networks, write them as checkpoints and ingest them here.

        ``out``: the folder to keep the checkpoints in, in format ``fmt``
        (``reference`` layout, or ``npz``/``safetensors``/``pt`` state dicts);
        ``None`` writes them to a temporary folder removed after the ingest.
        """
        import shutil
        import tempfile

        from topograph.pipeline.generate import generate
        from topograph.pipeline.ingest import ingest

        folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="topograph-gen-"))
        try:
            written = generate(spec, folder, fmt)
            stored = ingest(self._writer(), [folder])
        finally:
            if out is None:
                shutil.rmtree(folder, ignore_errors=True)
        return GenerateResult(written, stored)

    def study_accuracy(
        self, grid: AccuracyGrid | None = None, checkpoints: str | Path | None = None
    ) -> AccuracyStudy:
        """Train the accuracy study's networks, record them here, correlate accuracy and spectra.

        See :mod:`topograph.pipeline.accuracy_study` (needs torch and
        scikit-learn). ``checkpoints``: a folder to keep the trained
        checkpoints in (reference layout), else a temporary one.
        """
        from topograph.pipeline.accuracy_study import run_accuracy_study

        return run_accuracy_study(
            self._writer(), grid, Path(checkpoints) if checkpoints is not None else None
        )

    def plot_tickets(
        self,
        out: str | Path,
        min_distance: float | None = None,
        max_accuracy_gap: float | None = None,
        method: str | None = None,
        options: FigureOptions | None = None,
    ) -> TicketSummary:
        """NNSTD against accuracy difference of every same-epoch pair, tickets shaded.

        Thresholds default to those of the named query ``winning_tickets``.
        Returns the counts the figure shows.
        """
        from topograph.pipeline import tickets
        from topograph.pipeline.figures import FigureOptions

        lo = tickets.DEFAULT_MIN_DISTANCE if min_distance is None else min_distance
        gap = tickets.DEFAULT_MAX_ACCURACY_GAP if max_accuracy_gap is None else max_accuracy_gap
        pairs = tickets.all_pairs(self._reader())
        tickets.plot_tickets(pairs, Path(out), lo, gap, method, options or FigureOptions())
        return tickets.summarize(pairs, lo, gap, method)

    def report(self, out: str | Path, options: ReportOptions | None = None) -> ReportResult:
        """One self-contained HTML report of this store (see :mod:`topograph.pipeline.report`)."""
        from topograph.pipeline.report import write_report

        return write_report(self._reader(), Path(out), options)


def connect(db: str | None = None, read_only: bool = False) -> Session:
    """A session over the graph store ``db``.

    ``db``: a ``bolt://``, ``neo4j://`` or ``neo4j+s://`` URI of a Neo4j
    server, or the path of the embedded database file; default
    ``$TOPOGRAPH_DB``, else ``./topograph.lbdb``. Credentials come from the
    URI or ``NEO4J_USER``/``NEO4J_PASSWORD`` and are never printed.
    ``read_only``: refuse every write through this session.
    """
    return Session(db, read_only=read_only)
