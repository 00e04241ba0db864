"""Shared fixtures: the in-repo sample, the full published set when present."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from topograph.model import Checkpoint

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "topo-sample"
SHARED_TOPO = REPO.parent / "shared" / "data" / "topo"
REFERENCE_JSONL = REPO / "tests" / "data" / "reference_nnstd.jsonl"

needs_shared = pytest.mark.skipif(
    not SHARED_TOPO.is_dir(),
    reason=f"published topologies not found at {SHARED_TOPO}; only the in-repo sample is used",
)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    assert SAMPLE.is_dir(), f"in-repo sample missing: {SAMPLE}"
    return SAMPLE


@pytest.fixture(scope="session")
def reference_rows() -> list[dict]:
    return [json.loads(line) for line in REFERENCE_JSONL.read_text().splitlines() if line.strip()]


def random_checkpoint(
    rng: np.random.Generator,
    widths: tuple[int, ...],
    density: float,
    run: str = "r",
    epoch: int = 0,
) -> Checkpoint:
    """A random sparse MLP with the given widths (float32 weights, no zeros kept)."""
    layers = []
    for n_in, n_out in itertools.pairwise(widths):
        mask = rng.random((n_in, n_out)) < density
        w = np.where(mask, rng.standard_normal((n_in, n_out)), 0.0).astype(np.float32)
        layers.append(sp.csr_matrix(w))
    return Checkpoint(run=run, epoch=epoch, layers=tuple(layers))
