"""The command line: output, exit codes, one-line errors (in-process and subprocess)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from topograph.cli import app

runner = CliRunner()


def test_help_lists_commands() -> None:
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    assert "nnstd" in res.output and "matrix" in res.output
    for cmd in ("nnstd", "matrix"):
        sub = runner.invoke(app, [cmd, "--help"])
        assert sub.exit_code == 0 and "--method" in sub.output


def test_nnstd_json_reproduces_reference(sample_dir: Path, reference_rows: list[dict]) -> None:
    row = reference_rows[1]
    res = runner.invoke(
        app,
        [
            "nnstd",
            str(sample_dir),
            str(sample_dir),
            "--run-a",
            row["a"][0],
            "--epoch-a",
            str(row["a"][1]),
            "--run-b",
            row["b"][0],
            "--epoch-b",
            str(row["b"][1]),
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["layers"] == row["layers"] and got["mean"] == row["mean"]
    assert got["method"] == "reference"


def test_nnstd_table_from_checkpoint_folders(sample_dir: Path) -> None:
    res = runner.invoke(
        app,
        [
            "nnstd",
            str(sample_dir / "e5_s0_w0" / "epoch_000"),
            str(sample_dir / "e5_s0_w9" / "epoch_000"),
            "--method",
            "sparse",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "method sparse" in res.stdout and "0.3737751442151952" in res.stdout


def test_matrix_writes_parquet_and_plot(sample_dir: Path, tmp_path: Path) -> None:
    out, fig = tmp_path / "t.parquet", tmp_path / "fig.png"
    res = runner.invoke(
        app,
        [
            "matrix",
            str(sample_dir),
            "--epoch",
            "0",
            "--epoch",
            "190",
            "--layer",
            "1",
            "--out",
            str(out),
            "--plot",
            str(fig),
            "--workers",
            "1",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    assert pq.read_table(out).num_rows == 2 * 3 * 4
    assert fig.stat().st_size > 10_000 and fig.read_bytes()[:4] == b"\x89PNG"
    assert "epoch 190, layers 0..1" in res.stdout


def test_matrix_along_a_run(sample_dir: Path) -> None:
    res = runner.invoke(
        app,
        [
            "matrix",
            str(sample_dir),
            "--run",
            "e5_s0_w0",
            "--consecutive",
            "--workers",
            "1",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "e5_s0_w0@0 -> e5_s0_w0@10" in res.stdout and "e5_s0_w0@10 -> e5_s0_w0@190" in res.stdout


def _topograph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "topograph", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture()
def broken_sources(sample_dir: Path, tmp_path: Path) -> dict[str, list[str]]:
    """Each bad input and the command line that reads it."""
    missing = tmp_path / "missing" / "r" / "epoch_000"
    shutil.copytree(sample_dir / "e5_s0_w0" / "epoch_000", missing)
    (missing / "weight_l1.npz").unlink()

    corrupt = tmp_path / "corrupt" / "r" / "epoch_000"
    shutil.copytree(sample_dir / "e5_s0_w0" / "epoch_000", corrupt)
    (corrupt / "weight_l0.npz").write_bytes(b"PK\x03\x04 definitely not an npz")

    narrow = tmp_path / "narrow" / "r" / "epoch_000"
    narrow.mkdir(parents=True)
    sp.save_npz(narrow / "weight_l0.npz", sp.random(785, 100, density=0.05, format="csr"))

    hostile = tmp_path / "hostile.tar.gz"
    with tarfile.open(hostile, "w:gz") as tf:
        info = tarfile.TarInfo("../../etc/epoch_000/weight_l0.npz")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))

    good = str(sample_dir / "e5_s0_w0" / "epoch_000")
    return {
        "missing layer": ["nnstd", str(missing), good],
        "corrupt npz": ["nnstd", good, str(corrupt)],
        "shapes differ": ["nnstd", good, str(narrow)],
        "archive with ..": ["matrix", str(hostile), "--epoch", "0"],
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("missing layer", "missing layer file weight_l1.npz"),
        ("corrupt npz", "not a readable scipy sparse .npz"),
        ("shapes differ", "layer widths differ"),
        ("archive with ..", "climbs out with '..'"),
    ],
)
def test_bad_input_one_line_error_nonzero_exit(
    case: str, needle: str, broken_sources: dict[str, list[str]]
) -> None:
    proc = _topograph(*broken_sources[case])
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and needle in lines[0]
    assert "Traceback" not in proc.stderr
    debug = _topograph("--debug", *broken_sources[case])
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_usage_errors_exit_nonzero(sample_dir: Path) -> None:
    res = runner.invoke(app, ["matrix", str(sample_dir)])
    assert res.exit_code == 1 and "--epoch E (across runs) or --run R" in res.output
    res = runner.invoke(app, ["nnstd", str(sample_dir), str(sample_dir)])
    assert res.exit_code == 1 and "9 checkpoints match" in res.output
    res = runner.invoke(app, ["nnstd", str(sample_dir), str(sample_dir), "--method", "fast"])
    assert res.exit_code == 1
    assert "unknown NNSTD method 'fast' (use reference, sparse, large, auto)" in res.output


def test_version() -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.strip().startswith("topograph 0.")


def test_figure_path_never_creates_folders_at_the_root(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["plot", "heatmap", "--epoch", "0", "--db", str(tmp_path / "g.lbdb"),
         "--out", "/topograph-missing-dir/sub/x.png"],
    )  # fmt: skip
    assert res.exit_code == 1
    assert "folder /topograph-missing-dir does not exist" in res.stderr
    assert not Path("/topograph-missing-dir").exists()
