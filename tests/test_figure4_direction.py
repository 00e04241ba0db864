"""Figure 4 in the published direction, and results of the old direction replaced.

The published code (sparse_topology_distance.py) fills Figure 4 with a loop
over the sorted networks: cell ``(i1, i2)`` with ``i2 < i1`` holds
``NNSTD(net[i1], net[i2])``, and its panel for layer L shows the mean of the
per-layer distances 0..L. Beyond layer 0 NNSTD is not exactly symmetric, so
the direction shows in the values; topograph's ``reference`` method is that
function bit for bit (tests/test_nnstd_reference.py), and here its Figure-4
cells, computed by the workers from the store, must equal that loop exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from topograph import nnstd
from topograph.compute.pairs import across_runs
from topograph.loaders import open_source
from topograph.measures.nnstd import NNSTD_VERSION, NNSTDResult
from topograph.model import CheckpointKey
from topograph.pipeline.analyze import AnalysisPlan, analyze
from topograph.pipeline.ingest import ingest
from topograph.pipeline.tables import figure4_matrix, table_from_store
from topograph.results import PairDistance
from topograph.stores import GraphStore

from conftest import SHARED_TOPO


def published_loop(source: Path, epoch: int) -> tuple[list[str], list[np.ndarray]]:
    """Figure 4 as the published code's loop computes it: one matrix per layer L."""
    with open_source(source) as src:
        runs = sorted(r for r in src.runs() if CheckpointKey(r, epoch) in src)
        nets = [src.load(r, epoch) for r in runs]
    n_layers = len(nets[0].layers)
    mats = [np.zeros((len(runs), len(runs))) for _ in range(n_layers)]
    for i1 in range(len(runs)):
        for i2 in range(i1):
            layers = nnstd(nets[i1], nets[i2], method="reference").layers
            for L in range(n_layers):
                mats[L][i1, i2] = mats[L][i2, i1] = float(np.mean(layers[: L + 1]))
    return runs, mats


def _check(store: GraphStore, uri: str, source: Path, epochs: tuple[int, ...]) -> int:
    ingest(store, [str(source)])
    analyze(store, uri, AnalysisPlan(across_epochs=epochs), workers=2)
    table = table_from_store(store, "distances")
    cells = 0
    for e in epochs:
        runs, mats = published_loop(source, e)
        for L, want in enumerate(mats):
            got_runs, got = figure4_matrix(table, e, L)
            assert got_runs == runs
            assert np.array_equal(got, want), (e, L)  # bit for bit
            cells += len(runs) * (len(runs) - 1) // 2
    return cells


@pytest.mark.slow
def test_figure4_cells_equal_the_published_loop(
    store: GraphStore, store_uri: str, sample_dir: Path
) -> None:
    assert _check(store, store_uri, sample_dir, (0, 10, 190)) == 3 * 4 * 3


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_TOPO.is_dir(), reason=f"published set not at {SHARED_TOPO}")
def test_figure4_cells_equal_the_published_loop_on_the_published_set(tmp_path: Path) -> None:
    from topograph.stores import open_store

    uri = str(tmp_path / "f4.lbdb")
    with open_store(uri) as store:
        assert _check(store, uri, SHARED_TOPO, (0, 10, 190)) == 3 * 4 * 45


@pytest.mark.slow
def test_results_of_the_old_direction_are_replaced(
    store: GraphStore, store_uri: str, sample_dir: Path
) -> None:
    ingest(store, [str(sample_dir)])
    with open_source(sample_dir) as src:
        old = []
        for a, b in across_runs(src.runs(), 0):
            # what version 1 stored: a = the run that sorts first
            r = nnstd(src.load(*b), src.load(*a))
            stale = NNSTDResult(r.layers, r.mean, r.method, "1", r.matchings, r.costs)
            old.append(PairDistance("nnstd", b, a, stale))
    store.write_distances(old, matches=True)
    assert store.status().counts["NNSTD"] == 3
    report = analyze(
        store, store_uri, AnalysisPlan(across_epochs=(0,), matches_across=True), workers=1
    )
    assert report.computed["across runs"] == 3  # the old version's results count as missing
    counts = store.status().counts
    assert counts["NNSTD"] == 3 and counts["MATCHES"] == 3 * (784 * 3 + 10)
    rows = store.query(
        "MATCH (a:Checkpoint)-[d:NNSTD]->(b:Checkpoint) "
        "RETURN a.run AS a, b.run AS b, d.version AS v"
    ).rows
    assert all(a > b and v == NNSTD_VERSION for a, b, v in rows), rows
