"""The worker cache stays within its memory budget; one pool serves many batches."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from topograph.compute import workers
from topograph.compute.workers import Workers, cached_checkpoint, checkpoint_bytes
from topograph.model import Checkpoint, CheckpointKey

from conftest import random_checkpoint


@dataclass
class Counting:
    """A provider that makes random checkpoints and counts its loads."""

    loads: list[CheckpointKey] = field(default_factory=list)

    @property
    def cache_key(self) -> object:
        return ("counting", id(self))

    def load(self, run: str, epoch: int) -> Checkpoint:
        self.loads.append(CheckpointKey(run, epoch))
        rng = np.random.default_rng(epoch)
        return random_checkpoint(rng, (40, 30, 20), 0.3, run=run, epoch=epoch)


def test_cache_keeps_within_its_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    one = checkpoint_bytes(Counting().load("r", 0))
    monkeypatch.setattr(workers, "CACHE_BYTES", int(2.5 * one))
    monkeypatch.setattr(workers, "_CACHE", type(workers._CACHE)())
    monkeypatch.setattr(workers, "_CACHED_BYTES", 0)
    p = Counting()
    for e in (0, 1, 0, 1, 2, 3, 0):
        cached_checkpoint(p, CheckpointKey("r", e))
    # 0 and 1 hit once loaded; 2 and 3 push 0 and 1 out; 0 comes back from the provider
    assert [k.epoch for k in p.loads] == [0, 1, 2, 3, 0]
    assert workers._CACHED_BYTES <= workers.CACHE_BYTES
    assert len(workers._CACHE) == 2


def _square(provider: object, x: int) -> int:
    return x * x


def test_one_engine_serves_several_batches() -> None:
    with Workers(2) as engine:
        assert engine.map(_square, Counting(), [1, 2, 3]) == [1, 4, 9]
        pool = engine._pool
        assert engine.map(_square, Counting(), [4, 5]) == [16, 25]
        assert engine._pool is pool  # the same processes, not a new pool per stage
    assert engine._pool is None
