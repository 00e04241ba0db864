"""The README's input limits hold for every checkpoint format, not only the reference layout.

``TOPOGRAPH_MAX_NEURONS`` and ``TOPOGRAPH_MAX_EDGES`` are lowered below what
the real fixtures hold (the SET MLP: layers 64x32, 32x32, 32x10, 1,100
non-zero weights; the CNN: its dense head reads 256 rows), and each format's
file must then be refused with one line naming the variable; at the fixture's
own size it must load.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import topograph
from topograph import InputError

from conftest import REPO

FIX = REPO / "tests" / "data" / "checkpoints"
HAS_TORCH = importlib.util.find_spec("torch") is not None

#: One file (or reference-layout folder) of each format; all hold the SET MLP
#: but ``cnn``, whose largest matrix is the 256 x 10 head.
FILES = {
    "reference": FIX / "set-mlp/reference/run-0/epoch_001",
    "npz": FIX / "set-mlp/npz/run-0/epoch_001.npz",
    "safetensors": FIX / "set-mlp/safetensors/run-0/ckpt_0001.safetensors",
    "pt": FIX / "set-mlp/pt/run-0/epoch=1.pt",
    "weights.h5": FIX / "keras-mlp/weights-h5/run-0/epoch_1.weights.h5",
    "keras": FIX / "keras-mlp/keras/run-0/epoch_1.keras",
    "cnn": FIX / "cnn/safetensors/run-0/ckpt_0001.safetensors",
}


@pytest.fixture(params=sorted(FILES))
def checkpoint_file(request: pytest.FixtureRequest) -> Path:
    if request.param == "pt" and not HAS_TORCH:
        pytest.skip("reading .pt needs torch (pip install 'topograph[torch]')")
    return FILES[request.param]


def _sizes(path: Path) -> tuple[int, int]:
    """(most neurons on one side of a layer, non-zero weights) of the file as loaded."""
    ck = topograph.load(path)
    return max(max(w.shape) for w in ck.layers), sum(w.nnz for w in ck.layers)


def test_max_neurons_holds_for_every_format(
    checkpoint_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    widest, _ = _sizes(checkpoint_file)
    monkeypatch.setenv("TOPOGRAPH_MAX_NEURONS", str(widest))
    topograph.load(checkpoint_file)  # at the limit: read
    monkeypatch.setenv("TOPOGRAPH_MAX_NEURONS", str(widest - 1))
    with pytest.raises(InputError, match=r"TOPOGRAPH_MAX_NEURONS") as err:
        topograph.load(checkpoint_file)
    assert "\n" not in str(err.value) and checkpoint_file.name in str(err.value)
    assert f"{widest - 1:,} neurons per layer" in str(err.value)


def test_max_edges_holds_for_every_format(
    checkpoint_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, edges = _sizes(checkpoint_file)
    monkeypatch.setenv("TOPOGRAPH_MAX_EDGES", str(edges))
    topograph.load(checkpoint_file)
    monkeypatch.setenv("TOPOGRAPH_MAX_EDGES", str(edges - 1))
    with pytest.raises(InputError, match=r"TOPOGRAPH_MAX_EDGES") as err:
        topograph.load(checkpoint_file)
    assert "\n" not in str(err.value) and checkpoint_file.name in str(err.value)
    assert f"more than {edges - 1:,} non-zero weights" in str(err.value)


@pytest.mark.parametrize("value", ["many", "0", "-5"])
def test_a_limit_that_is_not_a_positive_whole_number_is_one_line(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOPOGRAPH_MAX_EDGES", value)
    with pytest.raises(InputError, match=r"^TOPOGRAPH_MAX_EDGES=") as err:
        topograph.load(FILES["safetensors"])
    assert "\n" not in str(err.value)


def test_cli_ingest_over_the_limit_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "store.lbdb"
    out = subprocess.run(
        [sys.executable, "-m", "topograph", "ingest", str(FILES["safetensors"].parent),
         "--db", str(db), "--no-progress"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TOPOGRAPH_MAX_NEURONS": "63"},
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "TOPOGRAPH_MAX_NEURONS" in lines[0] and "ckpt_0000.safetensors" in lines[0]
    if db.exists():
        with topograph.connect(str(db), read_only=True) as tg:
            assert tg.status().runs == {}
