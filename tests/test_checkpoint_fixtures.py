"""The committed checkpoint fixtures are intact and say what their README says.

They are written by ``scripts/train_digits.py --fixtures`` (which needs torch
and keras); these checks need only numpy and scipy, so they run everywhere.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest

from topograph.loaders import FilesSource

from conftest import REPO

FIXTURES = REPO / "tests" / "data" / "checkpoints"
EPOCHS = range(4)


def _metrics(folder: Path) -> list[dict[str, str]]:
    with open(folder / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_file_matches_sha256sums() -> None:
    """A file changed, added or removed by hand (not by the script) fails here."""
    listed = {}
    for line in (FIXTURES / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split("  ", 1)
        listed[rel] = digest
    present = {
        p.relative_to(FIXTURES).as_posix()
        for p in FIXTURES.rglob("*")
        if p.is_file() and p.name not in ("README.md", "SHA256SUMS")
    }
    assert present == set(listed)
    for rel, digest in listed.items():
        assert hashlib.sha256((FIXTURES / rel).read_bytes()).hexdigest() == digest, rel


def test_set_mlp_reference_layout_equals_the_npz_state_dict() -> None:
    """The same SET weights, read as the reference layout and as an ``.npz`` state dict."""
    run = FIXTURES / "set-mlp" / "reference" / "run-0"
    metrics = _metrics(FIXTURES / "set-mlp" / "npz" / "run-0")
    with FilesSource(run.parent) as src:
        assert src.epochs("run-0") == list(EPOCHS)
        for epoch in EPOCHS:
            ckpt = src.load("run-0", epoch)
            state = np.load(FIXTURES / "set-mlp" / "npz" / "run-0" / f"epoch_{epoch:03d}.npz")
            for k in range(3):
                weight = state[f"fc{k + 1}.weight"]  # PyTorch's [out, in]
                np.testing.assert_array_equal(ckpt.layers[k].toarray(), weight.T)
                assert ckpt.layers[k].nnz == np.count_nonzero(weight)
            assert ckpt.accuracy == float(metrics[epoch]["accuracy"])


def _topology(net: str, state: np.lib.npyio.NpzFile) -> list[np.ndarray]:
    """The non-zero pattern of each topology-carrying weight of one ``.npz``."""
    if net == "prune-mlp":
        return [state[f"{i}.weight_mask"] != 0 for i in (0, 2, 4)]
    names = {
        "set-mlp": ["fc1.weight", "fc2.weight", "fc3.weight"],
        "ao-mlp": ["layers.0.weight", "layers.2.weight", "layers.4.weight"],
        "cnn": ["conv1.weight", "conv2.weight", "fc.weight"],
        "cnn-bn": ["module.conv1.weight", "module.conv2.weight", "module.fc.weight"],
    }[net]
    return [state[n] != 0 for n in names]


@pytest.mark.parametrize("net", ["set-mlp", "prune-mlp", "ao-mlp", "cnn", "cnn-bn"])
def test_npz_density_matches_metrics(net: str) -> None:
    """``metrics.csv``'s density is the non-zero fraction of the saved weights."""
    folder = FIXTURES / net / "npz" / "run-0"
    for row in _metrics(folder):
        with np.load(folder / f"epoch_{int(row['epoch']):03d}.npz") as state:
            masks = _topology(net, state)
        nnz = sum(int(m.sum()) for m in masks)
        assert nnz / sum(m.size for m in masks) == pytest.approx(float(row["density"]), abs=1e-6)
