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

__all__ = ["HeatmapPanel", "plot_heatmaps", "short_labels"]


@dataclass(frozen=True)
class HeatmapPanel:
    """One square heatmap: a title, labels for both axes, values in [0, 1]."""

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
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return out
