"""``topograph generate``: deterministic networks in every checkpoint format, read back exactly."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from topograph.cli import app
from topograph.constructions import changed_connections
from topograph.errors import InputError
from topograph.loaders import open_source
from topograph.pipeline.generate import (
    GenerateSpec,
    generate,
    generate_checkpoints,
    write_reference_layout,
)
from topograph.session import connect

runner = CliRunner()
SMALL = (64, 48, 32, 10)


def _hashes(folder: Path) -> dict[tuple[str, int], str]:
    with open_source(folder) as src:
        return {tuple(k): src.load(*k).content_hash for k in src.keys()}  # type: ignore[misc]


def test_the_same_seed_gives_the_same_checkpoints(tmp_path: Path) -> None:
    spec = GenerateSpec("left_regular", SMALL, degree=3, runs=2, epochs=2, seed=7)
    generate(spec, tmp_path / "a")
    generate(spec, tmp_path / "b")
    a, b = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert a == b and len(a) == 6
    generate(
        GenerateSpec("left_regular", SMALL, degree=3, runs=2, epochs=2, seed=8), tmp_path / "c"
    )
    assert set(_hashes(tmp_path / "c").values()).isdisjoint(a.values())


def test_a_run_does_not_depend_on_how_many_runs_are_asked_for() -> None:
    one = generate_checkpoints(GenerateSpec("erdos_renyi", SMALL, density=0.1, runs=1))
    three = generate_checkpoints(GenerateSpec("erdos_renyi", SMALL, density=0.1, runs=3))
    assert one[0].content_hash == three[0].content_hash
    assert len({ck.content_hash for ck in three}) == 3


def test_written_layout_reads_back_exactly(tmp_path: Path) -> None:
    checkpoints = generate_checkpoints(
        GenerateSpec("biregular", SMALL, degree=6, runs=1, dense_last=True)
    )
    write_reference_layout(checkpoints, tmp_path, accuracy={"biregular_s0_w0": [0.1, 0.25]})
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == [
        "biregular_s0_w0/epoch_000/weight_l0.npz",
        "biregular_s0_w0/epoch_000/weight_l1.npz",
        "biregular_s0_w0/epoch_000/weight_l2.npz",
        "biregular_s0_w0/testacc.txt",
    ]
    import scipy.sparse as sp

    raw = sp.load_npz(tmp_path / "biregular_s0_w0/epoch_000/weight_l0.npz")
    assert raw.shape == (65, 48) and raw.tocsr()[-1].nnz == 0  # the bias row, zero
    with open_source(tmp_path) as src:
        back = src.load("biregular_s0_w0", 0)
    assert back.accuracy == 0.1
    for got, want in zip(back.layers, checkpoints[0].layers, strict=True):
        assert (got != want).nnz == 0 and got.dtype == np.float32
    # the defining property, read from the files: every input has 6 outputs,
    # every output 64 * 6 / 48 = 8 inputs (layer 1: 6 and 48 * 6 / 32 = 9)
    for k, fan_in in ((0, 8.0), (1, 9.0)):
        w = back.pattern(k)
        assert set(np.asarray(w.sum(axis=1)).ravel()) == {6.0}
        assert set(np.asarray(w.sum(axis=0)).ravel()) == {fan_in}
    assert back.layers[2].nnz == 32 * 10  # dense output layer


def test_set_evolution_changes_exactly_zeta_of_the_connections() -> None:
    cks = generate_checkpoints(GenerateSpec("erdos_renyi", SMALL, density=0.2, epochs=3, zeta=0.3))
    assert [ck.epoch for ck in cks] == [0, 1, 2, 3]
    for prev, nxt in itertools.pairwise(cks):
        for k in range(3):
            nnz = prev.layers[k].nnz
            removed, added = changed_connections(prev.layers[k], nxt.layers[k])
            assert removed == added == int(np.floor(0.3 * nnz + 0.5))


def test_figure4_networks_differ_by_one_percent_in_a_chain() -> None:
    cks = generate_checkpoints(GenerateSpec("figure4", (784, 784, 10), runs=3, dense_last=True))
    assert [ck.run for ck in cks] == ["figure4_s0_w0", "figure4_s0_w1", "figure4_s0_w2"]
    for prev, nxt in itertools.pairwise(cks):
        removed, added = changed_connections(prev.layers[0], nxt.layers[0])
        assert removed == added == int(np.floor(0.01 * prev.layers[0].nnz + 0.5))
        assert (prev.layers[1] != nxt.layers[1]).nnz == 0  # the dense layer never changes


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"construction": "nope", "degree": 2}, "unknown construction"),
        ({"construction": "regular"}, "exactly one of"),
        ({"construction": "regular", "density": 0.1}, "takes a --degree"),
        ({"construction": "erdos_renyi", "degree": 2, "density": 0.1}, "exactly one of"),
        ({"construction": "figure4", "degree": 2}, "takes a density"),
        ({"construction": "regular", "degree": 2, "runs": 0}, "runs must be"),
        ({"construction": "regular", "degree": 2, "widths": (5,)}, "widths"),
    ],
)
def test_bad_specs_are_one_line_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        GenerateSpec(**kwargs)


@pytest.mark.slow
def test_cli_writes_files_and_ingests_them(tmp_path: Path) -> None:
    db = tmp_path / "g.lbdb"
    res = runner.invoke(
        app,
        ["generate", "regular", "--widths", "64,48,10", "--degree", "3", "--runs", "2",
         "--epochs", "1", "--out", str(tmp_path / "nets"), "--db", str(db)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "4 checkpoints stored" in res.stdout and "generated 4 checkpoints" in res.stdout
    with connect(str(db), read_only=True) as tg:
        assert tg.status().runs == {"regular_s0_w0": [0, 1], "regular_s0_w1": [0, 1]}
    again = runner.invoke(
        app,
        ["generate", "regular", "--widths", "64,48,10", "--degree", "3", "--runs", "2",
         "--epochs", "1", "--db", str(db)],
    )  # fmt: skip
    assert again.exit_code == 0 and "0 checkpoints stored, 4 already there" in again.stdout
    nowhere = runner.invoke(app, ["generate", "regular", "--degree", "3"])
    assert nowhere.exit_code == 1 and "--out FOLDER and/or --db" in nowhere.stderr


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize(
    "fmt",
    [
        "npz",
        "safetensors",
        pytest.param(
            "pt",
            marks=pytest.mark.skipif(not _have_torch(), reason="needs torch: the [torch] extra"),
        ),
    ],
)
def test_every_format_reads_back_to_the_same_checkpoints(tmp_path: Path, fmt: str) -> None:
    spec = GenerateSpec("left_regular", SMALL, degree=3, runs=2, epochs=1, dense_last=True)
    generate(spec, tmp_path / "reference")
    report = generate(spec, tmp_path / fmt, fmt)  # type: ignore[arg-type]
    files = sorted(p.relative_to(tmp_path / fmt).as_posix() for p in (tmp_path / fmt).rglob("*"))
    assert f"left_regular_s0_w1/epoch_001.{fmt}" in files and len(report.keys) == 4
    assert _hashes(tmp_path / fmt) == _hashes(tmp_path / "reference")
    with open_source(tmp_path / fmt) as src:
        back = src.load("left_regular_s0_w0", 0)
    for got, want in zip(back.layers, generate_checkpoints(spec)[0].layers, strict=True):
        assert got.shape == want.shape and (got != want).nnz == 0


def test_cli_format_and_its_refusal(tmp_path: Path) -> None:
    db = tmp_path / "f.lbdb"
    res = runner.invoke(
        app,
        ["generate", "erdos_renyi", "--widths", "64,48,10", "--epsilon", "2", "--format",
         "safetensors", "--out", str(tmp_path / "nets"), "--db", str(db)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "nets" / "erdos_renyi_s0_w0" / "epoch_000.safetensors").is_file()
    assert "1 checkpoints stored" in res.stdout
    bad = runner.invoke(
        app, ["generate", "regular", "--degree", "3", "--format", "h5", "--out", str(tmp_path)]
    )
    assert bad.exit_code == 1 and "--format 'h5': use one of reference, npz" in bad.stderr
