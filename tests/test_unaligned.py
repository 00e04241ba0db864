"""The unaligned mask distance against sets of positions (an independent brute force)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from topograph import Checkpoint, InputError
from topograph.measures.unaligned import unaligned

from conftest import random_checkpoint


def _positions(w: sp.csr_matrix) -> set[tuple[int, int]]:
    coo = w.tocoo()
    return {(int(r), int(c)) for r, c, v in zip(coo.row, coo.col, coo.data, strict=True) if v}


def test_hand_worked_example() -> None:
    # masks {(0,0), (0,1), (1,1)} and {(0,1), (1,0)}: one shared, four in the union
    a = Checkpoint("a", 0, (sp.csr_matrix(np.array([[1, 2], [0, 3]], dtype=np.float32)),))
    b = Checkpoint("b", 0, (sp.csr_matrix(np.array([[0, 5], [7, 0]], dtype=np.float32)),))
    res = unaligned(a, b)
    assert res.layers == (0.75,)  # 1 - 1/4
    assert res.hamming == (0.75,)  # 3 of 4 positions differ
    assert res.method == "none" and res.matchings == ()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), density=st.floats(0.0, 1.0))
def test_equals_set_arithmetic(seed: int, density: float) -> None:
    rng = np.random.default_rng(seed)
    a = random_checkpoint(rng, (7, 5, 3), density)
    b = random_checkpoint(rng, (7, 5, 3), density)
    res = unaligned(a, b)
    for k in range(2):
        pa, pb = _positions(a.layers[k]), _positions(b.layers[k])
        union = len(pa | pb)
        want = 0.0 if union == 0 else 1 - len(pa & pb) / union
        assert res.layers[k] == pytest.approx(want, abs=1e-15)
        size = a.layers[k].shape[0] * a.layers[k].shape[1]
        assert res.hamming[k] == pytest.approx(len(pa ^ pb) / size, abs=1e-15)
    assert unaligned(b, a).layers == res.layers


def test_shapes_must_match() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="differ in shape"):
        unaligned(random_checkpoint(rng, (4, 3), 0.5), random_checkpoint(rng, (4, 2), 0.5))
