"""Figures: NNSTD heatmaps in the style of the paper's Figure 4.

Uses matplotlib's non-interactive Agg back end: figures go to files, never to
a window, so plotting works on servers and in CI.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pyarrow as pa

from topograph.errors import InputError
from topograph.pipeline.tables import check_parent, figure4_matrix, one_method

__all__ = [
    "FIGURE_SUFFIXES",
    "HeatmapPanel",
    "RunCurve",
    "check_figure_path",
    "evolution_curves",
    "plot_evolution",
    "plot_figure4",
    "plot_heatmaps",
    "short_labels",
]


#: Image formats the figures can be written in.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def check_figure_path(out: Path) -> Path:
    """Refuse, before any work, a figure path matplotlib could not write."""
    out = Path(out)
    if out.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(f"{out}: figures are written as {', '.join(FIGURE_SUFFIXES)}")
    check_parent(out)
    return out


@dataclass(frozen=True)
class HeatmapPanel:
    """One square heatmap: a title, labels for both axes, values in [0, 1]."""

    title: str
    labels: Sequence[str]
    matrix: np.ndarray


def _save(fig: plt.Figure, out: Path, **kwargs: object) -> None:
    try:
        check_parent(out)
        fig.savefig(out, dpi=130, **kwargs)  # type: ignore[arg-type]
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    finally:
        plt.close(fig)


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


def plot_heatmaps(panels: Sequence[HeatmapPanel], out: Path, suptitle: str | None = None) -> Path:
    """Draw the panels side by side (colour range fixed to 0..1) and save to ``out``.

    The format follows the file suffix (``.png``, ``.pdf``, ``.svg``).
    """
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n + 0.8, 3.9), squeeze=False)
    image = None
    for ax, panel in zip(axes[0], panels, strict=True):
        labels = short_labels(panel.labels)
        image = ax.imshow(panel.matrix, vmin=0.0, vmax=1.0, cmap="gnuplot", interpolation="none")
        ticks = np.arange(len(labels))
        ax.set_xticks(ticks, labels=labels, rotation=90, fontsize=8)
        ax.set_yticks(ticks, labels=labels, fontsize=8)
        ax.set_title(panel.title, fontsize=10)
    if image is not None:
        fig.colorbar(
            image, ax=list(axes[0]), fraction=0.046 / max(1, n) * 2, pad=0.02, label="NNSTD"
        )
    if suptitle:
        fig.suptitle(suptitle)
    out = check_figure_path(out)
    _save(fig, out, bbox_inches="tight")
    return out


@dataclass(frozen=True)
class RunCurve:
    """One run's evolution: NNSTD to its first epoch and accuracy, per epoch."""

    run: str
    distance_epochs: Sequence[int]
    distances: Sequence[float]
    accuracy_epochs: Sequence[int]
    accuracies: Sequence[float]


def plot_evolution(curves: Sequence[RunCurve], out: Path, layer_note: str = "") -> Path:
    """Two panels against epoch: NNSTD to the first epoch, and test accuracy; a line per run."""
    fig, (ax_d, ax_a) = plt.subplots(1, 2, figsize=(10, 4))
    labels = short_labels([c.run for c in curves])
    for curve, label in zip(curves, labels, strict=True):
        ax_d.plot(curve.distance_epochs, curve.distances, marker="o", ms=3, label=label)
        if curve.accuracies:
            ax_a.plot(curve.accuracy_epochs, curve.accuracies, marker="o", ms=3, label=label)
    ax_d.set_xlabel("epoch")
    ax_d.set_ylabel("NNSTD to the first epoch" + (f" ({layer_note})" if layer_note else ""))
    ax_d.set_ylim(0, 1)
    ax_a.set_xlabel("epoch")
    ax_a.set_ylabel("test accuracy")
    ax_d.legend(fontsize=7, ncol=2)
    if any(c.accuracies for c in curves):
        ax_a.legend(fontsize=7, ncol=2)
    else:
        ax_a.text(
            0.5, 0.5, "no accuracy recorded", ha="center", va="center", transform=ax_a.transAxes
        )
    fig.suptitle("Topology evolution along training")
    fig.tight_layout()
    out = check_figure_path(out)
    _save(fig, out)
    return out


def evolution_curves(
    distances: pa.Table, checkpoints: pa.Table, layer: int | None = None, method: str | None = None
) -> list[RunCurve]:
    """Per run: NNSTD from its first epoch to each later one, and its accuracy curve.

    ``distances``/``checkpoints``: tables of :mod:`topograph.parquet`. The
    distance is the network mean, or layer ``layer``'s when given; ``method``
    selects one NNSTD method's rows (required when several are stored).
    """
    firsts: dict[str, int] = {}
    acc: dict[str, list[tuple[int, float]]] = {}
    for r in checkpoints.to_pylist():
        firsts[r["run"]] = min(firsts.get(r["run"], r["epoch"]), r["epoch"])
        if r["accuracy"] is not None:
            acc.setdefault(r["run"], []).append((r["epoch"], r["accuracy"]))
    per_pair: dict[tuple[str, int], list[float]] = {}
    for r in one_method(distances.to_pylist(), method):
        run = r["run_a"]
        if r["run_b"] != run or r["epoch_a"] != firsts.get(run):
            continue
        if layer is None or r["layer"] == layer:
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
) -> list[HeatmapPanel]:
    """The paper's Figure 4 from a distances table: one heatmap per epoch, saved to ``out``.

    Each panel is runs x runs of the mean NNSTD over layers 0..``layer``.
    Returns the panels (``out=None`` computes them without drawing).
    """
    panels = []
    for e in epochs:
        runs, matrix = figure4_matrix(distances, e, layer, method)
        panels.append(HeatmapPanel(f"Epoch {e}, layer {layer}", runs, matrix))
    if out is not None:
        plot_heatmaps(panels, out, suptitle=f"NNSTD across runs (mean of layers 0..{layer})")
    return panels
