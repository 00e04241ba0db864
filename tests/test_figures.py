"""Figures fit for a paper: options, colour range, run styles, formats, dense layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from matplotlib.colors import to_rgba

from topograph.errors import InputError
from topograph.pipeline.figures import (
    FigureOptions,
    colour_range,
    layer_title,
    run_styles,
    save_figure,
    spread_band,
)
from topograph.pipeline.plot import (
    HeatmapPanel,
    RunCurve,
    evolution_figure,
    heatmap_figure,
    plot_evolution,
    plot_heatmaps,
)
from topograph.pipeline.tables import figure4_matrix, schema

RUNS = [f"e5_s0_w{i}" for i in range(10)]


def _curves(without_accuracy: tuple[int, ...] = (2, 5, 8)) -> list[RunCurve]:
    epochs = [0, 10, 20]
    return [
        RunCurve(
            run=run,
            distance_epochs=epochs,
            distances=[0.0, 0.3 + i / 100, 0.4 + i / 100],
            accuracy_epochs=[] if i in without_accuracy else epochs,
            accuracies=[] if i in without_accuracy else [0.1, 0.8 + i / 100, 0.85 + i / 100],
        )
        for i, run in enumerate(RUNS)
    ]


def _line_colours(ax: object) -> dict[str, tuple[float, ...]]:
    return {ln.get_label(): to_rgba(ln.get_color()) for ln in ax.get_lines()}  # type: ignore[attr-defined]


def test_options_are_checked() -> None:
    with pytest.raises(InputError, match="colour map"):
        FigureOptions(cmap="no-such-map")
    with pytest.raises(InputError, match="vmin"):
        FigureOptions(vmin=0.5, vmax=0.5)
    with pytest.raises(InputError, match="dpi"):
        FigureOptions(dpi=5)
    assert FigureOptions().cmap == "viridis"
    assert FigureOptions().with_(cmap="cividis").cmap == "cividis"


def test_a_run_keeps_its_colour_in_both_panels_when_some_runs_lack_accuracy() -> None:
    """The bug: w3 was red on the left and green on the right (the cycle restarted)."""
    fig = evolution_figure(_curves())
    ax_d, ax_a = fig.axes[:2]
    left, right = _line_colours(ax_d), _line_colours(ax_a)
    assert set(right) == {f"w{i}" for i in range(10)} - {"w2", "w5", "w8"}
    for label, colour in right.items():
        assert colour == left[label], label
    markers_left = {ln.get_label(): ln.get_marker() for ln in ax_d.get_lines()}
    markers_right = {ln.get_label(): ln.get_marker() for ln in ax_a.get_lines()}
    assert all(markers_right[k] == markers_left[k] for k in markers_right)


def test_ten_runs_are_distinguishable() -> None:
    styles = run_styles(RUNS)
    combos = {(s.colour, s.marker, s.linestyle) for s in styles.values()}
    assert len(combos) == 10
    assert len({s.colour for s in styles.values()}) == 10
    assert len({s.marker for s in styles.values()}) == 10
    # the same runs, in any order, give the same styles
    assert run_styles(list(reversed(RUNS))) == styles


def test_bands_show_mean_and_spread() -> None:
    fig = evolution_figure(_curves(()), options=FigureOptions(bands=True))
    ax_d = fig.axes[0]
    labels = [ln.get_label() for ln in ax_d.get_lines()]
    assert "mean of 10 runs" in labels
    assert len(ax_d.collections) == 2  # ± 1 s.d. and min-max
    xs, mean, std, lo, hi, count = spread_band([([0, 1], [1.0, 3.0]), ([0, 1], [3.0, 5.0])])
    assert xs.tolist() == [0, 1] and mean.tolist() == [2.0, 4.0] and std.tolist() == [1.0, 1.0]
    assert lo.tolist() == [1.0, 3.0] and hi.tolist() == [3.0, 5.0] and count.tolist() == [2, 2]


def _panel(values: list[list[float]]) -> HeatmapPanel:
    return HeatmapPanel("epoch 0", ["a", "b", "c"], np.array(values))


def test_colour_range_is_automatic_unless_fixed() -> None:
    m = [[0.0, 0.2, 0.3], [0.2, 0.0, 0.4], [0.3, 0.4, 0.0]]
    fig = heatmap_figure([_panel(m)])
    image = fig.axes[0].get_images()[0]
    assert image.get_clim() == (0.2, 0.4)  # off-diagonal range: the zero diagonal is grey
    fixed = heatmap_figure([_panel(m)], options=FigureOptions(vmin=0.0, vmax=1.0))
    assert fixed.axes[0].get_images()[0].get_clim() == (0.0, 1.0)
    assert colour_range([0.5, 0.5], FigureOptions()) == (0.5, 0.55)
    assert colour_range([0.1, 0.3], FigureOptions(vmin=0.0)) == (0.0, 0.3)


def test_annotate_writes_each_off_diagonal_cell() -> None:
    m = [[0.0, 0.25, 0.3], [0.25, 0.0, 0.4], [0.3, 0.4, 0.0]]
    ax = heatmap_figure([_panel(m)], options=FigureOptions(annotate=True)).axes[0]
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == sorted(["0.25", "0.30", "0.25", "0.40", "0.30", "0.40"])
    assert ax.get_xlabel() == "run (network b)" and ax.get_ylabel() == "run (network a)"


@pytest.mark.slow
def test_format_follows_the_extension_and_dpi_the_size(tmp_path: Path) -> None:
    panels = [_panel([[0.0, 0.2, 0.3], [0.2, 0.0, 0.4], [0.3, 0.4, 0.0]])]
    svg = plot_heatmaps(panels, tmp_path / "h.svg")
    pdf = plot_heatmaps(panels, tmp_path / "h.pdf")
    assert b"<svg" in svg.read_bytes()[:400] and pdf.read_bytes()[:5] == b"%PDF-"
    from PIL import Image

    small = plot_evolution(_curves(), tmp_path / "e1.png", options=FigureOptions(dpi=50))
    large = plot_evolution(_curves(), tmp_path / "e2.png", options=FigureOptions(dpi=100))
    w1, h1 = Image.open(small).size
    w2, h2 = Image.open(large).size
    assert abs(w2 / w1 - 2) < 0.05 and abs(h2 / h1 - 2) < 0.05
    with pytest.raises(InputError, match="figures are written as"):
        save_figure(heatmap_figure(panels), tmp_path / "h.jpg")


def test_titles_say_which_layers() -> None:
    assert layer_title(0) == "layer 0"
    assert layer_title(2) == "mean of layers 0..2"
    assert layer_title(3, (3,)) == "mean of layers 0..3 without dense layer 3"
    assert layer_title(1, (1,)) == "layer 0"


def test_sparse_only_leaves_dense_layers_out_of_the_mean() -> None:
    """Against the per-layer rows themselves: the Figure-4 cell is the mean of the kept layers."""
    rows = []
    cells = (
        ("w1", "w0", [0.2, 0.4, 0.6, 0.0]),
        ("w2", "w0", [0.3, 0.3, 0.3, 0.0]),
        ("w2", "w1", [0.1, 0.5, 0.3, 0.0]),
    )
    for run_a, run_b, layers in cells:
        for k, d in enumerate(layers):
            rows.append(
                {"run_a": run_a, "epoch_a": 0, "run_b": run_b, "epoch_b": 0, "layer": k,
                 "distance": d, "method": "reference"}
            )  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=schema("distances"))
    runs, with_dense = figure4_matrix(table, 0, 3)
    _, without = figure4_matrix(table, 0, 3, exclude=(3,))
    assert runs == ["w0", "w1", "w2"]
    assert with_dense[1, 0] == pytest.approx((0.2 + 0.4 + 0.6 + 0.0) / 4)
    assert without[1, 0] == pytest.approx((0.2 + 0.4 + 0.6) / 3)
    assert without[2, 1] == pytest.approx((0.1 + 0.5 + 0.3) / 3)
    with pytest.raises(InputError, match="all dense"):
        figure4_matrix(table, 0, 0, exclude=(0,))
