"""The ``topograph`` command line: a thin layer over the library.

Each command parses its options, calls one library function, prints. Errors
that topograph raises on purpose are printed as one line on stderr with a
non-zero exit; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from topograph.distances.nnstd import NNSTDOptions, nnstd
from topograph.errors import InputError, TopographError
from topograph.loaders import open_source
from topograph.model import CheckpointKey

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


class MethodChoice(StrEnum):
    reference = "reference"
    sparse = "sparse"
    auto = "auto"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback on errors.")
    ] = False,
) -> None:
    _STATE["debug"] = debug


@contextmanager
def _reported() -> Iterator[None]:
    """Turn topograph's own errors into one line on stderr and exit code 1."""
    try:
        yield
    except TopographError as exc:
        if _STATE["debug"]:
            raise
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


METHOD_HELP = (
    "reference: dense assignment, bit-identical to the published code; "
    "sparse: matching on the overlap graph, same optimal cost per layer, scales to wide "
    "layers; auto: sparse above 2048 neurons per layer."
)


@app.command("nnstd")
def nnstd_command(
    a: Annotated[
        Path,
        typer.Argument(
            help="Checkpoint A: an epoch_<EEE> folder, or a folder/archive of runs (then choose with --run-a/--epoch-a)."
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
    method: Annotated[MethodChoice, typer.Option(help=METHOD_HELP)] = MethodChoice.reference,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table or one JSON object.")
    ] = OutputFormat.table,
) -> None:
    """NNSTD between two checkpoints: per-layer distances (0 = same topology, 1 = disjoint) and their mean."""
    with _reported():
        options = NNSTDOptions(method=method.value)
        ea = epoch_a if epoch_a is not None else epoch
        eb = epoch_b if epoch_b is not None else epoch
        with open_source(str(a)) as src_a, open_source(str(b)) as src_b:
            ka = src_a.resolve(run_a, ea)
            kb = src_b.resolve(run_b, eb)
            ckpt_a, ckpt_b = src_a.load(*ka), src_b.load(*kb)
        result = nnstd(ckpt_a, ckpt_b, options)
        if output is OutputFormat.json:
            typer.echo(
                json.dumps(
                    {
                        "a": {"run": ka.run, "epoch": ka.epoch},
                        "b": {"run": kb.run, "epoch": kb.epoch},
                        "method": result.method,
                        "layers": list(result.layers),
                        "mean": result.mean,
                        "version": result.version,
                    }
                )
            )
            return
        typer.echo(f"NNSTD {ka} -> {kb}  (method {result.method})")
        typer.echo(f"{'layer':>5}  {'shape':>11}  distance")
        for k, d in enumerate(result.layers):
            shape = "x".join(map(str, ckpt_a.layers[k].shape))
            typer.echo(f"{k:>5}  {shape:>11}  {d!r}")
        typer.echo(f"{'mean':>5}  {'':>11}  {result.mean!r}")


@app.command("matrix")
def matrix_command(
    source: Annotated[
        Path,
        typer.Argument(
            help="Folder or .zip/.tar/.tar.gz archive of runs in the reference layout (<run>/epoch_<EEE>/weight_l<K>.npz)."
        ),
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
    method: Annotated[MethodChoice, typer.Option(help=METHOD_HELP)] = MethodChoice.reference,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: every core).")
    ] = None,
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
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Pairwise NNSTD table: across runs at given epochs, or along one run."""
    from topograph.pairwise import across_runs, along_run, compute_pairs
    from topograph.parquet import distances_table, write_table
    from topograph.plotting import check_figure_path, plot_figure4

    with _reported():
        if (epoch is None) == (run is None):
            raise InputError(
                "choose what to compare: --epoch E (across runs) or --run R (along a run)"
            )
        if plot is not None and epoch is None:
            raise InputError("--plot draws the across-run heatmap: use it with --epoch")
        if plot is not None:
            check_figure_path(plot)
        options = NNSTDOptions(method=method.value)
        with open_source(str(source)) as src:
            if epoch is not None:
                for e in epoch:
                    have = [r for r in src.runs() if CheckpointKey(r, e) in src]
                    if len(have) < 2:
                        raise InputError(f"{source}: fewer than two runs have epoch {e}")
                pairs = [
                    p
                    for e in epoch
                    for p in across_runs([r for r in src.runs() if CheckpointKey(r, e) in src], e)
                ]
            else:
                assert run is not None
                pairs = along_run(run, src.epochs(run), consecutive=consecutive)
                if not pairs:
                    raise InputError(f"{source}: run {run!r} has fewer than two epochs")
            n_layers = len(src.load(*pairs[0][0]).layers)
            if not 0 <= layer < n_layers:
                raise InputError(
                    f"--layer {layer} out of range: these networks have layers 0..{n_layers - 1}"
                )
            started = time.perf_counter()
            results = compute_pairs(src, pairs, options, workers=workers, progress=progress)
            seconds = time.perf_counter() - started
        table = distances_table(results)
        if out is not None:
            write_table(table, out)
        typer.echo(
            f"{len(results)} pairs x {n_layers} layers in {seconds:.2f} s "
            f"(method {results[0].result.method})"
        )
        if epoch is not None:
            # files first: a closed stdout must not cost the figure
            panels = plot_figure4(table, epoch, layer, plot)
            for e, panel in zip(epoch, panels, strict=True):
                _print_matrix(f"epoch {e}, layers 0..{layer}", list(panel.labels), panel.matrix)
        else:
            for p in results:
                typer.echo(f"{p.a} -> {p.b}: {p.result.cumulative(layer):.4f}")
        if out is not None:
            typer.echo(f"wrote {out}")
        if plot is not None:
            typer.echo(f"wrote {plot}")


DB_HELP = (
    "Graph store: bolt://, neo4j://, neo4j+s:// URI of a Neo4j server, or the path of the "
    "embedded database file. Default: $TOPOGRAPH_DB, else ./topograph.lbdb. Credentials come "
    "from the URI or NEO4J_USER/NEO4J_PASSWORD and are never printed."
)


class QueryFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@app.command("ingest")
def ingest_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Folders or .zip/.tar/.tar.gz archives of checkpoints (<run>/epoch_<EEE>/weight_l<K>.npz)."
        ),
    ],
    run: Annotated[
        str | None,
        typer.Option(
            help="Store the checkpoints under this run name (a source must hold a single run)."
        ),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
    keep_going: Annotated[
        bool, typer.Option(help="Skip a bad checkpoint (reported) instead of stopping.")
    ] = False,
    batch_edges: Annotated[int, typer.Option(help="Edges buffered per bulk write.")] = 2_000_000,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Store checkpoints as graphs: neurons are nodes, non-zero weights CONNECTS edges.

    Idempotent (a checkpoint stored with the same content hash is skipped) and
    atomic per checkpoint; after an interruption, run the same command again.
    """
    from topograph.ingest import ingest
    from topograph.stores import open_store

    with _reported():
        with open_store(db) as store:
            report = ingest(
                store,
                [str(p) for p in paths],
                run=run,
                keep_going=keep_going,
                progress=progress,
                batch_edges=batch_edges,
            )
            where = store.describe()
        for ident, message in report.failed:
            typer.echo(f"skipped bad checkpoint {ident}: {message}", err=True)
        typer.echo(
            f"{where}: {len(report.stored)} checkpoints stored, {len(report.skipped)} already there"
            f"{f', {len(report.repaired)} repaired' if report.repaired else ''}"
            f"{f', {len(report.failed)} failed' if report.failed else ''}; "
            f"{report.neurons} neurons, {report.edges} edges in {report.seconds:.2f} s "
            f"({report.edges_per_second:,.0f} edges/s)"
        )
        if report.failed:
            raise typer.Exit(1)


db_app = typer.Typer(help="Inspect the graph store.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("status")
def db_status_command(
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table or JSON.")
    ] = OutputFormat.table,
) -> None:
    """Counts per node label and relationship type; runs and their epochs."""
    from topograph.stores import open_store

    with _reported():
        with open_store(db, read_only=True) as store:
            status = store.status()
            where = store.describe()
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


def _parse_params(items: list[str]) -> dict[str, object]:
    params: dict[str, object] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise InputError(f"--param expects NAME=VALUE, got {item!r}")
        try:
            params[name] = json.loads(raw)  # numbers, lists, true/false, "quoted"
        except json.JSONDecodeError:
            params[name] = raw
    return params


@app.command("query")
def query_command(
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
            help="Query parameter NAME=VALUE (JSON values: 3, 0.5, [1,2], true; else a string). Repeatable.",
        ),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Allow the query to change the store.")
    ] = False,
    output: Annotated[
        QueryFormat, typer.Option("--format", help="table, json (one object per row) or csv.")
    ] = QueryFormat.table,
    list_queries: Annotated[
        bool, typer.Option("--list", help="List the named queries and exit.")
    ] = False,
) -> None:
    """Run Cypher against the store and print the rows (read-only unless --write)."""
    from topograph.queries import named_queries, query_text
    from topograph.stores import open_store

    with _reported():
        if list_queries:
            for q in named_queries():
                typer.echo(f"{q.name:<28} {q.summary}")
            return
        if (name is None) == (cypher_text is None):
            raise InputError("give a query NAME or --cypher TEXT (see --list)")
        text = cypher_text if cypher_text is not None else query_text(str(name))
        params = _parse_params(param or [])
        with open_store(db, read_only=not write) as store:
            result = store.query(text, params, write=write)
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


@app.command("analyze")
def analyze_command(
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
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
    method: Annotated[MethodChoice, typer.Option(help=METHOD_HELP)] = MethodChoice.reference,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: every core).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Run on a Dask cluster instead: its scheduler address, tcp://host:port."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Recompute results already stored (they are replaced).")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars on stderr.")] = True,
) -> None:
    """Compute NNSTD and spectral properties from the store and write them back as relationships.

    With no selection, the default plan: across runs at every epoch, along every
    run, spectral properties of everything. Only missing results are computed.
    """
    from topograph.analyze import AnalysisPlan, analyze, default_plan
    from topograph.stores import open_store, resolve_uri

    with _reported():
        options = NNSTDOptions(method=method.value)
        uri = resolve_uri(db)
        with open_store(uri) as store:
            if epoch or run or spectral:
                plan = AnalysisPlan(
                    across_epochs=tuple(epoch or ()),
                    along_runs=tuple(run or ()),
                    spectral=spectral,
                    matches_across=matches_across,
                    force=force,
                    options=options,
                )
            else:
                plan = default_plan(
                    store, options=options, force=force, matches_across=matches_across
                )
            report = analyze(
                store, uri, plan, workers=workers, scheduler=scheduler, progress=progress
            )
            where = store.describe()
        typer.echo(f"{where}: analysis done")
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


class TableChoice(StrEnum):
    distances = "distances"
    spectral = "spectral"
    checkpoints = "checkpoints"


@app.command("export")
def export_command(
    table: Annotated[
        TableChoice,
        typer.Argument(
            help="distances (one row per pair and layer), spectral (per layer and network) or checkpoints."
        ),
    ],
    out: Annotated[Path, typer.Argument(help="Parquet file to write (a folder when partitioned).")],
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
    partition: Annotated[
        bool | None,
        typer.Option(
            "--partition/--no-partition",
            help="Partition by run (default: when over a million rows).",
        ),
    ] = None,
) -> None:
    """Write a stored result table to Parquet, with its typed, documented schema."""
    from topograph.parquet import PARTITION_ROWS, TABLES, table_from_store, write_table
    from topograph.stores import open_store

    with _reported():
        with open_store(db, read_only=True) as store:
            data = table_from_store(store, table.value)
        split = partition if partition is not None else data.num_rows > PARTITION_ROWS
        write_table(data, out, partition_by=TABLES[table.value][2] if split else None)
        typer.echo(
            f"wrote {data.num_rows} rows of {table.value} to {out}{' (partitioned by run)' if split else ''}"
        )


PLOT_METHOD_HELP = "NNSTD method whose stored results to draw (needed when several are stored)."

plot_app = typer.Typer(help="Figures from stored results.", no_args_is_help=True)
app.add_typer(plot_app, name="plot")


@plot_app.command("heatmap")
def plot_heatmap_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Image to write (.png/.pdf/.svg).")],
    epoch: Annotated[
        list[int], typer.Option("--epoch", "-e", help="Epoch of a panel. Repeatable.")
    ],
    layer: Annotated[
        int, typer.Option(help="Layer L: mean NNSTD of layers 0..L, as in Figure 4.")
    ] = 0,
    method: Annotated[str | None, typer.Option(help=PLOT_METHOD_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
) -> None:
    """Figure 4 from stored results: NNSTD between every pair of runs, one panel per epoch."""
    from topograph.parquet import table_from_store
    from topograph.plotting import check_figure_path, plot_figure4
    from topograph.stores import open_store

    with _reported():
        check_figure_path(out)
        with open_store(db, read_only=True) as store:
            table = table_from_store(store, "distances")
        plot_figure4(table, epoch, layer, out, method)
        typer.echo(f"wrote {out}")


@plot_app.command("evolution")
def plot_evolution_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Image to write (.png/.pdf/.svg).")],
    layer: Annotated[
        int | None, typer.Option(help="Plot this layer's distance instead of the network mean.")
    ] = None,
    method: Annotated[str | None, typer.Option(help=PLOT_METHOD_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
) -> None:
    """NNSTD to the first epoch and test accuracy against epoch, one line per run."""
    from topograph.parquet import table_from_store
    from topograph.plotting import check_figure_path, evolution_curves, plot_evolution
    from topograph.stores import open_store

    with _reported():
        check_figure_path(out)
        with open_store(db, read_only=True) as store:
            curves = evolution_curves(
                table_from_store(store, "distances"),
                table_from_store(store, "checkpoints"),
                layer,
                method,
            )
        if not any(len(c.distances) > 1 for c in curves):
            raise InputError("no distances to the first epoch stored; run topograph analyze first")
        plot_evolution(
            curves, out, layer_note=f"layer {layer}" if layer is not None else "mean of layers"
        )
        typer.echo(f"wrote {out}")


def _print_matrix(title: str, runs: list[str], matrix: np.ndarray) -> None:
    from topograph.plotting import short_labels

    labels = short_labels(runs)
    width = max(6, *(len(s) for s in labels))
    typer.echo(f"NNSTD {title}")
    typer.echo(" " * width + " " + " ".join(f"{s:>{width}}" for s in labels))
    for label, row in zip(labels, matrix, strict=True):
        typer.echo(f"{label:>{width}} " + " ".join(f"{v:>{width}.3f}" for v in row))


def main() -> None:
    """Console-script entry point."""
    app()
