"""One contract over every registered measure (netrd's style): a failure names the measure.

Pair measures: distance to self is 0, values in [0, 1], symmetry and
invariance to relabelling hidden neurons on the layers where the measure
promises them, the result's fields match its Parquet schema. Checkpoint
measures: finite non-negative values, invariance to relabelling, fields match.
Both: the write-back and read-back Cypher and the embedded schema name every
stored field (the schema is written once, on the result dataclass).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import topograph.cypher as cypher
from topograph import Checkpoint, measures
from topograph.measures.base import CheckpointMeasure, PairMeasure
from topograph.pipeline.tables import schema
from topograph.results import result_fields

from conftest import random_checkpoint

PAIR = [m for m in measures.REGISTRY.values() if isinstance(m, PairMeasure)]
SINGLE = [m for m in measures.REGISTRY.values() if isinstance(m, CheckpointMeasure)]
WIDTHS = (12, 9, 7, 3)


def relabel(ck: Checkpoint, rng: np.random.Generator) -> Checkpoint:
    """The same network with its hidden neurons renumbered (inputs and outputs keep labels)."""
    layers = list(ck.layers)
    biases = list(ck.biases)
    for k in range(len(layers) - 1):
        perm = rng.permutation(layers[k].shape[1])
        layers[k] = layers[k][:, perm]
        layers[k + 1] = layers[k + 1][perm, :]
        if biases[k] is not None:
            biases[k] = biases[k][perm]
    return Checkpoint(ck.run, ck.epoch, tuple(layers), tuple(biases))


def _layers(promise: str, n: int) -> range:
    return {"all": range(n), "first": range(min(1, n)), "none": range(0)}[promise]


def test_registry_lists_the_known_measures() -> None:
    assert {"nnstd", "spectral"} <= set(measures.REGISTRY)
    assert len({m.table for m in measures.REGISTRY.values()}) == len(measures.REGISTRY)


@pytest.mark.parametrize("m", PAIR, ids=lambda m: m.name)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), density=st.floats(0.1, 0.8))
def test_pair_measure_contract(m: PairMeasure, seed: int, density: float) -> None:
    rng = np.random.default_rng(seed)
    a = random_checkpoint(rng, WIDTHS, density, run="a")
    b = random_checkpoint(rng, WIDTHS, density, run="b")
    for method in m.methods:
        opts = m.options(method=method)
        ab, ba = m(a, b, opts), m(b, a, opts)
        n = len(ab.layers)
        assert n == len(a.layers), (m.name, method)
        assert all(0.0 <= d <= 1.0 for d in ab.layers), (m.name, method, ab.layers)
        assert m(a, a, opts).layers == (0.0,) * n, (m.name, method)
        assert ab.mean == pytest.approx(float(np.mean(ab.layers)), abs=0), (m.name, method)
        for k in _layers(m.symmetry, n):
            assert ab.layers[k] == pytest.approx(ba.layers[k], rel=1e-12), (m.name, method, k)
        moved = m(a, relabel(b, rng), opts)
        for k in _layers(m.relabel_invariant, n):
            assert moved.layers[k] == pytest.approx(ab.layers[k], rel=1e-12), (m.name, method, k)
        if m.aligned:
            assert len(ab.matchings) == n and len(ab.costs) == n
            for k in range(n):
                assert sorted(ab.matchings[k].tolist()) == list(range(a.widths[k + 1]))
                assert float(ab.costs[k].sum()) / a.widths[k + 1] == pytest.approx(
                    ab.layers[k], rel=1e-12
                )


@pytest.mark.parametrize("m", SINGLE, ids=lambda m: m.name)
def test_checkpoint_measure_contract(m: CheckpointMeasure) -> None:
    rng = np.random.default_rng(7)
    ck = random_checkpoint(rng, WIDTHS, 0.3)
    res = m(ck)
    assert res.key == ck.key and res.measure == m.name
    assert len(res.layers) == len(ck.layers)
    moved = m(relabel(ck, rng))
    numeric = [f.name for f in m.fields if f.type in ("int32", "int64", "float64")]
    for got, again in [*zip(res.layers, moved.layers, strict=True), (res.network, moved.network)]:
        for name in numeric:
            value = getattr(got, name)
            assert np.isfinite(value) and value >= -1e-9, (m.name, name, value)
            assert getattr(again, name) == pytest.approx(value, rel=1e-9, abs=1e-9), (
                m.name,
                name,
            )


@pytest.mark.parametrize("m", list(measures.REGISTRY.values()), ids=lambda m: m.name)
def test_fields_match_schema_and_cypher(m: PairMeasure | CheckpointMeasure) -> None:
    fields = result_fields(m.result_type)
    assert fields, m.name
    table = schema(m.table)
    columns = [f.column for f in fields if f.column]
    assert set(columns) <= set(table.names), (m.name, columns, table.names)
    for f in fields:
        if f.column:
            assert table.field(f.column).metadata[b"description"].decode() == f.doc
    stored = [f.name for f in fields if f.in_graph]
    embedded_schema = cypher.load("schema/embedded")
    if isinstance(m, PairMeasure):
        writes = [cypher.load(f"write/{m.name}")]
        reads = [cypher.load(f"read/{m.name}")]
        declared = re.search(
            rf"REL TABLE IF NOT EXISTS {m.relationship}\((.*?)\);", embedded_schema
        )
        assert declared, m.relationship
        status = cypher.load("status")
        assert f"'{m.relationship}' AS kind" in status
        assert f"'{m.relationship}' AS kind" in cypher.load("stored_pairs")
    else:
        writes = [cypher.load(f"write/{m.name}_{s}") for s in ("layers", "network")]
        reads = [cypher.load(f"read/{m.name}_{s}") for s in ("layers", "network")]
        declared = re.search(r"NODE TABLE IF NOT EXISTS Layer\((.*?)\);", embedded_schema)
        assert declared
    for name in stored:
        for text in writes:
            assert f"r.{name}" in text, (m.name, name)
        for text in reads:
            assert f"AS {name}" in text, (m.name, name)
        assert re.search(rf"\b{name} ", declared.group(1)), (m.name, name)


def test_checkpoint_table_matches_the_catalog_fields() -> None:
    from topograph.stores import StoredCheckpoint

    names = [f.column for f in result_fields(StoredCheckpoint)]
    assert schema("checkpoints").names == names
    catalog = cypher.load("checkpoints")
    for name in [*names, "complete", "cid"]:
        assert f"AS {name}" in catalog, name


def test_relabel_helper_keeps_the_network() -> None:
    rng = np.random.default_rng(3)
    ck = random_checkpoint(rng, WIDTHS, 0.4)
    moved = relabel(ck, rng)
    # Same function: compose the layers as dense 0/1 products along any path.
    dense = [(w.toarray() != 0).astype(int) for w in ck.layers]
    moved_dense = [(w.toarray() != 0).astype(int) for w in moved.layers]
    path = np.linalg.multi_dot(dense)
    assert np.array_equal(path, np.linalg.multi_dot(moved_dense))
    assert any((x != y).nnz for x, y in zip(ck.layers, moved.layers, strict=True))
