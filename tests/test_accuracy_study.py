"""The accuracy study: real training with fixed masks, recorded in the store, correlated honestly.

Training needs torch and scikit-learn (the ``[study]`` extra); those tests
skip without them. The missing-torch error and the correlation table do not.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from topograph.constructions import make_layer
from topograph.errors import InputError
from topograph.pipeline.accuracy_study import (
    AccuracyGrid,
    correlation_table,
    load_digits_split,
    plot_accuracy_study,
    train_cell,
    train_cells,
)

GRID = AccuracyGrid(
    constructions=("erdos_renyi", "biregular", "regular"),
    hidden=32,
    degrees=(2, 4),
    replicates=2,
    epochs=3,
)


def test_grid_cells_and_checks() -> None:
    # biregular needs 64 * d / 32 whole: both degrees are fine; 3 families x 2 x 2
    assert len(GRID.cells()) == 12
    assert GRID.cells()[0].run(GRID) == "acc_h32_s0_erdos_renyi_d2_r0"
    odd = AccuracyGrid(constructions=("biregular",), hidden=128, degrees=(3, 4), replicates=1)
    assert [c.degree for c in odd.cells()] == [4]  # 64 * 3 / 128 is not whole
    with pytest.raises(InputError, match="unknown construction"):
        AccuracyGrid(constructions=("nope",))
    with pytest.raises(InputError, match="degree 200"):
        AccuracyGrid(degrees=(200,))


def test_without_torch_it_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(InputError, match=r"needs torch and scikit-learn \(torch is missing\)"):
        load_digits_split()


def test_correlation_table_against_scipy() -> None:
    rng = np.random.default_rng(3)
    n = 24
    table = pa.table(
        {
            "accuracy": rng.uniform(0.9, 0.97, n),
            "degree": np.repeat([2, 4, 8], 8),
            "density": np.repeat([0.1, 0.2, 0.3], 8) + rng.normal(0, 0.001, n),
            "spectral_gap": rng.normal(size=n),
        }
    )
    corr = correlation_table(table, ("density", "spectral_gap")).to_pylist()
    assert [(r["scope"], r["metric"]) for r in corr][:2] == [
        ("all", "density"),
        ("all", "spectral_gap"),
    ]
    for r in corr:
        rows = (
            slice(None)
            if r["scope"] == "all"
            else table["degree"].to_numpy() == int(r["scope"][7:])
        )
        want = stats.spearmanr(
            table[r["metric"]].to_numpy()[rows], table["accuracy"].to_numpy()[rows]
        )
        assert r["rho"] == pytest.approx(want.statistic, abs=1e-12)
        assert r["n"] == (n if r["scope"] == "all" else 8)


needs_torch = pytest.mark.skipif(
    any(__import__("importlib").util.find_spec(m) is None for m in ("torch", "sklearn")),
    reason="the accuracy study needs torch and scikit-learn: pip install '.[study]'",
)


@needs_torch
@pytest.mark.slow
def test_masks_stay_fixed_and_batched_training_equals_training_alone() -> None:
    data = load_digits_split()
    assert (len(data.y_train), len(data.y_test)) == (1437, 360)
    cells = GRID.cells()[:4]
    together = train_cells(cells, GRID, data)
    for cell, net in zip(cells, together, strict=True):
        rng = cell.rng(GRID.seed, GRID.hidden)
        mask = make_layer(cell.construction, 64, GRID.hidden, cell.degree, rng=rng) != 0
        for ck in (net.start, net.final):  # the topology is the mask, before and after
            assert (ck.pattern(0) != mask).nnz == 0
            assert ck.layers[1].nnz == GRID.hidden * 10  # dense output layer
        assert len(net.accuracy) == GRID.epochs + 1
        assert all(0.0 <= a <= 1.0 for a in net.accuracy)
        assert net.accuracy[-1] > 0.5  # it learned something in 3 epochs
        assert not np.allclose(net.start.layers[0].data, net.final.layers[0].data)
    alone = train_cell(cells[1], GRID, data)
    assert alone.accuracy == together[1].accuracy
    np.testing.assert_allclose(
        alone.final.layers[0].toarray(), together[1].final.layers[0].toarray(), atol=1e-5
    )
    again = train_cells(cells, GRID, data)
    assert [n.final.content_hash for n in again] == [n.final.content_hash for n in together]


@needs_torch
@pytest.mark.slow
def test_study_records_in_the_store_and_reads_back(tmp_path: Path) -> None:
    import topograph

    grid = AccuracyGrid(
        constructions=("left_regular", "fibonacci"), hidden=32, degrees=(2, 8), replicates=2,
        epochs=2,
    )  # fmt: skip
    with topograph.connect(str(tmp_path / "acc.lbdb")) as tg:
        study = tg.study_accuracy(grid, checkpoints=tmp_path / "ckpts")
        assert study.trained == 8 and study.reused == 0
        stored = {r["run"]: r for r in tg.table("checkpoints").to_pylist() if r["epoch"] == 2}
        assert len(stored) == 8
        rows = study.table.to_pylist()
        for r in rows:  # the table holds what the store holds
            assert r["accuracy"] == stored[r["run"]]["accuracy"]
            assert r["density"] == pytest.approx(r["degree"] / 32, rel=1e-12)
        spectra = tg.query("spectral_vs_accuracy").dicts()
        assert {(s["run"], s["layer"]) for s in spectra if s["epoch"] == 2} == {
            (r["run"], k) for r in rows for k in (0, 1)
        }
        # the files are the reference layout with the accuracy curve
        curve = (tmp_path / "ckpts" / rows[0]["run"] / "testacc.txt").read_text().split()
        assert len(curve) == 3 and float(curve[2]) == rows[0]["accuracy"]
        # the same grid again trains the same networks and stores nothing new
        again = tg.study_accuracy(grid)
        assert again.reused == 16
        assert again.table.to_pylist() == rows
    corr = {(r["scope"], r["metric"]): r for r in study.correlations.to_pylist()}
    acc = [r["accuracy"] for r in rows]
    for metric in ("density", "spectral_gap", "lcc_algebraic_connectivity"):
        want = stats.spearmanr([r[metric] for r in rows], acc).statistic
        got = corr[("all", metric)]["rho"]
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, abs=1e-12)
    out = plot_accuracy_study(study.table, tmp_path / "acc.svg")
    assert out.stat().st_size > 10_000
