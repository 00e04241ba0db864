"""``topograph study spectra`` and ``topograph study accuracy`` from the command line."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from topograph.cli import app
from topograph.pipeline.study import STUDY_SCHEMA, StudyGrid

runner = CliRunner()


@pytest.mark.slow
def test_study_spectra_writes_the_table_and_figure(tmp_path: Path) -> None:
    out, fig = tmp_path / "study.parquet", tmp_path / "study.svg"
    res = runner.invoke(
        app, ["study", "spectra", "--replicates", "1", "--out", str(out), "--plot", str(fig)]
    )
    assert res.exit_code == 0, res.output
    table = pq.read_table(out)
    assert table.schema.names == STUDY_SCHEMA.names
    assert table.num_rows == len(StudyGrid(replicates=1).cells())
    assert "256 x 256 layers" in res.stdout and fig.stat().st_size > 20_000


def test_study_spectra_refuses_a_bad_figure_path_before_working(tmp_path: Path) -> None:
    res = runner.invoke(app, ["study", "spectra", "--plot", str(tmp_path / "s.jpg")])
    assert res.exit_code == 1 and "figures are written as" in res.stderr


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("sklearn") is None,
    reason="the accuracy study needs torch and scikit-learn: pip install '.[study]'",
)
def test_study_accuracy_prints_the_correlations(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["study", "accuracy", "--db", str(tmp_path / "a.lbdb"), "--hidden", "32", "--degree", "2",
         "--degree", "8", "--construction", "regular", "--construction", "erdos_renyi",
         "--replicates", "2", "--epochs", "2", "--out", str(tmp_path / "a.parquet"),
         "--correlations", str(tmp_path / "c.parquet"), "--plot", str(tmp_path / "a.png")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "8 networks of 64-32-10 trained for 2 epochs" in res.stdout
    assert "Spearman rank correlation of test accuracy with:" in res.stdout
    assert pq.read_table(tmp_path / "a.parquet").num_rows == 8
    corr = pq.read_table(tmp_path / "c.parquet").to_pylist()
    assert {r["scope"] for r in corr} == {"all", "degree 2", "degree 8"}
    assert (tmp_path / "a.png").stat().st_size > 20_000
