"""Workers from the store: results equal the direct computation, written back as relationships."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from topograph.compute.pairs import across_runs, compute_pairs
from topograph.loaders import open_source
from topograph.measures.nnstd import NNSTDOptions
from topograph.measures.spectral import layer_spectrum, network_spectrum
from topograph.pipeline.analyze import AnalysisPlan, analyze, default_plan
from topograph.pipeline.ingest import ingest
from topograph.pipeline.queries import named_queries
from topograph.pipeline.tables import (
    distances_table,
    figure4_matrix,
    schema,
    table_from_store,
    write_table,
)
from topograph.stores import GraphStore, open_store

from conftest import wipe_neo4j

PER_PAIR_MATCHES = 784 * 3 + 10


@pytest.mark.slow
def test_figure4_from_store_equals_direct_from_files(
    store: GraphStore, store_uri: str, sample_dir: Path
) -> None:
    ingest(store, [str(sample_dir)])
    plan = AnalysisPlan(across_epochs=(0, 10, 190))
    report = analyze(store, store_uri, plan, workers=2)
    assert report.computed["across runs"] == 9
    stored = table_from_store(store, "distances")
    with open_source(str(sample_dir)) as src:
        pairs = [p for e in (0, 10, 190) for p in across_runs(src.runs(), e)]
        direct = distances_table(compute_pairs(src, pairs, workers=1))
    for epoch in (0, 10, 190):
        for layer in range(4):
            runs_s, from_store = figure4_matrix(stored, epoch, layer)
            runs_d, from_files = figure4_matrix(direct, epoch, layer)
            assert runs_s == runs_d
            assert np.array_equal(from_store, from_files)  # exact, not approximate


@pytest.mark.slow
def test_lineage_relationships_and_recompute_replaces(
    store: GraphStore, store_uri: str, sample_dir: Path
) -> None:
    ingest(store, [str(sample_dir)])
    report = analyze(store, store_uri, AnalysisPlan(along_runs=("e5_s0_w0", "e5_s0_w9")), workers=1)
    assert report.computed["along runs"] == 2 * 2 + 2 * 1  # consecutive + from first
    counts = store.status().counts
    assert counts["NEXT"] == 4 and counts["EVOLVES"] == 16 and counts["NNSTD"] == 6
    assert counts["MATCHES"] == 4 * PER_PAIR_MATCHES
    with open_source(str(sample_dir)) as src:
        from topograph import nnstd

        direct = nnstd(src.load("e5_s0_w0", 10), src.load("e5_s0_w0", 190))
    rows = store.query(
        "MATCH (a:Checkpoint {id: 'e5_s0_w0@10'})-[n:NEXT]->(b:Checkpoint) "
        "RETURN b.id AS b, n.distance AS d, n.layers AS layers"
    ).rows
    assert rows == [("e5_s0_w0@190", direct.mean, list(direct.layers))]
    # the hidden neuron 7 of layer position 2 at epoch 10 -> its match at 190
    lineage = store.query(
        "MATCH (x:Neuron {ckpt: 'e5_s0_w0@10', layer: 2, idx: 7})-[m:MATCHES]->(y:Neuron) "
        "RETURN y.idx AS idx, m.distance AS d"
    ).rows
    assert lineage == [(int(direct.matchings[1][7]), float(direct.costs[1][7]))]
    again = analyze(store, store_uri, AnalysisPlan(along_runs=("e5_s0_w0",)), workers=1)
    assert again.computed["along runs"] == 0 and again.skipped["along runs"] == 3
    forced = analyze(
        store, store_uri, AnalysisPlan(along_runs=("e5_s0_w0",), force=True), workers=1
    )
    assert forced.computed["along runs"] == 3
    assert store.status().counts == counts  # replaced, never duplicated


@pytest.mark.slow
def test_spectral_written_back_equals_direct(
    store: GraphStore, store_uri: str, sample_dir: Path
) -> None:
    ingest(store, [str(sample_dir / "e5_s0_w1")])
    analyze(store, store_uri, AnalysisPlan(properties=("spectral",)), workers=2)
    table = table_from_store(store, "spectral")
    assert table.num_rows == 3 * 5
    assert table.schema.equals(schema("spectral"))
    rows = {(r["epoch"], r["layer"]): r for r in table.to_pylist()}
    with open_source(str(sample_dir)) as src:
        ck = src.load("e5_s0_w1", 190)
    for k in range(4):
        expected = layer_spectrum(ck, k).as_dict()
        got = rows[(190, k)]
        for name in (
            "components",
            "lcc_size",
            "lcc_algebraic_connectivity",
            "spectral_gap",
            "isolated_in",
        ):
            assert got[name] == expected[name], name
    assert (
        rows[(190, -1)]["lcc_algebraic_connectivity"]
        == network_spectrum(ck).lcc_algebraic_connectivity
    )


@pytest.mark.slow
def test_export_round_trip(
    store: GraphStore, store_uri: str, sample_dir: Path, tmp_path: Path
) -> None:
    ingest(store, [str(sample_dir)])
    analyze(store, store_uri, default_plan(store), workers=2)
    for name in ("distances", "spectral", "checkpoints"):
        table = table_from_store(store, name)
        assert table.num_rows > 0
        out = tmp_path / f"{name}.parquet"
        write_table(table, out)
        back = pq.read_table(out)
        assert back.equals(table), name
        assert back.to_pandas().equals(table.to_pandas()), name
        part = tmp_path / f"{name}-by-run"
        write_table(table, part, partition_by="run_a" if name == "distances" else "run")
        again = pq.read_table(part).to_pandas()
        assert len(again) == table.num_rows
    ck = table_from_store(store, "checkpoints")
    assert ck.schema.equals(schema("checkpoints"))
    assert ck.num_rows == 9


def _fill(uri: str, sample_dir: Path) -> None:
    with open_store(uri) as s:
        ingest(s, [str(sample_dir)])
        analyze(s, uri, default_plan(s), workers=2)
        # the mask measure too, so mask_similarity has rows to compare
        analyze(s, uri, AnalysisPlan(across_epochs=(10,), measure="unaligned"), workers=2)


QUERY_PARAMS = {
    "run": "e5_s0_w0",
    "epoch": 10,
    "limit": 5,
    "layer": 1,
    "idx": 5,
    "threshold": 0.5,
    "sparse_only": True,  # frozen_layers without the dense output layer
    "min_distance": 0.2,  # winning_tickets: the sample has 5 pairs past these thresholds
    "max_accuracy_gap": 0.01,
}


@pytest.mark.slow
def test_named_queries_same_rows_on_both_stores(
    neo4j_uri: str, sample_dir: Path, tmp_path: Path
) -> None:
    embedded = str(tmp_path / "q.lbdb")
    wipe_neo4j(neo4j_uri)
    try:
        _fill(embedded, sample_dir)
        _fill(neo4j_uri, sample_dir)
        queries = named_queries()
        assert len(queries) >= 8
        with open_store(embedded, read_only=True) as e, open_store(neo4j_uri) as n:
            for q in queries:
                params = q.bind({p.name: QUERY_PARAMS[p.name] for p in q.params})
                a = e.query(q.text, params)
                b = n.query(q.text, params)
                assert a.columns == b.columns, q.name
                assert len(a.rows) == len(b.rows) and a.rows, q.name
                for ra, rb in zip(a.rows, b.rows, strict=True):
                    for va, vb in zip(ra, rb, strict=True):
                        if isinstance(va, float) and "avg(" in q.text:
                            # an aggregate: summation order is the store's own
                            assert math.isclose(va, vb, rel_tol=1e-12), q.name
                        else:
                            assert va == vb, (q.name, ra, rb)
    finally:
        wipe_neo4j(neo4j_uri)


@pytest.mark.slow
def test_dask_cluster_gives_identical_results(sample_dir: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    local, remote = str(tmp_path / "local.lbdb"), str(tmp_path / "dask.lbdb")
    for uri in (local, remote):
        with open_store(uri) as s:
            ingest(s, [str(sample_dir)])
    plan = AnalysisPlan(across_epochs=(190,), along_runs=("e5_s0_w1",), properties=("spectral",))
    with open_store(local) as s:
        analyze(s, local, plan, workers=1)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        open_store(remote) as s,
    ):
        analyze(s, remote, plan, scheduler=cluster.scheduler_address)
    for name in ("distances", "spectral"):
        with open_store(local, read_only=True) as a, open_store(remote, read_only=True) as b:
            assert table_from_store(a, name).equals(table_from_store(b, name)), name


@pytest.mark.slow
def test_options_reach_the_workers(store: GraphStore, store_uri: str, sample_dir: Path) -> None:
    ingest(store, [str(sample_dir / "e5_s0_w9")])
    analyze(
        store,
        store_uri,
        AnalysisPlan(along_runs=("e5_s0_w9",), options=NNSTDOptions(method="sparse")),
        workers=2,
    )
    methods = {r[0] for r in store.query("MATCH ()-[d:NNSTD]->() RETURN d.method AS m").rows}
    assert methods == {"sparse"}


@pytest.mark.slow
def test_matches_across_completes_pairs_that_only_had_distances(
    sample_dir: Path, tmp_path: Path
) -> None:
    uri = str(tmp_path / "m.lbdb")
    with open_store(uri) as store:
        ingest(store, [str(sample_dir)])
        analyze(store, uri, AnalysisPlan(across_epochs=(0,)), workers=1)
        assert store.status().counts["MATCHES"] == 0
        report = analyze(
            store, uri, AnalysisPlan(across_epochs=(0,), matches_across=True), workers=1
        )
        assert report.computed["across runs"] == 3
        assert store.status().counts["MATCHES"] == 3 * PER_PAIR_MATCHES
        assert store.status().counts["NNSTD"] == 3  # replaced, not duplicated
        again = analyze(
            store, uri, AnalysisPlan(across_epochs=(0,), matches_across=True), workers=1
        )
        assert again.computed["across runs"] == 0
