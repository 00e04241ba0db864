"""Pairwise runs in a pool, the distances table and its Parquet round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from topograph import nnstd
from topograph.compute.pairs import across_runs, along_run, compute_pairs
from topograph.loaders import open_source
from topograph.measures.nnstd import NNSTDOptions
from topograph.model import CheckpointKey
from topograph.pipeline.tables import (
    distances_table,
    figure4_matrix,
    read_distances,
    schema,
    write_table,
)


def test_pair_direction() -> None:
    # across runs, a is the run that sorts later (the published Figure-4 loop)
    assert across_runs(["b", "a", "c"], 5) == [
        (CheckpointKey("b", 5), CheckpointKey("a", 5)),
        (CheckpointKey("c", 5), CheckpointKey("a", 5)),
        (CheckpointKey("c", 5), CheckpointKey("b", 5)),
    ]
    assert along_run("r", [20, 0, 10], consecutive=True) == [
        (CheckpointKey("r", 0), CheckpointKey("r", 10)),
        (CheckpointKey("r", 10), CheckpointKey("r", 20)),
    ]
    assert len(along_run("r", [0, 10, 20, 30])) == 6


@pytest.mark.slow
def test_one_and_two_workers_agree_and_match_direct(sample_dir: Path) -> None:
    with open_source(str(sample_dir)) as src:
        pairs = across_runs(src.runs(), 190) + along_run("e5_s0_w1", src.epochs("e5_s0_w1"))
        one = compute_pairs(src, pairs, options=NNSTDOptions(), workers=1)
        two = compute_pairs(src, pairs, options=NNSTDOptions(), workers=2)
        direct = [nnstd(src.load(*a), src.load(*b)) for a, b in pairs]
    for x, y, d in zip(one, two, direct, strict=True):
        assert (x.a, x.b) == (y.a, y.b)
        assert x.result.layers == y.result.layers == d.layers
        for m1, m2 in zip(x.result.matchings, y.result.matchings, strict=True):
            assert np.array_equal(m1, m2)


def test_parquet_round_trip_loses_nothing(sample_dir: Path, tmp_path: Path) -> None:
    with open_source(str(sample_dir)) as src:
        results = compute_pairs(src, across_runs(src.runs(), 0), workers=1)
    table = distances_table(results)
    assert table.schema.equals(schema("distances"), check_metadata=True)
    assert table.num_rows == 3 * 4
    out = tmp_path / "d.parquet"
    write_table(table, out)
    back = read_distances(out)
    assert back.equals(table)
    raw = pq.read_table(out)
    assert raw.schema.field("distance").metadata[b"description"].startswith(b"NNSTD")
    rows = back.to_pylist()
    assert rows[0]["distance"] == results[0].result.layers[0]  # float64 exact
    df = raw.to_pandas()
    assert list(df.columns) == schema("distances").names
    runs, m = figure4_matrix(back, 0, layer=2)
    assert runs == ["e5_s0_w0", "e5_s0_w1", "e5_s0_w9"]
    assert np.allclose(m, m.T) and np.all(np.diag(m) == 0)
    assert m[0, 2] == results[1].result.cumulative(2)


def test_figure4_matrix_refuses_incomplete(sample_dir: Path) -> None:
    from topograph.errors import InputError

    with open_source(str(sample_dir)) as src:
        results = compute_pairs(src, across_runs(src.runs(), 0)[:2], workers=1)
    with pytest.raises(InputError, match="2 of 3 run pairs"):
        figure4_matrix(distances_table(results), 0, 0)
