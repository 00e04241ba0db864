"""How every topograph figure looks: one options object, one run -> style map, one writer.

Why a module of its own: the heatmaps, the evolution plot, the tickets plot,
the study figures and the HTML report all draw runs and colour scales. Doing
it in one place keeps a run's colour the same in every panel of a figure (a
run without accuracy used to shift the accuracy panel's colour cycle, so w3
was red on the left and green on the right) and lets one
:class:`FigureOptions` travel from the command line to every drawing
function instead of a parameter list copied into each.

Defaults are chosen for print: a perceptually uniform sequential colour map
(``viridis``; ``cividis`` is also safe for colour-blind readers), the colour
range fitted to the data unless fixed, 150 dpi for raster output, and vector
output (SVG, PDF) chosen by the file's extension.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

from topograph.errors import InputError
from topograph.pipeline.tables import check_parent

__all__ = [
    "FIGURE_SUFFIXES",
    "FigureOptions",
    "RunStyle",
    "check_figure_path",
    "colour_range",
    "layer_title",
    "run_styles",
    "save_figure",
    "spread_band",
]

#: Image formats the figures can be written in, chosen by the file's extension.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


@dataclass(frozen=True)
class FigureOptions:
    """Options every figure takes; pass one object through, never copy the parameters.

    ``cmap``: a matplotlib colour map name for value scales (heatmaps, the
    epoch colours of the tickets plot); perceptually uniform ``viridis`` by
    default. ``vmin``/``vmax``: fix the colour range (NNSTD units, 0..1);
    ``None`` fits it to the values shown (all panels share one range, so
    panels compare). ``annotate``: write each heatmap cell's value in it.
    ``dpi``: dots per inch of raster (PNG) output; vector formats ignore it
    except for embedded images. ``bands``: draw the mean over runs with a
    band of ± one standard deviation (and the min-max range, lighter) instead
    of one emphasised line per run, for figures of many runs.
    ``sparse_only``: leave out dense layers (every position connected, e.g.
    the 784 x 10 output layer of the SET networks): their NNSTD is always 0
    and their spectrum (σ1 = sqrt(784 * 10) = 88.5) dominates the
    whole-network values, so they hide what the sparse layers do.
    """

    cmap: str = "viridis"
    vmin: float | None = None
    vmax: float | None = None
    annotate: bool = False
    dpi: int = 150
    bands: bool = False
    sparse_only: bool = False

    def __post_init__(self) -> None:
        from matplotlib import colormaps

        if self.cmap not in colormaps:
            raise InputError(
                f"unknown colour map {self.cmap!r} (e.g. viridis, cividis, magma, plasma)"
            )
        for name in ("vmin", "vmax"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise InputError(f"{name} must be a finite number, got {value!r}")
        if self.vmin is not None and self.vmax is not None and self.vmin >= self.vmax:
            raise InputError(f"vmin ({self.vmin}) must be below vmax ({self.vmax})")
        if (
            isinstance(self.dpi, bool)
            or not isinstance(self.dpi, int)
            or not 20 <= self.dpi <= 1200
        ):
            raise InputError(f"dpi must be an integer between 20 and 1200, got {self.dpi!r}")

    def with_(self, **changes: Any) -> FigureOptions:
        """A copy with some options changed (validated again)."""
        return replace(self, **changes)


DEFAULT_OPTIONS = FigureOptions()


def check_figure_path(out: Path) -> Path:
    """Refuse, before any work, a figure path matplotlib could not write."""
    out = Path(out)
    if out.suffix.lower() not in FIGURE_SUFFIXES:
        raise InputError(f"{out}: figures are written as {', '.join(FIGURE_SUFFIXES)}")
    check_parent(out)
    return out


def save_figure(fig: Figure, out: Path, options: FigureOptions = DEFAULT_OPTIONS) -> Path:
    """Write ``fig`` to ``out`` (format from the extension) at ``options.dpi``.

    SVG text is kept as paths, so an SVG embedded in a page needs no fonts.
    """
    out = check_figure_path(out)
    try:
        with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "topograph"}):
            fig.savefig(out, dpi=options.dpi, bbox_inches="tight")
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    return out


def colour_range(
    values: Sequence[float] | np.ndarray, options: FigureOptions
) -> tuple[float, float]:
    """The colour range: ``options.vmin``/``vmax`` where fixed, else the finite values' range.

    A range of one value is widened by 0.05 (a flat map still has a colour
    bar that reads). No finite value at all gives 0..1.
    """
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[np.isfinite(arr)]
    lo = options.vmin if options.vmin is not None else (float(arr.min()) if arr.size else 0.0)
    hi = options.vmax if options.vmax is not None else (float(arr.max()) if arr.size else 1.0)
    if hi <= lo:  # one value, or a fixed bound beyond the data
        if options.vmax is None:
            hi = lo + 0.05
        else:
            lo = hi - 0.05
    return lo, hi


def layer_title(layer: int, exclude: Sequence[int] = ()) -> str:
    """What a Figure-4 value means: ``layer 0``, or ``mean of layers 0..L``.

    Layers in ``exclude`` (dense layers under ``sparse_only``) are named as
    left out, so a reader knows which mean is shown.
    """
    kept = [k for k in range(layer + 1) if k not in set(exclude)]
    if len(kept) == 1:
        return f"layer {kept[0]}"
    text = f"mean of layers 0..{layer}"
    dropped = [k for k in range(layer + 1) if k in set(exclude)]
    if dropped:
        text += (
            f" without dense layer{'s' if len(dropped) > 1 else ''} {', '.join(map(str, dropped))}"
        )
    return text


@dataclass(frozen=True)
class RunStyle:
    """How one run is drawn in every panel: colour, marker and line style."""

    colour: tuple[float, float, float, float]
    marker: str
    linestyle: str

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Axes.plot``."""
        return {"color": self.colour, "marker": self.marker, "linestyle": self.linestyle}


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
_LINESTYLES = ("-", "--", "-.", ":")


def run_styles(
    runs: Sequence[str], options: FigureOptions = DEFAULT_OPTIONS
) -> dict[str, RunStyle]:
    """A fixed style per run, from the sorted run names alone.

    Up to ten runs take the ten colours of matplotlib's ``tab10`` (a
    categorical palette: neighbours differ in hue, which a sequential map
    cannot give ten lines); more take evenly spaced colours of
    ``options.cmap``. Marker and line style change with the run as well, so
    runs stay apart in grey-scale print and for colour-blind readers. The
    same set of runs gives the same styles in every figure.
    """
    from matplotlib import colormaps

    names = sorted(set(runs))
    if len(names) <= 10:
        palette = colormaps["tab10"]
        colours = [palette(i) for i in range(len(names))]
    else:
        cmap = colormaps[options.cmap]
        colours = [cmap(0.92 * i / (len(names) - 1)) for i in range(len(names))]
    return {
        run: RunStyle(
            tuple(float(c) for c in colours[i]),  # type: ignore[arg-type]
            _MARKERS[i % len(_MARKERS)],
            _LINESTYLES[(i // 3) % len(_LINESTYLES)] if len(names) > 3 else "-",
        )
        for i, run in enumerate(names)
    }


def spread_band(
    series: Sequence[tuple[Sequence[int], Sequence[float]]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Across runs, per x: ``(x, mean, std, min, max, count)`` over the runs that have x.

    ``series``: one ``(xs, ys)`` per run. The standard deviation is the
    population one (ddof 0), so one run gives a band of width 0, not NaN.
    """
    per_x: dict[int, list[float]] = {}
    for xs, ys in series:
        for x, y in zip(xs, ys, strict=True):
            per_x.setdefault(int(x), []).append(float(y))
    xs_sorted = np.array(sorted(per_x), dtype=np.int64)
    vals = [np.asarray(per_x[int(x)]) for x in xs_sorted]
    mean = np.array([v.mean() for v in vals])
    std = np.array([v.std() for v in vals])
    lo = np.array([v.min() for v in vals])
    hi = np.array([v.max() for v in vals])
    count = np.array([v.size for v in vals])
    return xs_sorted, mean, std, lo, hi, count
