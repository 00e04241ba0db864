"""Figures: NNSTD heatmaps in the style of the paper's Figure 4, and evolution along runs.

Drawn with matplotlib's object API on the non-interactive Agg back end
(figures go to files, never to a window, and no pyplot state is shared), so
plotting works on servers, in CI and in worker processes. How figures look
(colour map, colour range, cell values, dpi, bands, dense layers) comes from
one :class:`~topograph.pipeline.figures.FigureOptions`.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure

from topograph.errors import InputError
from topograph.pipeline.figures import (
    DEFAULT_OPTIONS,
    FIGURE_SUFFIXES,
    FigureOptions,
    check_figure_path,
    colour_range,
    layer_title,
    run_styles,
    save_figure,
    spread_band,
)
from topograph.pipeline.tables import figure4_matrix, one_method

__all__ = [
    "FIGURE_SUFFIXES",
    "HeatmapPanel",
    "RunCurve",
    "check_figure_path",
    "evolution_curves",
    "evolution_figure",
    "heatmap_figure",
    "plot_evolution",
    "plot_figure4",
    "plot_heatmaps",
    "plot_spectral_accuracy",
    "short_labels",
]


@dataclass(frozen=True)
class HeatmapPanel:
    """One square heatmap: a title, labels for both axes, values (NNSTD, in [0, 1])."""

    title: str
    labels: Sequence[str]
    matrix: np.ndarray


def short_labels(names: Sequence[str]) -> list[str]:
    """Drop the prefix all names share, up to its last ``_``, ``-`` or ``/``.

    ``e5_s0_w0 .. e5_s0_w9`` become ``w0 .. w9``; names with nothing in common
    stay as they are.
    """
    if len(names) < 2:
        return list(names)
    prefix = os.path.commonprefix(list(names))
    cut = max(prefix.rfind(c) for c in "_-/") + 1
    return [n[cut:] or n for n in names]


def _off_diagonal(matrix: np.ndarray) -> np.ndarray:
    n = matrix.shape[0]
    return matrix[~np.eye(n, dtype=bool)] if n else matrix.ravel()


def plot_heatmaps(
    panels: Sequence[HeatmapPanel],
    out: Path,
    suptitle: str | None = None,
    options: FigureOptions = DEFAULT_OPTIONS,
    value_label: str = "NNSTD",
) -> Path:
    """Draw the panels (:func:`heatmap_figure`) and save to ``out`` (format from the suffix)."""
    out = check_figure_path(out)
    return save_figure(heatmap_figure(panels, suptitle, options, value_label), out, options)


def heatmap_figure(
    panels: Sequence[HeatmapPanel],
    suptitle: str | None = None,
    options: FigureOptions = DEFAULT_OPTIONS,
    value_label: str = "NNSTD",
) -> Figure:
    """The panels, up to three a row, with one shared colour bar.

    The colour range is shared by all panels: ``options.vmin``/``vmax`` when
    given, else the range of the off-diagonal cells (the diagonal, a network
    against itself, is 0 by definition and drawn grey, so it does not
    stretch the scale). ``options.annotate`` writes each cell's value.
    """
    n = len(panels)
    if n == 0:
        raise InputError("no heatmap panel to draw")
    values = np.concatenate([_off_diagonal(np.asarray(p.matrix, float)) for p in panels])
    lo, hi = colour_range(values, options)
    from matplotlib import colormaps

    cmap = colormaps[options.cmap].with_extremes(bad="0.85")
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.7 * cols + 1.2, 3.9 * rows + 0.4), layout="constrained")
    grid = fig.subplots(rows, cols, squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    axes = axes[:n]
    image = None
    for ax, panel in zip(axes, panels, strict=True):
        labels = short_labels(panel.labels)
        matrix = np.asarray(panel.matrix, dtype=float)
        shown = np.ma.masked_array(matrix, mask=np.eye(matrix.shape[0], dtype=bool))
        image = ax.imshow(shown, vmin=lo, vmax=hi, cmap=cmap, interpolation="none")
        ticks = np.arange(len(labels))
        ax.set_xticks(ticks, labels=labels, rotation=90, fontsize=8)
        ax.set_yticks(ticks, labels=labels, fontsize=8)
        ax.set_xlabel("run (network b)", fontsize=8)
        ax.set_ylabel("run (network a)", fontsize=8)
        ax.set_title(panel.title, fontsize=10)
        if options.annotate:
            _annotate(ax, matrix, cmap, lo, hi, len(labels))
    assert image is not None
    fig.colorbar(image, ax=list(grid.ravel()), shrink=0.85 / rows**0.5, label=value_label)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def _annotate(ax: object, matrix: np.ndarray, cmap: object, lo: float, hi: float, n: int) -> None:
    """Each off-diagonal cell's value, black or white by the cell's luminance."""
    size = max(4.0, min(8.0, 60.0 / max(n, 1)))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            v = matrix[i, j]
            r, g, b, _ = cmap((v - lo) / (hi - lo) if hi > lo else 0.5)  # type: ignore[operator]
            dark = 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5
            ax.text(  # type: ignore[attr-defined]
                j, i, f"{v:.2f}", ha="center", va="center", fontsize=size,
                color="white" if dark else "black",
            )  # fmt: skip


@dataclass(frozen=True)
class RunCurve:
    """One run's evolution: NNSTD to its first epoch and accuracy, per epoch."""

    run: str
    distance_epochs: Sequence[int]
    distances: Sequence[float]
    accuracy_epochs: Sequence[int]
    accuracies: Sequence[float]


def plot_evolution(
    curves: Sequence[RunCurve],
    out: Path,
    layer_note: str = "",
    options: FigureOptions = DEFAULT_OPTIONS,
) -> Path:
    """Draw :func:`evolution_figure` and save it to ``out`` (format from the suffix)."""
    out = check_figure_path(out)
    return save_figure(evolution_figure(curves, layer_note, options), out, options)


def evolution_figure(
    curves: Sequence[RunCurve], layer_note: str = "", options: FigureOptions = DEFAULT_OPTIONS
) -> Figure:
    """Two panels against epoch: NNSTD to the first epoch, and test accuracy.

    Each run keeps one colour, marker and line style in both panels
    (:func:`~topograph.pipeline.figures.run_styles`), whether or not it has
    an accuracy curve; runs without one are named in the accuracy panel.
    With ``options.bands`` the panels show the mean over runs, ± one standard
    deviation and the min-max range, over faint per-run lines.
    """
    styles = run_styles([c.run for c in curves], options)
    labels = dict(zip([c.run for c in curves], short_labels([c.run for c in curves]), strict=True))
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_d, ax_a = fig.subplots(1, 2)
    with_acc = [c for c in curves if c.accuracies]
    panels = (
        (ax_d, [(c.run, c.distance_epochs, c.distances) for c in curves]),
        (ax_a, [(c.run, c.accuracy_epochs, c.accuracies) for c in with_acc]),
    )
    for ax, series in panels:
        for run, xs, ys in series:
            style = styles[run]
            if options.bands:
                ax.plot(xs, ys, color=style.colour, linewidth=0.8, alpha=0.35)
            else:
                ax.plot(xs, ys, ms=4, linewidth=1.3, label=labels[run], **style.kwargs())
        if options.bands and series:
            _band(ax, [(xs, ys) for _, xs, ys in series])
    ax_d.set_xlabel("epoch")
    ax_d.set_ylabel("NNSTD to the run's first epoch" + (f"\n({layer_note})" if layer_note else ""))
    ax_d.set_ylim(0, 1)
    ax_a.set_xlabel("epoch")
    ax_a.set_ylabel("test accuracy (fraction correct)")
    for ax in (ax_d, ax_a):
        ax.grid(True, alpha=0.3)
    ax_d.set_title("topology: distance to the start")
    ax_a.set_title("test accuracy")
    if any(ax.get_legend_handles_labels()[0] for ax in (ax_d, ax_a)):
        handles, names = ax_d.get_legend_handles_labels()
        fig.legend(handles, names, loc="outside right center", fontsize=8, title="run")
    missing = [labels[c.run] for c in curves if not c.accuracies]
    if not with_acc:
        ax_a.text(
            0.5, 0.5, "no accuracy recorded", ha="center", va="center", transform=ax_a.transAxes
        )
    elif missing:
        ax_a.text(
            0.02, 0.02, f"no accuracy: {', '.join(missing)}", fontsize=7,
            transform=ax_a.transAxes, color="0.3",
        )  # fmt: skip
    fig.suptitle("Topology evolution along training")
    return fig


def _band(ax: object, series: Sequence[tuple[Sequence[int], Sequence[float]]]) -> None:
    """Mean over runs (black), ± 1 s.d. (dark band) and min-max (light band)."""
    xs, mean, std, lo, hi, count = spread_band(series)
    ax.fill_between(xs, lo, hi, color="0.5", alpha=0.15, linewidth=0, label="min-max")  # type: ignore[attr-defined]
    ax.fill_between(  # type: ignore[attr-defined]
        xs, mean - std, mean + std, color="0.3", alpha=0.3, linewidth=0, label="mean ± 1 s.d."
    )
    ax.plot(xs, mean, color="black", linewidth=1.8, label=f"mean of {int(count.max())} runs")  # type: ignore[attr-defined]


def evolution_curves(
    distances: pa.Table,
    checkpoints: pa.Table,
    layer: int | None = None,
    method: str | None = None,
    exclude: Collection[int] = (),
) -> list[RunCurve]:
    """Per run: NNSTD from its first epoch to each later one, and its accuracy curve.

    ``distances``/``checkpoints``: tables of :mod:`topograph.pipeline.tables`.
    The distance is the mean over layers, or layer ``layer``'s when given;
    ``exclude`` leaves layers out of the mean (dense ones under
    ``sparse_only``); ``method`` selects one NNSTD method's rows (required
    when several are stored).
    """
    firsts: dict[str, int] = {}
    acc: dict[str, list[tuple[int, float]]] = {}
    for r in checkpoints.to_pylist():
        firsts[r["run"]] = min(firsts.get(r["run"], r["epoch"]), r["epoch"])
        if r["accuracy"] is not None:
            acc.setdefault(r["run"], []).append((r["epoch"], r["accuracy"]))
    skip = set(exclude)
    per_pair: dict[tuple[str, int], list[float]] = {}
    for r in one_method(distances.to_pylist(), method):
        run = r["run_a"]
        if r["run_b"] != run or r["epoch_a"] != firsts.get(run):
            continue
        if (layer is None and r["layer"] not in skip) or r["layer"] == layer:
            per_pair.setdefault((run, r["epoch_b"]), []).append(r["distance"])
    curves = []
    for run in sorted(firsts):
        points = sorted((e, float(np.mean(v))) for (r, e), v in per_pair.items() if r == run)
        points = [(firsts[run], 0.0), *points]
        accs = sorted(acc.get(run, []))
        curves.append(
            RunCurve(
                run=run,
                distance_epochs=[e for e, _ in points],
                distances=[d for _, d in points],
                accuracy_epochs=[e for e, _ in accs],
                accuracies=[a for _, a in accs],
            )
        )
    return curves


def plot_figure4(
    distances: pa.Table,
    epochs: Sequence[int],
    layer: int,
    out: Path | None,
    method: str | None = None,
    options: FigureOptions = DEFAULT_OPTIONS,
    exclude: Collection[int] = (),
) -> list[HeatmapPanel]:
    """The paper's Figure 4 from a distances table: one heatmap per epoch, saved to ``out``.

    Each panel is runs x runs of layer 0's NNSTD, or for ``layer`` L > 0 the
    mean over layers 0..L (leaving out ``exclude``, the dense layers under
    ``options.sparse_only``). Returns the panels (``out=None`` computes
    them without drawing).
    """
    what = layer_title(layer, tuple(exclude))
    panels = []
    for e in epochs:
        runs, matrix = figure4_matrix(distances, e, layer, method, exclude=exclude)
        panels.append(HeatmapPanel(f"epoch {e}", runs, matrix))
    if out is not None:
        plot_heatmaps(
            panels, out, suptitle=f"NNSTD across runs ({what})", options=options,
            value_label=f"NNSTD, {what}",
        )  # fmt: skip
    return panels


#: Spectral properties drawn against accuracy, with their axis labels.
SPECTRAL_METRICS: dict[str, str] = {
    "lcc_algebraic_connectivity": "algebraic connectivity λ2(L) of the largest component",
    "spectral_gap": "spectral gap σ1 − σ2",
}


def plot_spectral_accuracy(
    rows: Sequence[dict[str, object]],
    out: Path,
    options: FigureOptions = DEFAULT_OPTIONS,
    exclude: Collection[int] = (),
    metrics: Sequence[str] = tuple(SPECTRAL_METRICS),
    runs: Sequence[str] | None = None,
) -> Path:
    """Each layer's spectral properties against the checkpoint's test accuracy.

    ``rows``: the named query ``spectral_vs_accuracy`` (run, epoch, accuracy,
    layer and the properties). One row of panels per layer (leaving out
    ``exclude``, the dense layers under ``sparse_only``), one column per
    metric; a point per checkpoint in its run's style, Spearman's rho of the
    panel in its title. ``runs``: every run the other figures show, so a
    run keeps its style even where some runs have no accuracy (default:
    the runs in ``rows``).
    """
    from topograph.pipeline.correlation import spearman

    out = check_figure_path(out)
    skip = set(exclude)
    layers = sorted({int(r["layer"]) for r in rows if int(r["layer"]) not in skip})  # type: ignore[call-overload]
    if not layers:
        raise InputError(
            "no spectral properties beside an accuracy: ingest runs with accuracies and run "
            "analyze --spectral first"
        )
    everyone = sorted(set(runs) if runs is not None else {str(r["run"]) for r in rows})
    styles = run_styles(everyone, options)
    labels = dict(zip(everyone, short_labels(everyone), strict=True))
    runs = [run for run in everyone if any(r["run"] == run for r in rows)]
    fig = Figure(figsize=(4.6 * len(metrics) + 1.4, 3.4 * len(layers) + 0.6), layout="constrained")
    axes = fig.subplots(len(layers), len(metrics), squeeze=False)
    for i, layer in enumerate(layers):
        mine = [r for r in rows if r["layer"] == layer]
        for j, metric in enumerate(metrics):
            ax = axes[i][j]
            for run in runs:
                pts = [r for r in mine if r["run"] == run]
                if not pts:
                    continue
                style = styles[run]
                ax.scatter(
                    [r[metric] for r in pts], [r["accuracy"] for r in pts],
                    color=style.colour, marker=style.marker, s=22, label=labels[run],
                    edgecolors="black", linewidths=0.3,
                )  # fmt: skip
            s = spearman([float(r[metric]) for r in mine], [float(r["accuracy"]) for r in mine])  # type: ignore[arg-type]
            ax.set_title(f"layer {layer}: {s.label()}", fontsize=9)
            ax.set_xlabel(SPECTRAL_METRICS.get(metric, metric), fontsize=8)
            ax.set_ylabel("test accuracy (fraction correct)", fontsize=8)
            ax.grid(True, alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside right center", fontsize=8, title="run")
    fig.suptitle("Spectral properties of each layer against test accuracy")
    return save_figure(fig, out, options)
