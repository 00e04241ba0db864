"""Conv layers: channels are neurons, kernels are blocks of rows (DESIGN.md's definition).

Checked independently of the library's matrices: input sets and channel
graphs are built straight from 4-D PyTorch-order arrays ``[out, in, kh, kw]``,
permutations are applied to those arrays, and costs are brute-forced over all
channel permutations with exact fractions.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from topograph import Checkpoint, nnstd
from topograph.measures.spectral import layer_spectrum
from topograph.model import LayerInfo
from topograph.stores import GraphStore


def conv_matrix(w: np.ndarray) -> sp.csr_matrix:
    """[out, in, kh, kw] -> (in * kh * kw, out), rows channel-major: row c*kh*kw + y*kw + x."""
    out = w.shape[0]
    return sp.csr_matrix(w.reshape(out, -1).T)


def conv_net(
    rng: np.random.Generator, c: tuple[int, int, int], k: int, hw: int, n_out: int, density: float
) -> tuple[list[np.ndarray], Checkpoint]:
    """conv(c0->c1, kxk) -> conv(c1->c2, kxk) -> flatten(c2 x hw) -> dense(n_out)."""
    w1 = np.where(
        rng.random((c[1], c[0], k, k)) < density, rng.standard_normal((c[1], c[0], k, k)), 0
    )
    w2 = np.where(
        rng.random((c[2], c[1], k, k)) < density, rng.standard_normal((c[2], c[1], k, k)), 0
    )
    fc = np.where(
        rng.random((n_out, c[2] * hw)) < density, rng.standard_normal((n_out, c[2] * hw)), 0
    )
    arrays = [w.astype(np.float32) for w in (w1, w2, fc)]
    ck = Checkpoint(
        run="r",
        epoch=0,
        layers=(conv_matrix(arrays[0]), conv_matrix(arrays[1]), sp.csr_matrix(arrays[2].T)),
        info=(
            LayerInfo(name="conv1", kind="conv", kernel=(k, k), block=k * k),
            LayerInfo(name="conv2", kind="conv", kernel=(k, k), block=k * k),
            LayerInfo(name="fc", block=hw),
        ),
    )
    return arrays, ck


def input_sets(w: np.ndarray, block: int) -> list[frozenset[tuple[int, int]]]:
    """Per output neuron: its non-zero inputs as (input neuron, position within its block)."""
    flat = w.reshape(w.shape[0], -1)  # [out, in*block], channel-major as PyTorch flattens
    return [frozenset((i // block, i % block) for i in np.flatnonzero(row)) for row in flat]


def d(s: frozenset, t: frozenset) -> Fraction:
    union = len(s | t)
    return Fraction(0) if union == 0 else Fraction(union - len(s & t), union)


def brute(sa: list[frozenset], sb: list[frozenset]) -> tuple[Fraction, int]:
    best, count = None, 0
    for perm in itertools.permutations(range(len(sa))):
        c = sum((d(sa[j], sb[perm[j]]) for j in range(len(sa))), Fraction(0))
        if best is None or c < best:
            best, count = c, 1
        elif c == best:
            count += 1
    assert best is not None
    return best, count


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), density=st.floats(0.15, 0.7))
def test_conv_nnstd_is_the_brute_force_minimum_per_layer(seed: int, density: float) -> None:
    rng = np.random.default_rng(seed)
    arrays_a, a = conv_net(rng, (2, 4, 3), 2, 4, 3, density)
    arrays_b, b = conv_net(rng, (2, 4, 3), 2, 4, 3, density)
    res = nnstd(a, b)
    blocks = [4, 4, 4]  # 2x2 kernels; the flatten keeps 4 positions per channel
    wb = [x.copy() for x in arrays_b]
    for k in range(3):
        best, _ = brute(input_sets(arrays_a[k], blocks[k]), input_sets(wb[k], blocks[k]))
        n = arrays_a[k].shape[0]
        assert res.layers[k] == pytest.approx(float(best / n), rel=1e-12), k
        if k < 2:
            # Independently: b's next layer with its input channels permuted by the matching.
            perm = res.matchings[k]
            nxt = wb[k + 1]
            if k + 1 < 2:
                wb[k + 1] = nxt[:, perm]
            else:
                hw = blocks[2]
                wb[k + 1] = nxt.reshape(nxt.shape[0], -1, hw)[:, perm, :].reshape(nxt.shape[0], -1)


def test_one_by_one_kernels_equal_the_dense_definition() -> None:
    rng = np.random.default_rng(5)
    for _ in range(10):
        ws = [
            np.where(rng.random((o, i)) < 0.4, rng.standard_normal((o, i)), 0).astype(np.float32)
            for i, o in ((6, 8), (8, 7), (7, 3))
        ]
        vs = [
            np.where(rng.random(w.shape) < 0.4, rng.standard_normal(w.shape), 0).astype(np.float32)
            for w in ws
        ]

        def dense(ws: list[np.ndarray]) -> Checkpoint:
            return Checkpoint("r", 0, tuple(sp.csr_matrix(w.T) for w in ws))

        def conv1x1(ws: list[np.ndarray]) -> Checkpoint:
            info = (LayerInfo(kind="conv", kernel=(1, 1), block=1),) * 2 + (LayerInfo(),)
            return Checkpoint(
                "r",
                0,
                (*tuple(conv_matrix(w[:, :, None, None]) for w in ws[:2]), sp.csr_matrix(ws[2].T)),
                info=info,
            )

        for method in ("reference", "sparse"):
            x = nnstd(dense(ws), dense(vs), method=method)
            y = nnstd(conv1x1(ws), conv1x1(vs), method=method)
            assert x.layers == y.layers and x.mean == y.mean
            assert all(np.array_equal(p, q) for p, q in zip(x.matchings, y.matchings, strict=True))


def relabel_channels(
    arrays: list[np.ndarray], rng: np.random.Generator, hw: int
) -> list[np.ndarray]:
    """The same conv net with its hidden channels renumbered, on the 4-D arrays themselves."""
    w1, w2, fc = (x.copy() for x in arrays)
    p1 = rng.permutation(w1.shape[0])
    w1, w2 = w1[p1], w2[:, p1]
    p2 = rng.permutation(w2.shape[0])
    w2 = w2[p2]
    fc = fc.reshape(fc.shape[0], -1, hw)[:, p2, :].reshape(fc.shape[0], -1)
    return [w1, w2, fc]


def _ck(arrays: list[np.ndarray], like: Checkpoint) -> Checkpoint:
    return Checkpoint(
        "r", 0, (conv_matrix(arrays[0]), conv_matrix(arrays[1]), sp.csr_matrix(arrays[2].T)),
        info=like.info,
    )  # fmt: skip


def test_relabelling_channels_through_a_flatten_changes_nothing() -> None:
    rng = np.random.default_rng(11)
    for _ in range(20):
        _arrays, a = conv_net(rng, (3, 5, 4), 3, 6, 5, 0.3)
        b_arrays, b = conv_net(rng, (3, 5, 4), 3, 6, 5, 0.3)
        moved = _ck(relabel_channels(b_arrays, rng, 6), b)
        assert nnstd(a, moved).layers[0] == nnstd(a, b).layers[0]
        # the same network under other labels: distance 0 on every layer
        assert nnstd(b, moved).layers == (0.0, 0.0, 0.0)


def test_conv_spectrum_uses_the_channel_graph() -> None:
    rng = np.random.default_rng(2)
    arrays, ck = conv_net(rng, (3, 6, 4), 3, 4, 5, 0.15)
    for k, hw in ((0, 9), (1, 9), (2, 4)):
        w = arrays[k]
        if k < 2:
            channel = (np.abs(w).sum(axis=(2, 3)) > 0).T  # [in, out]
        else:
            channel = (np.abs(w.reshape(w.shape[0], -1, hw)).sum(axis=2) > 0).T
        one = Checkpoint("c", 0, (sp.csr_matrix(channel.astype(np.float32)),))
        got, want = layer_spectrum(ck, k), layer_spectrum(one, 0)
        assert got.nodes == channel.shape[0] + channel.shape[1]
        assert got.edges == int(channel.sum())
        assert got == want


def test_structure_must_agree_to_compare() -> None:
    rng = np.random.default_rng(0)
    _, a = conv_net(rng, (2, 4, 3), 2, 4, 3, 0.5)
    flat = Checkpoint("r", 1, a.layers, info=(LayerInfo(block=4),) * 3)
    with pytest.raises(Exception, match="layer kinds differ"):
        nnstd(a, flat)


def test_bad_blocks_are_one_line_errors() -> None:
    w = sp.random(10, 4, 0.5, format="csr")
    with pytest.raises(Exception, match="not whole blocks of 4 rows"):
        Checkpoint("r", 0, (w,), info=(LayerInfo(block=4),))
    with pytest.raises(Exception, match=r"a conv kernel \(3, 3\) owns 9 rows, not 2"):
        Checkpoint("r", 0, (w,), info=(LayerInfo(kind="conv", kernel=(3, 3), block=2),))


def test_conv_checkpoint_round_trips_through_the_store(store: GraphStore) -> None:
    rng = np.random.default_rng(9)
    _, ck = conv_net(rng, (3, 5, 4), 3, 6, 5, 0.3)
    biases = (rng.standard_normal(5).astype(np.float32), None, rng.standard_normal(5))
    ck = Checkpoint("conv", 3, ck.layers, biases=biases, info=ck.info, source="x.pt")
    store.write_checkpoints([ck])
    back = store.load_checkpoint("conv", 3)
    assert back.content_hash == ck.content_hash
    assert back.info == ck.info and back.widths == (3, 5, 4, 5)
    dense = Checkpoint("conv", 3, ck.layers[2:], info=(LayerInfo(),))
    assert (
        dense.content_hash
        != Checkpoint("x", 0, ck.layers[2:], info=(LayerInfo(block=6),)).content_hash
    )
