"""The ``topograph`` command line: a thin layer over the library.

Each command parses its options, calls one library function (a
:class:`~topograph.session.Session` method, or a files-only function of
:mod:`topograph.pipeline.compare`), prints. Errors that topograph raises on
purpose are printed as one line on stderr with exit code 1; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, cast, get_args

import typer

from topograph import __version__
from topograph.errors import InputError, TopographError, one_line
from topograph.types import Method

app = typer.Typer(
    name="topograph",
    help=(
        "Study how the topology of sparse neural networks forms and evolves in training. "
        "The graph workflow: ingest checkpoints into a graph store (embedded by default, or "
        "Neo4j), analyze them (NNSTD, Liu et al. 2020; spectral properties) in parallel, then "
        "query, export and plot the results. nnstd and matrix compare checkpoint files "
        "directly, without a store."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_STATE = {"debug": False}

DB_HELP = (
    "Graph store: bolt://, neo4j://, neo4j+s:// URI of a Neo4j server, or the path of the "
    "embedded database file. Default: $TOPOGRAPH_DB, else ./topograph.lbdb. Credentials come "
    "from the URI or NEO4J_USER/NEO4J_PASSWORD and are never printed."
)
METHOD_HELP = (
    f"NNSTD method ({', '.join(get_args(Method))}). reference: dense assignment, bit-identical "
    "to the published code; sparse: matching on the overlap graph, same optimal cost per layer, "
    "scales to wide layers; large: auction with a proof of optimality, for 16k-64k neurons; "
    "auto: large above 2048 neurons per layer."
)
PLOT_METHOD_HELP = "NNSTD method whose stored results to draw (needed when several are stored)."
ALIGN_HELP = (
    "nnstd: match neurons first (NNSTD; for independently trained runs, whose neuron labels are "
    "arbitrary); none: compare the masks as labelled, 1 - Jaccard and Hamming density per layer "
    "(for networks pruned from the same dense model: lottery tickets, magnitude pruning)."
)
SOURCE_HELP = (
    "a checkpoint file (.pt/.pth/.bin/.ckpt, .safetensors, .keras, .weights.h5/.h5, .npz, "
    "chosen by content), an epoch_<EEE> folder of the reference layout, or a folder or "
    ".zip/.tar/.tar.gz archive of them"
)
PATTERN_HELP = (
    "Regex searched on each checkpoint file's path relative to its source; its named groups "
    "(?P<run>...) and (?P<epoch>...) name the run and the epoch (files it does not match are "
    "left out). Default: epochs from names like epoch=12, ckpt_0012, checkpoint_epoch3; runs "
    "from the folder path."
)
MAPPING_HELP = (
    "TOML file naming the layers of the chain in order (layers = [...]; optional orientation, "
    "flatten), for networks whose layers auto-detection cannot chain (see the README)."
)

Db = Annotated[str | None, typer.Option("--db", help=DB_HELP)]
MethodOpt = Annotated[str | None, typer.Option("--method", help=METHOD_HELP + " Default: auto.")]
AlignOpt = Annotated[str, typer.Option("--align", help=ALIGN_HELP)]
Workers = Annotated[int | None, typer.Option(help="Worker processes (default: every core).")]
Progress = Annotated[bool, typer.Option(help="Show progress bars on stderr.")]
PatternOpt = Annotated[str | None, typer.Option("--pattern", help=PATTERN_HELP)]
MappingOpt = Annotated[Path | None, typer.Option("--mapping", help=MAPPING_HELP)]
FollowLinksOpt = Annotated[
    bool,
    typer.Option(
        "--follow-links",
        help="Read through symbolic links inside a source folder (default: refuse them).",
    ),
]
Figure = Annotated[Path, typer.Option("--out", "-o", help="Image to write (.png/.pdf/.svg).")]
# figure options, shared by every command that draws
CmapOpt = Annotated[
    str,
    typer.Option(
        "--cmap",
        help="Colour map of value scales (perceptually uniform: viridis, cividis (colour-blind safe), magma, plasma).",
    ),
]
VminOpt = Annotated[
    float | None,
    typer.Option("--vmin", help="Fix the low end of the colour range (default: the data's)."),
]
VmaxOpt = Annotated[
    float | None,
    typer.Option("--vmax", help="Fix the high end of the colour range (default: the data's)."),
]
AnnotateOpt = Annotated[bool, typer.Option("--annotate", help="Write each cell's value in it.")]
DpiOpt = Annotated[
    int, typer.Option("--dpi", help="Resolution of PNG output; SVG and PDF are vector.")
]
BandsOpt = Annotated[
    bool,
    typer.Option("--bands", help="Mean over runs with ± 1 s.d. and min-max bands, for many runs."),
]
SparseOnlyOpt = Annotated[
    bool,
    typer.Option(
        "--sparse-only",
        help="Leave dense layers (every position connected, e.g. a 784x10 output layer) out: their NNSTD is always 0 and their spectrum dominates the network's.",
    ),
]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class QueryFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"topograph {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback on errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    _STATE["debug"] = debug
    if not debug:
        # The Neo4j driver logs each retry and each server notification as a
        # warning; the command's own outcome is the one line users get (with
        # --debug, the driver's log shows as before).
        logging.getLogger("neo4j").addHandler(logging.NullHandler())
        logging.getLogger("neo4j").propagate = False


@contextmanager
def _reported() -> Iterator[None]:
    """One line on stderr and exit 1 for topograph's own errors; a closed stdout is no error."""
    try:
        yield
    except TopographError as exc:
        if _STATE["debug"]:
            raise
        typer.echo(f"error: {one_line(str(exc))}", err=True)
        raise typer.Exit(1) from None
    except BrokenPipeError:
        # `topograph query ... | head -1`: the reader has what it wanted.
        # Point stdout at /dev/null so the interpreter's last flush is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None


def _options(align: str, method: str | None) -> dict[str, str]:
    """The measure's options from --align and --method (a method belongs to NNSTD only)."""
    if method is None:
        return {}
    if align != "nnstd":
        raise InputError(f"--method chooses how NNSTD matches neurons; --align {align} has none")
    return {"method": method}


def _sources(pattern: str | None, mapping: Path | None, follow_links: bool) -> Any:
    """The --pattern, --mapping and --follow-links options as one SourceOptions."""
    from topograph import SourceOptions

    return SourceOptions(pattern, mapping, follow_links)


def _connect(db: str | None, read_only: bool = False) -> Any:
    from topograph.session import connect, has_password

    if db is not None and has_password(db):
        # Every user of the machine sees a command line (ps, /proc): say so.
        typer.echo(
            "warning: the password in --db is visible to other users of this machine; "
            "put it in NEO4J_PASSWORD instead",
            err=True,
        )
    return connect(db, read_only=read_only)


# -- files only ---------------------------------------------------------------
@app.command("nnstd")
def nnstd_command(
    a: Annotated[
        Path,
        typer.Argument(
            help=f"Checkpoint A: {SOURCE_HELP} (a source of several: choose with --run-a/--epoch-a)."
        ),
    ],
    b: Annotated[Path, typer.Argument(help="Checkpoint B, like A.")],
    run_a: Annotated[str | None, typer.Option(help="Run of A inside its source.")] = None,
    epoch_a: Annotated[int | None, typer.Option(help="Epoch of A inside its source.")] = None,
    run_b: Annotated[str | None, typer.Option(help="Run of B inside its source.")] = None,
    epoch_b: Annotated[int | None, typer.Option(help="Epoch of B inside its source.")] = None,
    epoch: Annotated[
        int | None, typer.Option(help="Epoch for both A and B, unless set apart.")
    ] = None,
    method: MethodOpt = None,
    align: AlignOpt = "nnstd",
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table or one JSON object.")
    ] = OutputFormat.table,
    pattern: PatternOpt = None,
    mapping: MappingOpt = None,
    follow_links: FollowLinksOpt = False,
) -> None:
    """NNSTD (or, with --align none, the mask distance) between two checkpoints: per layer (0 = same topology, 1 = disjoint) and the mean."""
    from topograph.pipeline.compare import compare_files

    with _reported():
        cmp = compare_files(
            a, b, run_a, epoch_a if epoch_a is not None else epoch,
            run_b, epoch_b if epoch_b is not None else epoch, align=align,
            source_options=_sources(pattern, mapping, follow_links), **_options(align, method),
        )  # fmt: skip
        p, result = cmp.pair, cmp.pair.result
        hamming = getattr(result, "hamming", None)
        if output is OutputFormat.json:
            typer.echo(
                json.dumps(
                    {
                        "a": {"run": p.a.run, "epoch": p.a.epoch},
                        "b": {"run": p.b.run, "epoch": p.b.epoch},
                        "measure": p.measure,
                        "method": result.method,
                        "layers": list(result.layers),
                        "mean": result.mean,
                        "version": result.version,
                        **({"hamming": list(hamming)} if hamming is not None else {}),
                    }
                )
            )
            return
        title = "NNSTD" if p.measure == "nnstd" else "mask distance (1 - Jaccard, unaligned)"
        typer.echo(f"{title} {p.a} -> {p.b}  (method {result.method})")
        extra = "  hamming" if hamming is not None else ""
        typer.echo(f"{'layer':>5}  {'shape':>11}  {'kind':<8}  distance{extra}")
        for k, d in enumerate(result.layers):
            shape = "x".join(map(str, cmp.a.layers[k].shape))
            kind = cmp.a.info[k].kind
            more = f"  {hamming[k]!r}" if hamming is not None else ""
            typer.echo(f"{k:>5}  {shape:>11}  {kind:<8}  {d!r}{more}")
        typer.echo(f"{'mean':>5}  {'':>11}  {'':<8}  {result.mean!r}")


@app.command("matrix")
def matrix_command(
    source: Annotated[
        Path,
        typer.Argument(help=f"Runs to compare: {SOURCE_HELP}."),
    ],
    epoch: Annotated[
        list[int] | None,
        typer.Option(
            "--epoch",
            "-e",
            help="Compare every pair of runs at this epoch (the paper's Figure 4). Repeat for several epochs.",
        ),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(help="Instead: compare the epochs of this one run with each other."),
    ] = None,
    consecutive: Annotated[bool, typer.Option(help="With --run: only consecutive epochs.")] = False,
    layer: Annotated[
        int, typer.Option(help="Layer L shown: mean NNSTD of layers 0..L, as in Figure 4.")
    ] = 0,
    method: MethodOpt = None,
    align: AlignOpt = "nnstd",
    workers: Workers = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the distances (one row per pair and layer) to this Parquet file."),
    ] = None,
    cmap: CmapOpt = "viridis",
    vmin: VminOpt = None,
    vmax: VmaxOpt = None,
    annotate: AnnotateOpt = False,
    dpi: DpiOpt = 150,
    sparse_only: SparseOnlyOpt = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Save the heatmaps (one panel per epoch, one shared colour range) to this image (.png/.pdf/.svg)."
        ),
    ] = None,
    progress: Progress = True,
    pattern: PatternOpt = None,
    mapping: MappingOpt = None,
    follow_links: FollowLinksOpt = False,
) -> None:
    """Pairwise NNSTD table: across runs at given epochs, or along one run."""
    from topograph.pipeline.compare import distance_matrix
    from topograph.pipeline.figures import layer_title
    from topograph.pipeline.plot import check_figure_path, plot_figure4
    from topograph.pipeline.tables import write_table

    with _reported():
        if plot is not None:
            if epoch is None:
                raise InputError("--plot draws the across-run heatmap: use it with --epoch")
            check_figure_path(plot)
        m = distance_matrix(
            source, epochs=epoch, run=run, consecutive=consecutive, layer=layer, align=align,
            workers=workers, progress=progress, source_options=_sources(pattern, mapping, follow_links),
            **_options(align, method),
        )  # fmt: skip
        if out is not None:
            write_table(m.table, out)
        typer.echo(
            f"{len(m.pairs)} pairs x {m.n_layers} layers in {m.seconds:.2f} s "
            f"(method {m.pairs[0].result.method})"
        )
        if epoch is not None:
            # files first: a closed stdout must not cost the figure
            fig = _figure_options(cmap, vmin, vmax, annotate, dpi, sparse_only=sparse_only)
            exclude = m.dense_layers if sparse_only else frozenset()
            panels = plot_figure4(m.table, epoch, layer, plot, options=fig, exclude=exclude)
            what = layer_title(layer, tuple(exclude)).replace("mean of layers", "layers")
            for e, panel in zip(epoch, panels, strict=True):
                _print_matrix(f"epoch {e}, {what}", list(panel.labels), panel.matrix)
        else:
            for p in m.pairs:
                typer.echo(f"{p.a} -> {p.b}: {p.result.cumulative(layer):.4f}")
        if out is not None:
            typer.echo(f"wrote {out}")
        if plot is not None:
            typer.echo(f"wrote {plot}")


def _print_matrix(title: str, runs: list[str], matrix: Any) -> None:
    from topograph.pipeline.plot import short_labels

    labels = short_labels(runs)
    width = max(6, *(len(s) for s in labels))
    typer.echo(f"NNSTD {title}")
    typer.echo(" " * width + " " + " ".join(f"{s:>{width}}" for s in labels))
    for label, row in zip(labels, matrix, strict=True):
        typer.echo(f"{label:>{width}} " + " ".join(f"{v:>{width}.3f}" for v in row))


@app.command("inspect")
def inspect_command(
    paths: Annotated[
        list[Path], typer.Argument(help=f"What to inspect, any number: each {SOURCE_HELP}.")
    ],
    run: Annotated[str | None, typer.Option(help="Only this run.")] = None,
    epoch: Annotated[int | None, typer.Option(help="Only this epoch.")] = None,
    pattern: PatternOpt = None,
    mapping: MappingOpt = None,
    follow_links: FollowLinksOpt = False,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table, or one JSON object per checkpoint.")
    ] = OutputFormat.table,
) -> None:
    """What the loaders find in each checkpoint: format, run and epoch, every layer (name, kind, shape, orientation, nnz, density, topology from a mask or from zeros) and what was skipped and why."""
    from topograph import inspect

    with _reported():
        for path in paths:
            for found in inspect(
                path,
                run=run,
                epoch=epoch,
                pattern=pattern,
                mapping=mapping,
                follow_links=follow_links,
            ):
                if output is OutputFormat.json:
                    typer.echo(json.dumps(found.to_dict()))
                else:
                    typer.echo(found.to_text() + "\n")


# -- the graph workflow ---------------------------------------------------------
@app.command("ingest")
def ingest_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help=f"What to store, any number: each {SOURCE_HELP}."),
    ],
    run: Annotated[
        str | None,
        typer.Option(
            help="Store the checkpoints under this run name (a source must hold a single run)."
        ),
    ] = None,
    db: Db = None,
    keep_going: Annotated[
        bool, typer.Option(help="Skip a bad checkpoint (reported) instead of stopping.")
    ] = False,
    batch_edges: Annotated[int, typer.Option(help="Edges buffered per bulk write.")] = 2_000_000,
    progress: Progress = True,
    pattern: PatternOpt = None,
    mapping: MappingOpt = None,
    follow_links: FollowLinksOpt = False,
    bulk: Annotated[
        bool,
        typer.Option(
            "--bulk",
            help="Neo4j only: write import files and load them with Neo4j's offline importer (neo4j-admin database import) into a NEW database, then check every count. For big archives; the server is stopped meanwhile.",
        ),
    ] = False,
    neo4j_data: Annotated[
        Path | None,
        typer.Option(
            help="With --bulk: data dir of the local server (scripts/neo4j-local; default $NEO4J_DATA_DIR, else the script's).",
        ),
    ] = None,
    compose: Annotated[
        Path | None,
        typer.Option(
            help="With --bulk: the server is the neo4j service of this docker compose file (docker/compose.yml).",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            help="With --bulk: replace the graph of the existing database (it is lost). A server that ever ran has one.",
        ),
    ] = False,
    import_format: Annotated[
        str, typer.Option(help="With --bulk: import files as csv or parquet.")
    ] = "csv",
    work_dir: Annotated[
        Path | None,
        typer.Option(
            help="With --bulk: where the import files go (removed after; default: the temporary folder)."
        ),
    ] = None,
) -> None:
    """Store checkpoints as graphs: neurons are nodes, non-zero weights CONNECTS edges.

    Idempotent (a checkpoint stored with the same content hash is skipped) and
    atomic per checkpoint; after an interruption, run the same command again.
    With --bulk (Neo4j): a new database through Neo4j's offline importer.
    """
    if bulk:
        return _bulk_ingest(
            paths, run, db, keep_going, progress, pattern, mapping, follow_links, neo4j_data,
            compose, overwrite, import_format, work_dir,
        )  # fmt: skip
    with _reported():
        given = [n for n, v in (("--neo4j-data", neo4j_data), ("--compose", compose),
                                ("--overwrite", overwrite), ("--work-dir", work_dir)) if v]  # fmt: skip
        if given or import_format != "csv":
            raise InputError(f"{', '.join(given) or '--import-format'} needs --bulk")
    with _reported(), _connect(db) as session:
        report = session.ingest(
            *paths, run=run, keep_going=keep_going, batch_edges=batch_edges, progress=progress,
            pattern=pattern, mapping=mapping, follow_links=follow_links,
        )  # fmt: skip
        for ident, message in report.failed:
            typer.echo(f"skipped bad checkpoint {ident}: {message}", err=True)
        typer.echo(
            f"{session.describe()}: {len(report.stored)} checkpoints stored, "
            f"{len(report.skipped)} already there"
            f"{f', {len(report.repaired)} repaired' if report.repaired else ''}"
            f"{f', {len(report.failed)} failed' if report.failed else ''}; "
            f"{report.neurons} neurons, {report.edges} edges in {report.seconds:.2f} s "
            f"({report.edges_per_second:,.0f} edges/s)"
        )
        if report.failed:
            raise typer.Exit(1)


def _bulk_ingest(
    paths: list[Path],
    run: str | None,
    db: str | None,
    keep_going: bool,
    progress: bool,
    pattern: str | None,
    mapping: Path | None,
    follow_links: bool,
    neo4j_data: Path | None,
    compose: Path | None,
    overwrite: bool,
    import_format: str,
    work_dir: Path | None,
) -> None:
    """``ingest --bulk``: one call of :meth:`Session.bulk_ingest`, then its report."""
    with _reported(), _connect(db) as session:
        report = session.bulk_ingest(
            *paths, run=run, keep_going=keep_going, progress=progress, pattern=pattern,
            mapping=mapping, follow_links=follow_links, neo4j_data=neo4j_data, compose=compose, overwrite=overwrite,
            file_format=import_format, work_dir=work_dir,
        )  # fmt: skip
        for ident, message in report.failed:
            typer.echo(f"skipped bad checkpoint {ident}: {message}", err=True)
        load = report.load
        assert load is not None
        counts = ", ".join(f"{n:,} {kind}" for kind, n in report.counts.items())
        typer.echo(
            f"{session.describe()}: {len(report.stored)} checkpoints imported into a new database "
            f"({report.where})"
            f"{f', {len(report.skipped)} duplicates' if report.skipped else ''}"
            f"{f', {len(report.failed)} failed' if report.failed else ''}; "
            f"{report.edges:,} edges in {report.seconds:.1f} s "
            f"({report.edges_per_second:,.0f} edges/s: read and write files "
            f"{report.read_seconds:.1f} s, importer {load.import_seconds:.1f} s, restart "
            f"{load.start_seconds:.1f} s, schema {load.schema_seconds:.1f} s)"
        )
        typer.echo(f"  counts verified: {counts}")
        if report.failed:
            raise typer.Exit(1)


@app.command("analyze")
def analyze_command(
    db: Db = None,
    epoch: Annotated[
        list[int] | None,
        typer.Option(
            "--epoch", "-e", help="Across runs: every pair of runs at this epoch. Repeatable."
        ),
    ] = None,
    run: Annotated[
        list[str] | None,
        typer.Option(
            "--run",
            "-r",
            help="Along this run: consecutive epochs (NEXT, EVOLVES, MATCHES) and each epoch against the first. Repeatable.",
        ),
    ] = None,
    spectral: Annotated[
        bool, typer.Option("--spectral", help="Spectral properties of every layer and network.")
    ] = False,
    matches_across: Annotated[
        bool, typer.Option(help="Also store MATCHES for the across-run pairs.")
    ] = False,
    method: MethodOpt = None,
    align: AlignOpt = "nnstd",
    workers: Workers = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Run on a Dask cluster instead: its scheduler address, tcp://host:port."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Recompute results already stored (they are replaced).")
    ] = False,
    progress: Progress = True,
) -> None:
    """Compute NNSTD and spectral properties from the store and write them back as relationships.

    With no selection, the default plan: across runs at every epoch, along every
    run, spectral properties of everything. Only missing results are computed.
    """
    with _reported(), _connect(db) as session:
        report = session.analyze(
            epochs=epoch, runs=run, spectral=spectral, align=align,
            matches_across=matches_across, force=force, workers=workers, scheduler=scheduler,
            progress=progress, **_options(align, method),
        )  # fmt: skip
        typer.echo(f"{session.describe()}: analysis done")
        for stage, seconds in report.stage_seconds.items():
            typer.echo(
                f"  {stage:<12} {report.computed.get(stage, 0):>5} computed "
                f"{report.skipped.get(stage, 0):>5} already stored {seconds:8.2f} s"
            )
        total = sum(report.stage_seconds.values())
        typer.echo(
            f"  {'total':<12} {sum(report.computed.values()):>5} computed "
            f"{sum(report.skipped.values()):>5} already stored {total:8.2f} s"
        )


db_app = typer.Typer(help="Inspect the graph store.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("status")
def db_status_command(
    db: Db = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table or JSON.")
    ] = OutputFormat.table,
) -> None:
    """Counts per node label and relationship type; runs and their epochs."""
    with _reported(), _connect(db, read_only=True) as session:
        status = session.status()
        where = session.describe()
        if output is OutputFormat.json:
            typer.echo(
                json.dumps(
                    {
                        "db": where,
                        "counts": status.counts,
                        "runs": status.runs,
                        "incomplete": status.incomplete,
                    }
                )
            )
            return
        typer.echo(f"store: {where}")
        for kind, n in status.counts.items():
            typer.echo(f"  {kind:<16} {n:>12,}")
        typer.echo(f"runs: {len(status.runs)}")
        for run_name, epochs in status.runs.items():
            typer.echo(f"  {run_name}: epochs {', '.join(map(str, epochs))}")
        if status.incomplete:
            typer.echo(f"incomplete (re-run ingest): {', '.join(status.incomplete)}")


@db_app.command("check")
def db_check_command(db: Db = None) -> None:
    """Verify the whole store: every checkpoint read back against its content hash.

    Names each damaged checkpoint (and counts or duplicated results that
    disagree) and exits 1; exits 0 when the store is intact.
    """
    with _reported(), _connect(db, read_only=True) as session:
        report = session.check()
        typer.echo(f"store: {report.where}")
        typer.echo(f"  {report.checked} checkpoints verified against their content hash")
        if report.incomplete:
            typer.echo(f"  incomplete (re-run ingest): {', '.join(report.incomplete)}")
        for note in report.notes:
            typer.echo(f"  note: {note}")
        for what, why in report.damaged:
            typer.echo(f"  damaged: {what}: {why}")
        if not report.ok:
            typer.echo(
                f"error: {report.where}: {len(report.damaged)} damaged "
                f"({', '.join(w for w, _ in report.damaged[:5])}"
                f"{', ...' if len(report.damaged) > 5 else ''})",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo("  intact")


def _parse_params(items: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise InputError(f"--param expects NAME=VALUE, got {item!r}")
        params[name] = raw
    return params


def _json_values(params: dict[str, str]) -> dict[str, object]:
    """Values of ad-hoc Cypher parameters: JSON where it parses (3, 0.5, [1,2], true), else text."""
    out: dict[str, object] = {}
    for name, raw in params.items():
        try:
            out[name] = json.loads(raw)
        except json.JSONDecodeError:
            out[name] = raw
    return out


@app.command("query", context_settings={"help_option_names": []})
def query_command(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="A named query from cypher/queries (see --list).")
    ] = None,
    cypher_text: Annotated[
        str | None, typer.Option("--cypher", help="Cypher text to run instead of a named query.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Query parameter NAME=VALUE, repeatable. A named query checks each against its declaration (topograph query NAME --help); for --cypher, JSON values (3, 0.5, [1,2], true), else text.",
        ),
    ] = None,
    db: Db = None,
    write: Annotated[
        bool, typer.Option("--write", help="Allow the query to change the store.")
    ] = False,
    output: Annotated[
        QueryFormat, typer.Option("--format", help="table, json (one object per row) or csv.")
    ] = QueryFormat.table,
    list_queries: Annotated[
        bool, typer.Option("--list", help="List the named queries and their parameters.")
    ] = False,
    show_help: Annotated[
        bool,
        typer.Option(
            "--help", "-h", help="Show this message, or with NAME that query's parameters."
        ),
    ] = False,
) -> None:
    """Run a named query or your own Cypher against the store and print the rows (read-only unless --write)."""
    from topograph.pipeline.queries import named_queries, named_query

    with _reported():
        if show_help:
            typer.echo(named_query(name).help() if name else ctx.get_help())
            return
        if list_queries:
            for q in named_queries():
                typer.echo(f"{q.name:<22} {q.summary}")
                for p in q.params:
                    typer.echo(f"{'':<24}-p {p.describe()}")
            return
        if (name is None) == (cypher_text is None):
            raise InputError("give a query NAME or --cypher TEXT (see --list)")
        params = _parse_params(param or [])
        with _connect(db) as session:
            if name is not None:
                if write:
                    raise InputError("named queries only read; --write is for --cypher")
                result = session.query(name, **params)
            else:
                result = session.cypher(str(cypher_text), write=write, **_json_values(params))
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        _print_rows(result.columns, result.rows, output)


def _print_rows(columns: list[str], rows: list[tuple[object, ...]], output: QueryFormat) -> None:
    if output is QueryFormat.json:
        for r in rows:
            typer.echo(json.dumps(dict(zip(columns, r, strict=True)), default=str))
        return
    if output is QueryFormat.csv:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        typer.echo(buf.getvalue(), nl=False)
        return
    cells: list[list[str]] = [[_cell(v) for v in r] for r in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for line in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
    typer.echo(f"({len(rows)} rows)")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    return "null" if value is None else str(value)


@app.command("export")
def export_command(
    table: Annotated[
        str,
        typer.Argument(
            help="Result table: distances (NNSTD, one row per pair and layer), spectral (per layer and network) or checkpoints."
        ),
    ],
    out: Annotated[Path, typer.Argument(help="Parquet file to write (a folder when partitioned).")],
    db: Db = None,
    partition: Annotated[
        bool | None,
        typer.Option(
            "--partition/--no-partition",
            help="Partition by run (default: when over a million rows).",
        ),
    ] = None,
) -> None:
    """Write a stored result table to Parquet, with its typed, documented schema."""
    with _reported(), _connect(db, read_only=True) as session:
        report = session.export(table, out, partition=partition)
        typer.echo(
            f"wrote {report.rows} rows of {report.table} to {report.path}"
            f"{' (partitioned by run)' if report.partitioned else ''}"
        )


plot_app = typer.Typer(help="Figures from stored results.", no_args_is_help=True)
app.add_typer(plot_app, name="plot")


@plot_app.command("heatmap")
def plot_heatmap_command(
    out: Figure,
    epoch: Annotated[
        list[int], typer.Option("--epoch", "-e", help="Epoch of a panel. Repeatable.")
    ],
    layer: Annotated[
        int, typer.Option(help="Layer L: mean NNSTD of layers 0..L, as in Figure 4.")
    ] = 0,
    method: Annotated[str | None, typer.Option(help=PLOT_METHOD_HELP)] = None,
    db: Db = None,
    cmap: CmapOpt = "viridis",
    vmin: VminOpt = None,
    vmax: VmaxOpt = None,
    annotate: AnnotateOpt = False,
    dpi: DpiOpt = 150,
    sparse_only: SparseOnlyOpt = False,
) -> None:
    """Figure 4 from stored results: NNSTD between every pair of runs, one panel per epoch."""
    with _reported(), _connect(db, read_only=True) as session:
        fig = _figure_options(cmap, vmin, vmax, annotate, dpi, sparse_only=sparse_only)
        typer.echo(f"wrote {session.plot_heatmap(out, epoch, layer, method, fig)}")


@plot_app.command("evolution")
def plot_evolution_command(
    out: Figure,
    layer: Annotated[
        int | None, typer.Option(help="Plot this layer's distance instead of the network mean.")
    ] = None,
    method: Annotated[str | None, typer.Option(help=PLOT_METHOD_HELP)] = None,
    db: Db = None,
    dpi: DpiOpt = 150,
    bands: BandsOpt = False,
    sparse_only: SparseOnlyOpt = False,
) -> None:
    """NNSTD to the first epoch and test accuracy against epoch, one line per run."""
    with _reported(), _connect(db, read_only=True) as session:
        fig = _figure_options(dpi=dpi, bands=bands, sparse_only=sparse_only)
        typer.echo(f"wrote {session.plot_evolution(out, layer, method, fig)}")


# -- figure options ----------------------------------------------------------------
def _figure_options(
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: bool = False,
    dpi: int = 150,
    bands: bool = False,
    sparse_only: bool = False,
) -> Any:
    """The figure options as the one FigureOptions the library takes."""
    from topograph.pipeline.figures import FigureOptions

    return FigureOptions(cmap, vmin, vmax, annotate, dpi, bands, sparse_only)


# -- generators -----------------------------------------------------------------
def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(w) for w in text.replace("x", ",").split(",") if w.strip())
    except ValueError:
        raise InputError(f"--widths expects integers like 784,784,10, got {text!r}") from None


@app.command("generate")
def generate_command(
    construction: Annotated[
        str,
        typer.Argument(
            help="erdos_renyi, left_regular, biregular, regular, fibonacci (one per layer), or figure4 (the NNSTD paper's start networks: ER at 0.6%, each next one with 1% of its connections moved)."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write the checkpoints to (reference: <run>/epoch_<EEE>/weight_l<K>.npz; else <run>/epoch_<EEE>.<format>).",
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="reference (NNSTD layout, sparse), or one state-dict file per checkpoint: npz, safetensors, pt (dense weights with zeros, as PyTorch saves them).",
        ),
    ] = "reference",
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Also ingest them into this store (a temporary folder is used without --out). "
            + DB_HELP,
        ),
    ] = None,
    widths: Annotated[
        str, typer.Option(help="Neurons per position, n_0,n_1,...,n_L.")
    ] = "784,784,784,784,10",
    degree: Annotated[
        int | None, typer.Option(help="Outputs per input neuron (density = degree / n_out).")
    ] = None,
    density: Annotated[
        float | None, typer.Option(help="Fraction of positions connected (erdos_renyi, figure4).")
    ] = None,
    epsilon: Annotated[
        float | None,
        typer.Option(help="SET's rule: density epsilon(n_in + n_out)/(n_in n_out) (erdos_renyi)."),
    ] = None,
    dense_last: Annotated[
        bool, typer.Option("--dense-last", help="A dense output layer, as SET keeps it.")
    ] = False,
    runs: Annotated[int, typer.Option(help="How many networks (runs PREFIX_w0 ..).")] = 1,
    epochs: Annotated[
        int, typer.Option(help="SET evolution steps after epoch 0, a checkpoint each.")
    ] = 0,
    zeta: Annotated[
        float, typer.Option(help="Fraction of connections SET replaces per step.")
    ] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same networks.")] = 0,
    prefix: Annotated[
        str | None, typer.Option(help="Run name prefix (default CONSTRUCTION_s<seed>).")
    ] = None,
) -> None:
    """Generate networks from a topology construction, deterministic from a seed, as checkpoints."""
    from topograph.pipeline.generate import FORMATS, Format, GenerateSpec, generate

    with _reported():
        if out is None and db is None:
            raise InputError("say where the networks go: --out FOLDER and/or --db STORE")
        spec = GenerateSpec(
            construction, _widths(widths), degree=degree, density=density, epsilon=epsilon,
            dense_last=dense_last, runs=runs, epochs=epochs, zeta=zeta, seed=seed, prefix=prefix,
        )  # fmt: skip
        if fmt not in FORMATS:
            raise InputError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
        checked_fmt = cast("Format", fmt)
        if db is None:
            assert out is not None
            written = generate(spec, out, checked_fmt)
        else:
            with _connect(db) as session:
                result = session.generate(spec, out, checked_fmt)
                written = result.written
                stored = result.stored
                typer.echo(
                    f"{session.describe()}: {len(stored.stored)} checkpoints stored, "
                    f"{len(stored.skipped)} already there"
                )
        typer.echo(
            f"generated {len(written.keys)} checkpoints ({written.edges:,} edges) of "
            f"{len({k.run for k in written.keys})} runs in {written.seconds:.2f} s"
            + (f"; wrote {out}" if out is not None else "")
        )


# -- studies --------------------------------------------------------------------
study_app = typer.Typer(
    help="Studies of the topology constructions (Bourely et al. 2017).", no_args_is_help=True
)
app.add_typer(study_app, name="study")


@study_app.command("spectra")
def study_spectra_command(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the table (one row per layer) to Parquet."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Draw the study to this image (.png/.pdf/.svg).")
    ] = None,
    replicates: Annotated[int, typer.Option(help="Layers per cell of the random families.")] = 3,
    seed: Annotated[int, typer.Option(help="Parent seed of every cell's.")] = 0,
    cmap: CmapOpt = "viridis",
    dpi: DpiOpt = 150,
) -> None:
    """Spectral properties of every construction over a grid of widths and degrees (about 15-30 s)."""
    import time

    from topograph.pipeline.study import StudyGrid, plot_study, run_study
    from topograph.pipeline.tables import write_table

    with _reported():
        fig = _figure_options(cmap, dpi=dpi)
        if plot is not None:
            from topograph.pipeline.figures import check_figure_path

            check_figure_path(plot)
        started = time.perf_counter()
        grid = StudyGrid(replicates=replicates, seed=seed)
        table = run_study(grid)
        typer.echo(
            f"spectral study: {table.num_rows} layers of {len(grid.constructions)} constructions "
            f"in {time.perf_counter() - started:.1f} s"
        )
        _print_study_summary(table)
        if out is not None:
            write_table(table, out)
            typer.echo(f"wrote {out}")
        if plot is not None:
            typer.echo(f"wrote {plot_study(table, plot, options=fig)}")


def _print_study_summary(table: Any) -> None:
    """Per construction and degree on the square 256 layer: mean λ2(L) of the LCC and gap."""
    rows = [r for r in table.to_pylist() if (r["n_in"], r["n_out"]) == (256, 256)]
    if not rows:
        return
    typer.echo("256 x 256 layers, mean over replicates: lcc λ2(L) / spectral gap")
    degrees = sorted({r["degree"] for r in rows})
    typer.echo(f"{'construction':<14}" + "".join(f"{f'd={d}':>14}" for d in degrees))
    for name in dict.fromkeys(r["construction"] for r in rows):
        cells = []
        for d in degrees:
            mine = [r for r in rows if r["construction"] == name and r["degree"] == d]
            if not mine:
                cells.append(f"{'-':>14}")
                continue
            lam = sum(r["lcc_algebraic_connectivity"] for r in mine) / len(mine)
            gap = sum(r["spectral_gap"] for r in mine) / len(mine)
            cells.append(f"{lam:>7.3f}/{gap:<6.2f}")
        typer.echo(f"{name:<14}" + "".join(cells))


@study_app.command("accuracy")
def study_accuracy_command(
    db: Db = None,
    hidden: Annotated[int, typer.Option(help="Hidden neurons H of the 64-H-10 network.")] = 128,
    degree: Annotated[
        list[int] | None,
        typer.Option(
            "--degree",
            help="Outputs per input neuron of the hidden layer. Repeatable. Default: 2 4 8 16.",
        ),
    ] = None,
    construction: Annotated[
        list[str] | None,
        typer.Option("--construction", help="Hidden-layer family. Repeatable. Default: all five."),
    ] = None,
    replicates: Annotated[int, typer.Option(help="Networks per family and degree.")] = 3,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 20,
    seed: Annotated[int, typer.Option(help="Parent seed of every network's.")] = 0,
    threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 1,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the per-network table to Parquet."),
    ] = None,
    correlations: Annotated[
        Path | None, typer.Option(help="Write the correlation table to Parquet.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Scatter of accuracy against each property (.png/.pdf/.svg)."),
    ] = None,
    checkpoints: Annotated[
        Path | None,
        typer.Option(help="Keep the trained checkpoints in this folder (reference layout)."),
    ] = None,
    dpi: DpiOpt = 150,
) -> None:
    """Train 64-H-10 networks on digits with each construction as the hidden layer (mask fixed),
    record them in the store, and rank-correlate accuracy with the layer's spectral properties."""
    from topograph.pipeline.accuracy_study import AccuracyGrid, plot_accuracy_study
    from topograph.pipeline.tables import write_table

    with _reported():
        fig = _figure_options(dpi=dpi)
        if plot is not None:
            from topograph.pipeline.figures import check_figure_path

            check_figure_path(plot)
        kwargs: dict[str, Any] = {}
        if degree:
            kwargs["degrees"] = tuple(degree)
        if construction:
            kwargs["constructions"] = tuple(construction)
        grid = AccuracyGrid(
            hidden=hidden, replicates=replicates, epochs=epochs, seed=seed, threads=threads,
            **kwargs,
        )  # fmt: skip
        with _connect(db) as session:
            study = session.study_accuracy(grid, checkpoints)
            where = session.describe()
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in study.stage_seconds.items())
        typer.echo(
            f"{where}: {study.trained} networks of 64-{hidden}-10 trained for {epochs} epochs "
            f"({study.reused} checkpoints already stored); {stages}"
        )
        _print_accuracy_means(study.table)
        typer.echo("Spearman rank correlation of test accuracy with:")
        _print_rows(
            study.correlations.column_names,
            [
                (
                    r["scope"],
                    r["metric"],
                    r["n"],
                    _fixed(r["rho"], "+.3f"),
                    _fixed(r["p_value"], ".2g"),
                )
                for r in study.correlations.to_pylist()
            ],
            QueryFormat.table,
        )
        if out is not None:
            write_table(study.table, out)
            typer.echo(f"wrote {out}")
        if correlations is not None:
            write_table(study.correlations, correlations)
            typer.echo(f"wrote {correlations}")
        if plot is not None:
            typer.echo(f"wrote {plot_accuracy_study(study.table, plot, options=fig)}")


def _fixed(value: float, spec: str) -> str:
    """A rounded number for a printed table; NaN (rho undefined: a constant side) as n/a."""
    return "n/a" if value != value else format(value, spec)


def _print_accuracy_means(table: Any) -> None:
    rows = table.to_pylist()
    degrees = sorted({r["degree"] for r in rows})
    typer.echo("mean test accuracy (fraction correct) per hidden-layer family and degree:")
    typer.echo(f"{'construction':<14}" + "".join(f"{f'd={d}':>9}" for d in degrees))
    for name in dict.fromkeys(r["construction"] for r in rows):
        cells = []
        for d in degrees:
            accs = [r["accuracy"] for r in rows if r["construction"] == name and r["degree"] == d]
            cells.append(f"{sum(accs) / len(accs):>9.4f}" if accs else f"{'-':>9}")
        typer.echo(f"{name:<14}" + "".join(cells))


# -- winning tickets and the report ---------------------------------------------------
@plot_app.command("tickets")
def plot_tickets_command(
    out: Figure,
    min_distance: Annotated[
        float | None,
        typer.Option(help="NNSTD from which two topologies count as different (default 0.3)."),
    ] = None,
    max_accuracy_gap: Annotated[
        float | None,
        typer.Option(
            help="Accuracy difference up to which two networks count as equal (default 0.01)."
        ),
    ] = None,
    method: Annotated[str | None, typer.Option(help=PLOT_METHOD_HELP)] = None,
    db: Db = None,
    cmap: CmapOpt = "viridis",
    dpi: DpiOpt = 150,
) -> None:
    """Plenty of winning tickets: NNSTD against accuracy difference of every same-epoch pair."""
    with _reported(), _connect(db, read_only=True) as session:
        summary = session.plot_tickets(
            out, min_distance, max_accuracy_gap, method, _figure_options(cmap, dpi=dpi)
        )
        typer.echo(summary.describe())
        typer.echo(f"wrote {out}")


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")],
    sources: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Folders or archives of checkpoints to report instead of a store: ingested and analyzed in a temporary embedded store first."
        ),
    ] = None,
    db: Db = None,
    epoch: Annotated[
        list[int] | None,
        typer.Option(
            "--epoch", "-e", help="Figure-4 panel epoch. Repeatable. Default: up to six, spread."
        ),
    ] = None,
    layer: Annotated[
        int, typer.Option(help="Figure 4's layer L (mean of layers 0..L when L > 0).")
    ] = 0,
    method: Annotated[str | None, typer.Option(help=PLOT_METHOD_HELP)] = None,
    min_distance: Annotated[
        float, typer.Option(help="Winning tickets: smallest NNSTD of a pair.")
    ] = 0.3,
    max_accuracy_gap: Annotated[
        float, typer.Option(help="Winning tickets: largest accuracy difference.")
    ] = 0.01,
    png: Annotated[
        bool, typer.Option("--png", help="Embed PNG images instead of inline SVG.")
    ] = False,
    title: Annotated[str, typer.Option(help="The page's title.")] = "topograph report",
    workers: Workers = None,
    cmap: CmapOpt = "viridis",
    vmin: VminOpt = None,
    vmax: VmaxOpt = None,
    annotate: AnnotateOpt = False,
    dpi: DpiOpt = 150,
    bands: BandsOpt = False,
    sparse_only: SparseOnlyOpt = False,
    progress: Progress = True,
) -> None:
    """One self-contained HTML report (figures inline, no network needed) of a store or of checkpoint folders/archives."""
    from topograph.pipeline.report import ReportOptions, check_report_path, report_sources

    with _reported():
        check_report_path(out)
        options = ReportOptions(
            epochs=tuple(epoch) if epoch else None, layer=layer, method=method,
            min_distance=min_distance, max_accuracy_gap=max_accuracy_gap,
            image_format="png" if png else "svg", title=title,
            figures=_figure_options(cmap, vmin, vmax, annotate, dpi, bands, sparse_only),
        )  # fmt: skip
        if sources:
            if db is not None:
                raise InputError("give a store (--db) or folders/archives to report, not both")
            result = report_sources(sources, out, options, workers=workers, progress=progress)
        else:
            with _connect(db, read_only=True) as session:
                result = session.report(out, options)
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(
            f"wrote {result.path} ({result.bytes / 1e6:.1f} MB, sections: "
            f"{', '.join(result.sections)}) in {result.seconds:.1f} s"
        )


def main() -> None:
    """Console-script entry point."""
    app()
