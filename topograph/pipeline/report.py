"""One self-contained HTML report of what a store holds.

Why one file: a report is mailed, attached to a paper's supplement, or
opened on a laptop without network access months later. Everything is in the
file: figures as inline SVG (text drawn as paths, so no font is fetched) or
base64 PNG, the style sheet inline, no script, no link to anything outside.

Sections (each an HTML ``<section>`` with a fixed ``id``, the Cypher that
produced it shown beside it):

``overview``   the store, its runs (named query ``runs``) and checkpoints
``figure4``    NNSTD between every pair of runs at chosen epochs (Figure 4)
``evolution``  NNSTD to each run's first epoch and accuracy along training
               (with the named query ``evolution_path``)
``spectra``    each layer's spectral properties against accuracy
               (named query ``spectral_vs_accuracy``)
``tickets``    plenty of winning tickets (named query ``winning_tickets``)
``queries``    the text of every query the report ran

A section whose results are not stored says what to run instead of failing.
:func:`write_report` reports a store; :func:`report_sources` first ingests
folders or archives into a temporary embedded store and analyzes them (the
default plan), then reports that store and removes it.
"""

from __future__ import annotations

import base64
import datetime
import html
import math
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

import topograph.cypher as cypher
from topograph.errors import InputError, TopographError
from topograph.pipeline.analyze import analyze, default_plan
from topograph.pipeline.figures import DEFAULT_OPTIONS, FigureOptions, layer_title
from topograph.pipeline.ingest import ingest
from topograph.pipeline.plot import (
    evolution_curves,
    plot_evolution,
    plot_figure4,
    plot_spectral_accuracy,
    short_labels,
)
from topograph.pipeline.queries import named_query, run_named
from topograph.pipeline.tables import check_parent, dense_layers, table_from_store
from topograph.pipeline.tickets import (
    DEFAULT_MAX_ACCURACY_GAP,
    DEFAULT_MIN_DISTANCE,
    all_pairs,
    plot_tickets,
    summarize,
)
from topograph.stores import GraphStore, open_store

__all__ = [
    "SECTION_IDS",
    "ReportOptions",
    "ReportResult",
    "check_report_path",
    "report_sources",
    "write_report",
]

#: The ids of the report's sections, in page order (tests and links rely on them).
SECTION_IDS: tuple[str, ...] = ("overview", "figure4", "evolution", "spectra", "tickets", "queries")
ImageFormat = Literal["svg", "png"]


@dataclass(frozen=True)
class ReportOptions:
    """What the report shows.

    ``epochs``: Figure-4 panels (default: up to six epochs spread over those
    with across-run distances). ``layer``: Figure 4's layer L (layer 0, or
    the mean of layers 0..L). ``method``: the NNSTD method to show when
    several are stored. ``min_distance``/``max_accuracy_gap``: the winning
    tickets' thresholds. ``image_format``: inline ``svg`` (default, sharp at
    any zoom) or base64 ``png`` (at ``figures.dpi``). ``figures``: how every
    figure looks (colour map, range, bands, dense layers, ...). ``title``:
    the page's title.
    """

    epochs: tuple[int, ...] | None = None
    layer: int = 0
    method: str | None = None
    min_distance: float = DEFAULT_MIN_DISTANCE
    max_accuracy_gap: float = DEFAULT_MAX_ACCURACY_GAP
    image_format: ImageFormat = "svg"
    figures: FigureOptions = DEFAULT_OPTIONS
    title: str = "topograph report"

    def __post_init__(self) -> None:
        if self.image_format not in ("svg", "png"):
            raise InputError(f"image format must be svg or png, got {self.image_format!r}")
        if self.layer < 0:
            raise InputError(f"layer must be 0 or more, got {self.layer}")


@dataclass
class ReportResult:
    """What :func:`write_report` wrote: the file, its size, the sections and the queries run."""

    path: Path
    bytes: int = 0
    sections: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --------------------------------------------------------------------------- pieces of HTML


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _version() -> str:
    """The installed topograph's version (the pipeline does not import the package's front)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("topograph")
    except PackageNotFoundError:
        return "(not installed)"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4g}"
    return _esc(value)


def _table(columns: Sequence[str], rows: Sequence[Sequence[object]], limit: int = 200) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>" for r in rows[:limit]
    )
    more = (
        f"<p class='note'>{len(rows) - limit} more rows not shown.</p>" if len(rows) > limit else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


_XML_PROLOGUE = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.DOTALL)
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


class _Figures:
    """Draws figures into memory and returns them as inline HTML."""

    def __init__(self, options: ReportOptions, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir

    def path(self, name: str) -> Path:
        return self.workdir / f"{name}.{self.options.image_format}"

    def inline(self, path: Path, alt: str) -> str:
        """The figure at ``path`` as inline SVG (prologue and DTD dropped) or a base64 PNG."""
        if self.options.image_format == "svg":
            text = _XML_PROLOGUE.sub("", path.read_text(encoding="utf-8"), count=1)
            text = _SVG_METADATA.sub("", text, count=1)  # RDF about matplotlib, not the figure
            return f"<figure role='img' aria-label='{_esc(alt)}'>{text}</figure>"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"<figure><img alt='{_esc(alt)}' src='data:image/png;base64,{data}'></figure>"

    def salt(self, name: str) -> Any:
        """SVG ids salted per figure, so ids of several inline SVGs never clash."""
        import matplotlib

        return matplotlib.rc_context({"svg.hashsalt": f"topograph-{name}"})


class _Page:
    """Collects sections and the queries behind them."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, str, str]] = []  # id, title, body
        self.queries: dict[str, tuple[str, str]] = {}  # name -> (label, text), first use
        self.notes: list[str] = []

    def query_block(self, label: str, text: str, params: dict[str, Any] | None = None) -> str:
        self.queries.setdefault(label.split(" (")[0], (label, text))
        shown = f" with {_esc(params)}" if params else ""
        return (
            f"<details class='cypher'><summary>Cypher: <code>{_esc(label)}</code>{shown}</summary>"
            f"<pre>{_esc(text.strip())}</pre></details>"
        )

    def note(self, text: str) -> str:
        self.notes.append(text)
        return f"<p class='note'>{_esc(text)}</p>"


# --------------------------------------------------------------------------- sections


def _named(store: GraphStore, page: _Page, name: str, **params: Any) -> tuple[Any, str]:
    """Run a named query; its result and the HTML block showing its text."""
    result = run_named(store, name, params)
    return result, page.query_block(name, named_query(name).text, params or None)


def _internal(page: _Page, name: str, why: str) -> str:
    return page.query_block(f"{name} ({why})", cypher.load(name))


def _overview(store: GraphStore, page: _Page, checkpoints: pa.Table, where: str) -> str:
    status = store.status()
    counts = "".join(f"<li><b>{_esc(k)}</b>: {n:,}</li>" for k, n in status.counts.items() if n)
    runs, block = _named(store, page, "runs")
    ck_rows = sorted(checkpoints.to_pylist(), key=lambda r: (r["run"], r["epoch"]))
    ck_table = _table(
        ["run", "epoch", "accuracy", "layers", "neurons", "edges", "hash"],
        [
            (r["run"], r["epoch"], r["accuracy"], r["n_layers"], r["neurons"], r["edges"],
             r["hash"][:12])
            for r in ck_rows
        ],
    )  # fmt: skip
    with_acc = sum(r["accuracy"] is not None for r in ck_rows)
    return (
        f"<p><code>{_esc(where)}</code>: {_count(len(status.runs), 'run')}, "
        f"{len(ck_rows)} complete checkpoints ({with_acc} with a test accuracy).</p>"
        f"<ul class='counts'>{counts}</ul>"
        f"<h3>Runs</h3>{_table(runs.columns, runs.rows)}{block}"
        f"<details><summary>Checkpoints ({len(ck_rows)})</summary>{ck_table}</details>"
        + _internal(page, "checkpoints", "the checkpoints table")
    )


def _spread(values: Sequence[int], most: int = 6) -> list[int]:
    """Up to ``most`` values spread evenly over the sorted ``values``, first and last kept."""
    values = sorted(set(values))
    if len(values) <= most:
        return values
    picks = {round(i * (len(values) - 1) / (most - 1)) for i in range(most)}
    return [values[i] for i in sorted(picks)]


def _figure4(
    store: GraphStore, page: _Page, figs: _Figures, distances: pa.Table, exclude: frozenset[int]
) -> str:
    opts = figs.options
    across = {
        r["epoch_a"]
        for r in distances.to_pylist()
        if r["epoch_a"] == r["epoch_b"] and r["run_a"] != r["run_b"]
    }
    block = _internal(page, "read/nnstd", "every stored NNSTD, the distances table")
    if not across:
        return (
            page.note(
                "No NNSTD between runs is stored: run `topograph analyze --epoch E` for the epochs "
                "to compare."
            )
            + block
        )
    epochs = list(opts.epochs) if opts.epochs else _spread(sorted(across))
    missing = [e for e in epochs if e not in across]
    if missing:
        raise InputError(f"no across-run NNSTD stored at epoch(s) {', '.join(map(str, missing))}")
    path = figs.path("figure4")
    with figs.salt("figure4"):
        panels = plot_figure4(
            distances, epochs, opts.layer, path, opts.method, opts.figures,
            exclude=exclude if opts.figures.sparse_only else (),
        )  # fmt: skip
    what = layer_title(opts.layer, tuple(exclude) if opts.figures.sparse_only else ())
    means = ", ".join(
        f"epoch {e}: {_mean_off_diagonal(p.matrix):.3f}"
        for e, p in zip(epochs, panels, strict=True)
    )
    example, example_block = _named(store, page, "run_similarity", epoch=epochs[-1])
    return (
        f"<p>NNSTD between every pair of runs ({_esc(what)}; 0 = the same topology, 1 = "
        f"disjoint), one panel per epoch, as in Figure 4 of Liu et al. (2020). Mean over the "
        f"pairs: {_esc(means)}.</p>"
        + figs.inline(path, "NNSTD heatmaps across runs")
        + block
        + f"<details><summary>The cells at epoch {epochs[-1]}, mean over all layers "
        f"(named query run_similarity)</summary>{_table(example.columns, example.rows)}</details>"
        + example_block
    )


def _mean_off_diagonal(matrix: Any) -> float:
    import numpy as np

    m = np.asarray(matrix, dtype=float)
    n = m.shape[0]
    return float(m[~np.eye(n, dtype=bool)].mean()) if n > 1 else float("nan")


def _evolution(
    store: GraphStore,
    page: _Page,
    figs: _Figures,
    distances: pa.Table,
    checkpoints: pa.Table,
    exclude: frozenset[int],
) -> str:
    opts = figs.options
    sparse = opts.figures.sparse_only
    curves = evolution_curves(
        distances, checkpoints, None, opts.method, exclude=exclude if sparse else ()
    )
    block = _internal(page, "read/nnstd", "distances to each run's first epoch")
    if not any(len(c.distances) > 1 for c in curves):
        return (
            page.note(
                "No NNSTD along runs is stored: run `topograph analyze --run RUN` (or the default "
                "analyze) first."
            )
            + block
        )
    path = figs.path("evolution")
    note = "mean of sparse layers" if sparse and exclude else "mean of layers"
    with figs.salt("evolution"):
        plot_evolution(curves, path, layer_note=note, options=opts.figures)
    finals = ", ".join(
        f"{label}: {c.distances[-1]:.3f}"
        for label, c in zip(short_labels([c.run for c in curves]), curves, strict=True)
        if len(c.distances) > 1
    )
    parts = [
        f"<p>NNSTD from each run's first epoch ({_esc(note)}), and test accuracy, against "
        f"epoch. Each run keeps one colour and marker in both panels. Distance at the last "
        f"epoch: {_esc(finals)}.</p>",
        figs.inline(path, "NNSTD to the first epoch and accuracy against epoch"),
        block,
    ]
    steps = []
    shown_block = ""
    for c in curves:
        result, shown_block = _named(store, page, "evolution_path", run=c.run)
        steps += [(c.run, *r) for r in result.rows]
    if steps:
        parts.append(
            f"<details><summary>NEXT steps of every run ({len(steps)}; named query "
            f"evolution_path, once per run)</summary>"
            f"{_table(['run', 'from_epoch', 'to_epoch', 'distance', 'accuracy'], steps)}</details>"
        )
    parts.append(shown_block)
    return "".join(parts)


def _spectra(
    store: GraphStore, page: _Page, figs: _Figures, exclude: frozenset[int], runs: list[str]
) -> str:
    from topograph.pipeline.correlation import spearman

    opts = figs.options
    result, block = _named(store, page, "spectral_vs_accuracy")
    rows = result.dicts()
    if not rows:
        return (
            page.note(
                "No spectral properties beside a test accuracy are stored: ingest runs with "
                "accuracies and run `topograph analyze --spectral`."
            )
            + block
        )
    skip = exclude if opts.figures.sparse_only else frozenset()
    path = figs.path("spectra")
    with figs.salt("spectra"):
        plot_spectral_accuracy(rows, path, opts.figures, exclude=skip, runs=runs)
    layers = sorted({int(r["layer"]) for r in rows} - exclude)  # a dense layer's spectrum is fixed
    last = max(int(r["epoch"]) for r in rows)
    corr_rows = []
    for layer in layers:
        for scope, mine in (
            ("all epochs", [r for r in rows if r["layer"] == layer]),
            (f"epoch {last}", [r for r in rows if r["layer"] == layer and r["epoch"] == last]),
        ):
            for metric in ("lcc_algebraic_connectivity", "spectral_gap", "components"):
                s = spearman([float(r[metric]) for r in mine], [float(r["accuracy"]) for r in mine])
                corr_rows.append((layer, scope, metric, s.n, s.rho, s.p_value))
    dense_note = (
        f" Dense layer(s) {', '.join(map(str, sorted(exclude)))} left out of the figure."
        if skip
        else (
            f" Layer(s) {', '.join(map(str, sorted(exclude)))} are dense (every position "
            "connected): their spectrum does not change."
            if exclude
            else ""
        )
    )
    return (
        "<p>Spectral properties of each layer's bipartite graph (Bourely et al. 2017) "
        "against the test accuracy of its checkpoint; a point per checkpoint, coloured by run."
        f"{_esc(dense_note)}</p>"
        + figs.inline(path, "spectral properties against accuracy")
        + "<h3>Spearman rank correlation with accuracy</h3>"
        + "<p>Over all epochs the ranking mixes training progress (accuracy and topology both "
        "change with the epoch) with differences between topologies; the rows of the last "
        "epoch compare the runs at equal training.</p>"
        + _table(["layer", "scope", "metric", "n", "rho", "p_value"], corr_rows)
        + block
    )


def _tickets(store: GraphStore, page: _Page, figs: _Figures) -> str:
    opts = figs.options
    query = named_query("winning_tickets")
    block = page.query_block(
        "winning_tickets", query.text,
        {"min_distance": opts.min_distance, "max_accuracy_gap": opts.max_accuracy_gap},
    )  # fmt: skip
    pairs = all_pairs(store)
    if not pairs:
        return (
            page.note(
                "No pair of checkpoints at one epoch has a stored NNSTD and both accuracies: "
                "ingest runs with accuracies and run `topograph analyze --epoch E`."
            )
            + block
        )
    summary = summarize(pairs, opts.min_distance, opts.max_accuracy_gap, opts.method)
    path = figs.path("tickets")
    with figs.salt("tickets"):
        plot_tickets(
            pairs, path, opts.min_distance, opts.max_accuracy_gap, opts.method, opts.figures
        )
    chosen = [p for p in pairs if opts.method is None or p.method == opts.method]
    hits = [p for p in chosen if p.is_ticket(opts.min_distance, opts.max_accuracy_gap)]
    rows = [
        (p.epoch, p.run_a, p.run_b, p.distance, p.accuracy_a, p.accuracy_b, p.accuracy_gap)
        for p in hits
    ]
    return (
        "<p>Liu et al. (2020): sparse networks trained from different starts end far apart in "
        "topology yet about as accurate, so there are plenty of winning tickets. Every pair of "
        "runs at one epoch, its NNSTD (mean over layers) against the difference of their test "
        f"accuracies; the shaded region holds the tickets. {_esc(summary.describe())}.</p>"
        + figs.inline(path, "NNSTD against accuracy difference")
        + f"<details><summary>The {len(hits)} ticket pairs</summary>"
        + _table(
            ["epoch", "run_a", "run_b", "distance", "accuracy_a", "accuracy_b", "accuracy_gap"],
            rows,
        )
        + "</details>"
        + block
    )


def _queries(page: _Page) -> str:
    items = "".join(
        f"<h3><code>{_esc(label)}</code></h3><pre>{_esc(text.strip())}</pre>"
        for label, text in page.queries.values()
    )
    return (
        "<p>Every Cypher statement this report ran, in the order first used. Named queries "
        "live in <code>cypher/queries/</code> and run with <code>topograph query NAME -p "
        "NAME=VALUE</code>; the others are topograph's own reads.</p>" + items
    )


_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0; color: #1d1d1f;
       background: #ffffff; line-height: 1.45; }
header { background: #1f3b57; color: #ffffff; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem 0; font-size: 1.6rem; }
header p { margin: 0; opacity: .85; }
nav { background: #eef2f6; padding: .5rem 2rem; position: sticky; top: 0;
      border-bottom: 1px solid #d0d7de; }
nav a { margin-right: 1.2rem; color: #1f3b57; text-decoration: none; font-weight: 600; }
main { padding: 0 2rem 2rem 2rem; max-width: 1200px; }
section { border-bottom: 1px solid #d0d7de; padding: 1rem 0 1.5rem 0; }
h2 { color: #1f3b57; }
figure { margin: 1rem 0; overflow-x: auto; }
figure svg, figure img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border: 1px solid #d0d7de; padding: .2rem .5rem; text-align: right; }
th { background: #eef2f6; }
td:first-child, th:first-child { text-align: left; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: .6rem; overflow-x: auto;
      font-size: .8rem; }
details { margin: .5rem 0; }
summary { cursor: pointer; color: #1f3b57; }
.note { color: #8a4b00; background: #fff4e5; padding: .4rem .6rem; border-left: 3px solid #f0a030; }
ul.counts { columns: 3; font-size: .9rem; }
"""

_TITLES = {
    "overview": "Runs and checkpoints",
    "figure4": "NNSTD across runs (Figure 4)",
    "evolution": "Evolution along runs",
    "spectra": "Spectral properties against accuracy",
    "tickets": "Plenty of winning tickets",
    "queries": "The queries behind this report",
}


def _guarded(page: _Page, build: Any) -> str:
    """A section's body, or a note naming the error that kept it from being drawn."""
    try:
        return str(build())
    except TopographError as exc:
        return page.note(f"This section could not be drawn: {exc}")


def check_report_path(out: Path) -> Path:
    """Refuse, before any work, a report path that is not an ``.html`` file in a folder."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{out}: the report is an .html file")
    check_parent(out)
    return out


def write_report(
    store: GraphStore, out: Path, options: ReportOptions | None = None, origin: str | None = None
) -> ReportResult:
    """Write the report of ``store`` to ``out`` (one self-contained HTML file).

    ``origin``: what the page names as its data (default: the store); a
    report of folders or archives names them, not its temporary store.

    A section whose results are missing shows a note saying what to run. A
    bad choice of options (an epoch with no across-run distances) is an
    error before anything is written.
    """
    started = time.perf_counter()
    options = options or ReportOptions()
    out = check_report_path(out)
    page = _Page()
    checkpoints = table_from_store(store, "checkpoints")
    if checkpoints.num_rows == 0:
        raise InputError(f"{store.describe()}: no complete checkpoint stored; ingest first")
    distances = table_from_store(store, "distances")
    dense = dense_layers(store)
    runs = sorted({r["run"] for r in checkpoints.to_pylist()})
    where = origin or store.describe()
    workdir = Path(tempfile.mkdtemp(prefix="topograph-report-"))
    try:
        figs = _Figures(options, workdir)
        bodies = {
            "overview": _overview(store, page, checkpoints, where),
            "figure4": _figure4(store, page, figs, distances, dense),
            "evolution": _guarded(
                page, lambda: _evolution(store, page, figs, distances, checkpoints, dense)
            ),
            "spectra": _guarded(page, lambda: _spectra(store, page, figs, dense, runs)),
            "tickets": _guarded(page, lambda: _tickets(store, page, figs)),
        }
        bodies["queries"] = _queries(page)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    nav = "".join(f"<a href='#{sid}'>{_esc(_TITLES[sid])}</a>" for sid in SECTION_IDS)
    sections = "".join(
        f"<section id='{sid}'><h2>{_esc(_TITLES[sid])}</h2>{bodies[sid]}</section>"
        for sid in SECTION_IDS
    )
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(options.title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_esc(options.title)}</h1><p>{_count(len(runs), 'run')} from "
        f"<code>{_esc(where)}</code>; topograph {_version()}, {stamp}.</p></header>"
        f"<nav>{nav}</nav><main>{sections}</main></body></html>\n"
    )
    tmp = out.with_name(f".{out.name}.partial")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    return ReportResult(
        path=out,
        bytes=len(text.encode("utf-8")),
        sections=list(SECTION_IDS),
        queries=list(page.queries),
        notes=page.notes,
        seconds=time.perf_counter() - started,
    )


def report_sources(
    sources: Sequence[str | Path],
    out: Path,
    options: ReportOptions | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> ReportResult:
    """Report checkpoint folders or archives: ingest them into a temporary embedded store,
    analyze it (the default plan: across runs, along runs, spectra), report, remove the store.
    """
    if not sources:
        raise InputError("report needs a store (--db) or folders/archives of checkpoints")
    check_report_path(out)
    folder = Path(tempfile.mkdtemp(prefix="topograph-report-db-"))
    uri = str(folder / "report.lbdb")
    try:
        with open_store(uri) as store:
            ingest(store, list(sources), progress=progress)
            analyze(store, uri, default_plan(store), workers=workers, progress=progress)
            names = ", ".join(str(s) for s in sources)
            origin = f"{names} (through a temporary embedded store)"
            result = write_report(store, out, options, origin=origin)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result.notes.insert(0, f"reported {len(sources)} source(s) through a temporary embedded store")
    return result
