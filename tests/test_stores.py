"""Both graph stores against the real databases: round trip, idempotence, crash recovery, bad input.

The Neo4j half needs a real server: ``.ci/run`` starts one with
``scripts/neo4j-local/neo4j-local.sh`` and exports ``TOPOGRAPH_TEST_NEO4J``
(its Bolt URI). Without it these tests skip locally and fail in CI. The
server is wiped before each test: point the variable only at a scratch server.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from topograph import Checkpoint, CheckpointKey, InputError, TopographError, nnstd
from topograph.loaders import open_source
from topograph.pipeline.ingest import ingest
from topograph.stores import GraphStore, open_store

from conftest import SAMPLE_COUNTS, SHARED_TOPO


def test_round_trip_is_exact(
    store: GraphStore, sample_dir: Path, reference_rows: list[dict]
) -> None:
    report = ingest(store, [str(sample_dir)])
    assert len(report.stored) == 9 and report.edges == 164_600
    with open_source(str(sample_dir)) as src:
        for key in src.keys():
            original = src.load(*key)
            back = store.load_checkpoint(*key)
            assert back.content_hash == original.content_hash  # pattern, float32 weights, biases
            assert back.accuracy == original.accuracy
            for w0, w1 in zip(original.layers, back.layers, strict=True):
                assert w1.dtype == np.float32
                assert (w0 != w1).nnz == 0
    for row in reference_rows:
        got = nnstd(store.load_checkpoint(*row["a"]), store.load_checkpoint(*row["b"]))
        assert list(got.layers) == row["layers"] and got.mean == row["mean"]


def test_ingest_is_idempotent_with_exact_counts(store: GraphStore, sample_dir: Path) -> None:
    ingest(store, [str(sample_dir)])
    assert store.status().counts == SAMPLE_COUNTS
    again = ingest(store, [str(sample_dir)])
    assert again.stored == [] and len(again.skipped) == 9
    status = store.status()
    assert status.counts == SAMPLE_COUNTS
    assert status.runs == {r: [0, 10, 190] for r in ("e5_s0_w0", "e5_s0_w1", "e5_s0_w9")}


def test_changed_content_is_refused_and_renaming_stores_it(
    store: GraphStore, sample_dir: Path, tmp_path: Path
) -> None:
    ingest(store, [str(sample_dir / "e5_s0_w0")])
    changed = tmp_path / "e5_s0_w0"
    shutil.copytree(sample_dir / "e5_s0_w0", changed)
    f = changed / "epoch_010" / "weight_l0.npz"
    m = sp.load_npz(f).tocsr()
    m.data[0] *= 2
    sp.save_npz(f, m)
    with pytest.raises(InputError, match="e5_s0_w0@10 is already stored with different content"):
        ingest(store, [str(changed)])
    report = ingest(store, [str(changed)], run="w0-retrained")
    assert len(report.stored) == 3
    assert store.status().counts["Checkpoint"] == 6


def test_bad_checkpoint_stores_nothing_of_it(
    store: GraphStore, sample_dir: Path, tmp_path: Path
) -> None:
    src = tmp_path / "runs"
    shutil.copytree(sample_dir / "e5_s0_w1", src / "e5_s0_w1")
    bad = src / "e5_s0_w1" / "epoch_010" / "weight_l2.npz"
    m = sp.load_npz(bad).tocsr()
    m.data[5] = np.nan
    sp.save_npz(bad, m)
    with pytest.raises(InputError, match=r"epoch_010 layer 2: 1 weight\(s\) are NaN"):
        ingest(store, [str(src)])
    stored = store.catalog()
    assert CheckpointKey("e5_s0_w1", 10) not in stored
    assert all(c.complete for c in stored.values())
    report = ingest(store, [str(src)], keep_going=True)
    assert [ident for ident, _ in report.failed] == ["e5_s0_w1@10"]
    assert [str(k) for k in store.catalog()] == ["e5_s0_w1@0", "e5_s0_w1@190"]
    assert store.status().counts["Neuron"] == 2 * 3146


def test_queries_are_read_only_unless_asked(store: GraphStore, sample_dir: Path) -> None:
    ingest(store, [str(sample_dir / "e5_s0_w9")])
    write = "MATCH (c:Checkpoint {id: 'e5_s0_w9@10'}) SET c.accuracy = 0.5"
    with pytest.raises(TopographError):
        store.query(write)
    assert store.load_checkpoint("e5_s0_w9", 10).accuracy != 0.5
    store.query(write, write=True)
    rows = store.query("MATCH (c:Checkpoint {id: 'e5_s0_w9@10'}) RETURN c.accuracy AS acc").rows
    assert rows == [(0.5,)]


def _complete_count(uri: str) -> int:
    """Complete checkpoints, read the way another process would."""
    try:
        with open_store(uri, read_only=True) as s:
            return sum(c.complete for c in s.catalog().values())
    except TopographError:
        return 0


@pytest.mark.slow
def test_kill_9_mid_ingest_then_rerun_equals_clean(
    store_uri: str, sample_dir: Path, tmp_path: Path
) -> None:
    source = SHARED_TOPO if SHARED_TOPO.is_dir() else sample_dir
    total = 90 if source == SHARED_TOPO else 9
    cmd = [
        sys.executable, "-m", "topograph", "ingest", str(source),
        "--db", store_uri, "--batch-edges", "1", "--no-progress",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if _complete_count(store_uri) >= 1:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    if proc.returncode != -signal.SIGKILL:
        err = proc.stderr.read().decode() if proc.stderr else ""
        pytest.fail(f"ingest ended (rc {proc.returncode}) before it could be killed: {err.strip()}")
    with open_store(store_uri, read_only=True) as s:
        partial = s.status()
        stored = s.catalog()
    complete = [c for c in stored.values() if c.complete]
    assert len(complete) < total
    # What is visible as complete is whole: its edges are all there.
    with open_source(str(source)) as src:
        whole = sum(src.load(c.run, c.epoch).nnz for c in complete)
    assert partial.counts["CONNECTS"] >= whole
    if store_uri.endswith(".lbdb"):
        # One COPY transaction per batch (of one checkpoint here): nothing of an
        # unfinished one survives. Its Checkpoint node comes in a transaction
        # before it, so the incomplete checkpoint has none or all of its edges.
        assert partial.counts["CONNECTS"] - whole in (
            0,
            sum(c.edges for c in stored.values() if not c.complete),
        )
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    with open_store(store_uri, read_only=True) as s:
        after = s.status()
    with open_store(str(tmp_path / "clean.lbdb")) as clean:
        ingest(clean, [str(source)])
        expected = clean.status()
    assert after.counts == expected.counts
    assert after.runs == expected.runs and after.incomplete == []


@pytest.mark.slow
def test_unreachable_database_one_line_error_without_secret() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "topograph",
            "db",
            "status",
            "--db",
            "bolt://neo4j:s3cretpassword@127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    warning, error = proc.stderr.strip().splitlines()
    assert warning.startswith("warning: the password in --db") and "NEO4J_PASSWORD" in warning
    assert error.startswith("error: bolt://127.0.0.1:9: cannot reach Neo4j")
    assert "s3cretpassword" not in proc.stderr + proc.stdout


def test_embedded_path_errors(tmp_path: Path) -> None:
    with pytest.raises(TopographError, match="no database here"):
        open_store(str(tmp_path / "missing.lbdb"), read_only=True)
    with pytest.raises(TopographError, match="is a folder"):
        open_store(str(tmp_path))


@pytest.mark.parametrize(
    "text",
    [
        "MATCH (r:Run) RETURN r.name AS n; CREATE (:Run {name: 'evil'})",
        "COMMIT; CREATE (:Run {name: 'evil'})",
    ],
)
def test_read_only_query_cannot_smuggle_a_second_statement(store: GraphStore, text: str) -> None:
    with pytest.raises(TopographError, match="one Cypher statement"):
        store.query(text)
    assert store.query("MATCH (r:Run {name: 'evil'}) RETURN count(r) AS n").rows == [(0,)]


def test_read_only_query_cannot_write_files(tmp_path: Path) -> None:
    target = tmp_path / "leak.csv"
    with open_store(str(tmp_path / "g.lbdb")) as store:
        with pytest.raises(TopographError, match="read-only query refused: COPY"):
            store.query(f"COPY (MATCH (r:Run) RETURN r.name) TO '{target}'")
        # a ';' inside a string is not a second statement
        assert store.query("RETURN 'a;b' AS s").rows == [("a;b",)]
    assert not target.exists()


@pytest.mark.slow
def test_neo4j_checkpoints_split_into_transactions_store_the_same_graph(
    neo4j_uri: str, sample_dir: Path
) -> None:
    """A checkpoint over ``tx_edges`` goes in several transactions (neurons, then edge
    batches addressed by their uid range): the same graph as one transaction each."""
    from topograph.stores.neo4j import Neo4jStore

    from conftest import wipe_neo4j
    from neo4j_local import graph_digest

    with open_source(str(sample_dir)) as src:
        cks = [src.load(*key) for key in src.keys()]
    digests = []
    try:
        for tx_edges in (None, 5_000):
            wipe_neo4j(neo4j_uri)
            with Neo4jStore(neo4j_uri, tx_edges=tx_edges) as store:
                store.ensure_schema()
                store.write_checkpoints(cks)
                assert store.status().counts == SAMPLE_COUNTS
                assert store.check().ok
            digests.append(graph_digest(neo4j_uri))
        assert digests[0] == digests[1]
    finally:
        wipe_neo4j(neo4j_uri)


def test_read_only_opens_take_the_read_pool_when_it_is_set(
    tmp_path: Path, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer gets TOPOGRAPH_BUFFER_POOL; a reader TOPOGRAPH_READ_BUFFER_POOL, else the same.

    Read from the database itself (``bm_info``), so it fails if the size is
    not what reaches LadybugDB.
    """
    import topograph.cypher as cypher
    from topograph.stores.embedded import buffer_pool_size

    def pool(store: GraphStore) -> int:
        result = store._exec(cypher.load("embedded/buffer_pool"))  # type: ignore[attr-defined]
        return int(result.get_all()[0][0])

    db = str(tmp_path / "graph.lbdb")
    with open_store(db) as store:
        ingest(store, [str(sample_dir / "e5_s0_w0")])
        assert pool(store) == 512 * 2**20
    with open_store(db, read_only=True) as store:
        assert pool(store) == 512 * 2**20
    monkeypatch.setenv("TOPOGRAPH_READ_BUFFER_POOL", "64MiB")
    with open_store(db, read_only=True) as store:
        assert pool(store) == 64 * 2**20
        assert store.load_checkpoint("e5_s0_w0", 190).layers[0].nnz > 0
    for env, raw, message in [
        ("TOPOGRAPH_READ_BUFFER_POOL", "32MiB", "at least 64MiB"),
        ("TOPOGRAPH_READ_BUFFER_POOL", "lots", "a size such as"),
        ("TOPOGRAPH_BUFFER_POOL", "128MiB", "at least 256MiB"),
    ]:
        monkeypatch.setenv(env, raw)
        with pytest.raises(InputError, match=f"^{env} must be {message}"):
            buffer_pool_size(read_only=env == "TOPOGRAPH_READ_BUFFER_POOL")
        monkeypatch.delenv(env)


@pytest.mark.slow
def test_a_pool_too_small_to_read_a_checkpoint_says_so_not_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1.2M-edge checkpoint does not fit a 64 MiB read pool: one line naming the setting.

    It used to be reported as a damaged checkpoint, which it is not.
    """
    from topograph.stores import StoreMemoryFull

    rng = np.random.default_rng(0)
    w = sp.random(8192, 8192, density=0.018, random_state=rng, format="csr", dtype=np.float32)
    w.data[:] = 1.0
    db = str(tmp_path / "graph.lbdb")
    with open_store(db) as store:
        store.write_checkpoints([Checkpoint("big", 0, (w,))])
    monkeypatch.setenv("TOPOGRAPH_READ_BUFFER_POOL", "64MiB")
    with open_store(db, read_only=True) as store:
        with pytest.raises(StoreMemoryFull, match="TOPOGRAPH_READ_BUFFER_POOL") as err:
            store.load_checkpoint("big", 0)
        assert "\n" not in str(err.value) and "damaged" not in str(err.value)
    monkeypatch.delenv("TOPOGRAPH_READ_BUFFER_POOL")
    with open_store(db, read_only=True) as store:
        assert (store.load_checkpoint("big", 0).layers[0] != w).nnz == 0
        assert store.check().ok
