"""Plenty of winning tickets: very different topologies that reach the same accuracy.

Liu et al. (ECML-PKDD 2020) observe that sparse networks trained from
different random starts end far apart in topology (large NNSTD) while their
accuracies are nearly equal: there are many sparse sub-networks as good as
each other, not one winning ticket. This module puts numbers on that for
whatever the store holds: every pair of checkpoints at the same epoch, the
stored NNSTD mean of the pair (over all layers, the reference's mean) against
the absolute difference of their test accuracies. The pairs with NNSTD at
least ``min_distance`` and accuracy gap at most ``max_accuracy_gap`` are the
"tickets"; both come from the named query ``winning_tickets`` (the plot asks
it for every pair, with thresholds 0 and 1, and shades the ticket region).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from topograph.errors import InputError
from topograph.pipeline.figures import (
    DEFAULT_OPTIONS,
    FigureOptions,
    check_figure_path,
    save_figure,
)
from topograph.pipeline.queries import run_named
from topograph.stores import GraphStore
from topograph.stores.base import plain

__all__ = [
    "DEFAULT_MAX_ACCURACY_GAP",
    "DEFAULT_MIN_DISTANCE",
    "TicketPair",
    "TicketSummary",
    "all_pairs",
    "plot_tickets",
    "summarize",
    "winning_tickets",
]

#: NNSTD mean (over all layers) from which two topologies count as different. In the
#: published SET networks the dense output layer adds a 0 to that mean, so 0.3 there is 0.4
#: over the three sparse layers: after the best matching, 40 % of the inputs differ.
DEFAULT_MIN_DISTANCE = 0.3
#: Accuracy difference (fraction correct) up to which two networks count as equally good.
DEFAULT_MAX_ACCURACY_GAP = 0.01


@dataclass(frozen=True)
class TicketPair:
    """One same-epoch pair: NNSTD mean (a -> b), both accuracies and their absolute gap."""

    epoch: int
    run_a: str
    run_b: str
    distance: float
    accuracy_a: float
    accuracy_b: float
    accuracy_gap: float
    method: str

    def is_ticket(self, min_distance: float, max_accuracy_gap: float) -> bool:
        return self.distance >= min_distance and self.accuracy_gap <= max_accuracy_gap


def _pairs(store: GraphStore, min_distance: float, max_accuracy_gap: float) -> list[TicketPair]:
    rows = run_named(
        store, "winning_tickets",
        {"min_distance": min_distance, "max_accuracy_gap": max_accuracy_gap},
    )  # fmt: skip
    return [TicketPair(**{k: plain(v) for k, v in r.items()}) for r in rows.dicts()]


def winning_tickets(
    store: GraphStore,
    min_distance: float = DEFAULT_MIN_DISTANCE,
    max_accuracy_gap: float = DEFAULT_MAX_ACCURACY_GAP,
) -> list[TicketPair]:
    """The pairs the ``winning_tickets`` query returns for these thresholds."""
    return _pairs(store, min_distance, max_accuracy_gap)


def all_pairs(store: GraphStore) -> list[TicketPair]:
    """Every same-epoch pair with both accuracies (the query with thresholds 0 and 1)."""
    return _pairs(store, 0.0, 1.0)


@dataclass(frozen=True)
class TicketSummary:
    """How many pairs are tickets, overall and per epoch, and the ranges they span."""

    pairs: int
    tickets: int
    min_distance: float
    max_accuracy_gap: float
    per_epoch: dict[int, tuple[int, int]]  # epoch -> (tickets, pairs)
    distance_range: tuple[float, float]
    gap_range: tuple[float, float]
    method: str | None

    @property
    def fraction(self) -> float:
        return self.tickets / self.pairs if self.pairs else math.nan

    def describe(self) -> str:
        """One paragraph of numbers, for the command line and the report."""
        if not self.pairs:
            return "no same-epoch pair with both accuracies and a stored NNSTD"
        per = ", ".join(f"epoch {e}: {t}/{n}" for e, (t, n) in sorted(self.per_epoch.items()))
        return (
            f"{self.tickets} of {self.pairs} same-epoch pairs ({self.fraction:.0%}) have NNSTD "
            f">= {self.min_distance:g} and accuracies within {self.max_accuracy_gap:g} "
            f"({per}); NNSTD spans {self.distance_range[0]:.3f}..{self.distance_range[1]:.3f}, "
            f"accuracy gaps {self.gap_range[0]:.4f}..{self.gap_range[1]:.4f}"
        )


def _one_method(pairs: Sequence[TicketPair], method: str | None) -> list[TicketPair]:
    if method is not None:
        return [p for p in pairs if p.method == method]
    methods = sorted({p.method for p in pairs})
    if len(methods) > 1:
        raise InputError(
            f"NNSTD of several methods is stored ({', '.join(methods)}); choose one with --method"
        )
    return list(pairs)


def summarize(
    pairs: Sequence[TicketPair],
    min_distance: float = DEFAULT_MIN_DISTANCE,
    max_accuracy_gap: float = DEFAULT_MAX_ACCURACY_GAP,
    method: str | None = None,
) -> TicketSummary:
    """Count the tickets among ``pairs`` (every same-epoch pair: :func:`all_pairs`)."""
    chosen = _one_method(pairs, method)
    per_epoch: dict[int, tuple[int, int]] = {}
    tickets = 0
    for p in chosen:
        hit = p.is_ticket(min_distance, max_accuracy_gap)
        t, n = per_epoch.get(p.epoch, (0, 0))
        per_epoch[p.epoch] = (t + hit, n + 1)
        tickets += hit
    dist = [p.distance for p in chosen]
    gaps = [p.accuracy_gap for p in chosen]
    return TicketSummary(
        pairs=len(chosen),
        tickets=tickets,
        min_distance=min_distance,
        max_accuracy_gap=max_accuracy_gap,
        per_epoch=per_epoch,
        distance_range=(min(dist), max(dist)) if dist else (math.nan, math.nan),
        gap_range=(min(gaps), max(gaps)) if gaps else (math.nan, math.nan),
        method=method or (chosen[0].method if chosen else None),
    )


def plot_tickets(
    pairs: Sequence[TicketPair],
    out: Path,
    min_distance: float = DEFAULT_MIN_DISTANCE,
    max_accuracy_gap: float = DEFAULT_MAX_ACCURACY_GAP,
    method: str | None = None,
    options: FigureOptions = DEFAULT_OPTIONS,
) -> Path:
    """NNSTD against accuracy difference for every same-epoch pair; the ticket region shaded.

    One point per pair, coloured by epoch on ``options.cmap`` (epochs are
    ordered, so a sequential map reads), the region NNSTD >= ``min_distance``
    and gap <= ``max_accuracy_gap`` shaded and its count in the legend.
    """
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    out = check_figure_path(out)
    chosen = _one_method(pairs, method)
    if not chosen:
        raise InputError(
            "no same-epoch pair with both accuracies and a stored NNSTD: "
            "ingest runs with accuracies and run analyze --epoch first"
        )
    s = summarize(chosen, min_distance, max_accuracy_gap)
    x = np.array([p.distance for p in chosen])
    y = np.array([p.accuracy_gap for p in chosen])
    epochs = np.array([p.epoch for p in chosen])
    levels = sorted(set(epochs.tolist()))
    cmap = colormaps[options.cmap].resampled(max(len(levels), 2))
    norm = BoundaryNorm(np.arange(len(levels) + 1) - 0.5, cmap.N)
    position = {e: i for i, e in enumerate(levels)}

    fig = Figure(figsize=(7.5, 4.8), layout="constrained")
    ax = fig.subplots()
    x_hi = max(1.0, float(x.max()) * 1.02)
    y_hi = max(float(y.max()) * 1.6, max_accuracy_gap * 1.5, 1e-3)
    ax.add_patch(
        Rectangle(
            (min_distance, 0.0), x_hi - min_distance, max_accuracy_gap,
            facecolor="#f4a261", alpha=0.25, edgecolor="#e76f51", linewidth=1.0,
            label=f"winning tickets: {s.tickets} of {s.pairs} pairs "
            f"(NNSTD ≥ {min_distance:g}, gap ≤ {max_accuracy_gap:g})",
        )
    )  # fmt: skip
    points = ax.scatter(
        x, y, c=[position[e] for e in epochs.tolist()], cmap=cmap, norm=norm,
        s=22, edgecolors="black", linewidths=0.3, zorder=3,
    )  # fmt: skip
    bar = fig.colorbar(points, ax=ax, ticks=range(len(levels)), label="epoch")
    bar.ax.set_yticklabels([str(e) for e in levels])
    ax.set_xlim(0.0, x_hi)
    ax.set_ylim(0.0, y_hi)
    # linear up to the ticket threshold, logarithmic above: early epochs' gaps of 0.1-0.2
    # must not squash the region that matters into a line
    ax.set_yscale("symlog", linthresh=max(max_accuracy_gap, 1e-4), linscale=2.0)
    ax.set_xlabel("NNSTD between the two networks (mean over layers)")
    ax.set_ylabel("|accuracy difference| (fraction correct;\nlinear to the threshold, log above)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("Same-epoch pairs of runs: topology distance against accuracy difference")
    return save_figure(fig, out, options)
