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
from typing import Annotated, Any, get_args

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
    from topograph.session import connect
    from topograph.stores import has_password

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
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Save the heatmaps (one panel per epoch, colour range 0..1) to this image (.png/.pdf/.svg)."
        ),
    ] = None,
    progress: Progress = True,
    pattern: PatternOpt = None,
    mapping: MappingOpt = None,
    follow_links: FollowLinksOpt = False,
) -> None:
    """Pairwise NNSTD table: across runs at given epochs, or along one run."""
    from topograph.pipeline.compare import distance_matrix
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
            panels = plot_figure4(m.table, epoch, layer, plot)
            for e, panel in zip(epoch, panels, strict=True):
                _print_matrix(f"epoch {e}, layers 0..{layer}", list(panel.labels), panel.matrix)
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
) -> None:
    """Figure 4 from stored results: NNSTD between every pair of runs, one panel per epoch."""
    with _reported(), _connect(db, read_only=True) as session:
        typer.echo(f"wrote {session.plot_heatmap(out, epoch, layer, method)}")


@plot_app.command("evolution")
def plot_evolution_command(
    out: Figure,
    layer: Annotated[
        int | None, typer.Option(help="Plot this layer's distance instead of the network mean.")
    ] = None,
    method: Annotated[str | None, typer.Option(help=PLOT_METHOD_HELP)] = None,
    db: Db = None,
) -> None:
    """NNSTD to the first epoch and test accuracy against epoch, one line per run."""
    with _reported(), _connect(db, read_only=True) as session:
        typer.echo(f"wrote {session.plot_evolution(out, layer, method)}")


def main() -> None:
    """Console-script entry point."""
    app()
