"""Bulk path into Neo4j: import files (fast, no Java), then the real importer (slow).

The slow test runs Neo4j's own offline importer through
``scripts/neo4j-local/neo4j-local.sh import`` into a fresh data dir on free
ports, starts the server and reads the graph back through Bolt. It needs
Java 17+ and the Neo4j jars (cached, or Maven to fetch them); without them
it skips locally and fails in CI.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from topograph.loaders import open_source
from topograph.pipeline.ingest import ingest
from topograph.stores import neo4j_bulk as nb
from topograph.stores.codec import EncodedCheckpoint, encode_checkpoint
from topograph.stores.neo4j import Neo4jStore

from conftest import SAMPLE_COUNTS
from neo4j_local import driver_rows, free_port, graph_digest, local_neo4j_skip


@pytest.fixture(scope="module")
def sample_rows(sample_dir: Path) -> list[EncodedCheckpoint]:
    with open_source(str(sample_dir)) as src:
        return [encode_checkpoint(src.load(*key), cid) for cid, key in enumerate(src.keys())]


def _read_csv(files: list[Path]) -> pa.Table:
    """Header file + parts, read back the way the importer sees them (all as text)."""
    names = files[0].read_text().strip().split(",")
    parts = []
    for part in files[1:]:
        data = part.read_bytes()
        if part.suffix == ".gz":
            data = gzip.decompress(data)
        opts = pacsv.ReadOptions(column_names=names)
        conv = pacsv.ConvertOptions(column_types={n: pa.string() for n in names})
        parts.append(pacsv.read_csv(io.BytesIO(data), read_options=opts, convert_options=conv))
    return pa.concat_tables(parts)


def test_headers_name_id_spaces_and_types() -> None:
    assert nb.node_header("Neuron") == [
        "uid:ID(Neuron){id-type:long}",
        "ckpt:string",
        "run:string",
        "epoch:long",
        "layer:long",
        "idx:long",
        "bias:double",
    ]
    assert nb.node_header("Checkpoint")[0] == "id:ID(Checkpoint){id-type:string}"
    assert nb.node_header("Checkpoint")[-1] == "complete:boolean"
    assert nb.node_header("Run") == ["name:ID(Run){id-type:string}"]
    assert nb.relationship_header("CONNECTS") == [
        ":START_ID(Neuron)",
        ":END_ID(Neuron)",
        "weight:double",
        "tap:int",
    ]
    assert nb.node_header("Layer")[-5:] == [
        "name:string",
        "kind:string",
        "kernel:string",
        "block:long",
        "topology:string",
    ]
    assert nb.relationship_header("HAS_LAYER") == [":START_ID(Checkpoint)", ":END_ID(Layer)"]


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_writer_files_hold_every_row_exactly(
    sample_rows: list[EncodedCheckpoint], tmp_path: Path, compression: str
) -> None:
    with nb.ImportWriter(tmp_path / "f", compression=compression, part_rows=50_000) as w:  # type: ignore[arg-type]
        assert nb.write_checkpoints(w, sample_rows, batch_edges=40_000) == 9
    files = w.close()
    counts = {k: v for k, v in SAMPLE_COUNTS.items() if k in nb.COUNTED}
    assert files.counts == counts
    edges = files.relationships["CONNECTS"]
    assert len(edges) > 2, "several parts"
    back = _read_csv(edges)
    assert back.num_rows == 164_600
    src = np.concatenate([e.base + e.src for e in sample_rows])
    assert back.column(":START_ID(Neuron)").to_pylist() == [str(v) for v in src.tolist()]
    # the float32 widened, in full: the text parses back to the double the online path stores
    w64 = np.array(back.column("weight:double").to_pylist(), dtype=np.float64)
    assert np.array_equal(w64, np.concatenate([e.weight for e in sample_rows]).astype(np.float64))
    assert set(back.column("tap:int").to_pylist()) == {""}, "dense layers: no tap property"
    neurons = _read_csv(files.nodes["Neuron"])
    assert neurons.num_rows == SAMPLE_COUNTS["Neuron"]
    bias = neurons.column("bias:double").to_pylist()
    assert bias.count("") == 9 * 784  # input neurons: no bias, an empty field, no property
    runs = _read_csv(files.nodes["Run"]).column(0).to_pylist()
    assert sorted(runs) == ["e5_s0_w0", "e5_s0_w1", "e5_s0_w9"], "each run once across batches"
    ck = _read_csv(files.nodes["Checkpoint"])
    assert set(ck.column("complete:boolean").to_pylist()) == {"true"}


def test_writer_parquet_carries_the_header_in_column_names(
    sample_rows: list[EncodedCheckpoint], tmp_path: Path
) -> None:
    with nb.ImportWriter(tmp_path / "f", fmt="parquet") as w:
        nb.write_checkpoints(w, sample_rows[:2])
    files = w.close()
    t = pq.read_table(files.relationships["CONNECTS"][0])
    assert t.column_names == nb.relationship_header("CONNECTS")
    assert t.schema.field("weight:double").type == pa.float64()
    assert files.importer_args()[0] == "--input-type=parquet"


def test_importer_args_and_bad_input(tmp_path: Path) -> None:
    w = nb.ImportWriter(tmp_path / "f")
    w.nodes("Run", pa.table({"name": ["a", "b"], "ignored": [1, 2]}))
    with pytest.raises(nb.BulkImportError, match="Neuron nodes: missing column"):
        w.nodes("Neuron", pa.table({"uid": [1]}))
    with pytest.raises(nb.BulkImportError, match="unknown relationship type"):
        w.relationships("LIKES", pa.table({"src": [1], "dst": [2]}))
    files = w.close()
    assert files.importer_args(root="/import") == [
        "--nodes=Run=/import/Run.header.csv,/import/Run.part-00000.csv"
    ]
    assert (tmp_path / "f" / "Run.part-00000.csv").read_text() == '"a"\n"b"\n'
    with pytest.raises(nb.BulkImportError, match="not empty"):
        nb.ImportWriter(tmp_path / "f")


@pytest.mark.slow
@local_neo4j_skip
def test_bulk_import_round_trip_schema_and_idempotent_ingest(
    sample_rows: list[EncodedCheckpoint], sample_dir: Path, tmp_path: Path
) -> None:
    with nb.ImportWriter(tmp_path / "files") as w:
        nb.write_checkpoints(w, sample_rows)
    files = w.close()
    server = nb.LocalNeo4j(data_dir=tmp_path / "neo4j", bolt_port=free_port())
    try:
        report = nb.bulk_import(files, server, max_off_heap="1G")
        assert report.counts == {k: v for k, v in SAMPLE_COUNTS.items() if k in nb.COUNTED}
        with Neo4jStore(server.uri) as store:
            # SHOW is an administration command: the store's query() refuses it
            names = {r[0] for r in driver_rows(server.uri, "SHOW CONSTRAINTS YIELD name")}
            assert {"run_name", "checkpoint_id", "layer_id", "neuron_uid"} <= names
            indexes = {r[0] for r in driver_rows(server.uri, "SHOW INDEXES YIELD name")}
            assert {"checkpoint_run_epoch", "layer_ckpt", "neuron_ckpt_layer"} <= indexes
            with open_source(str(sample_dir)) as src:
                for key in src.keys():
                    assert store.load_checkpoint(*key).content_hash == src.load(*key).content_hash
            # The online path sees whole checkpoints: ingesting them again changes nothing.
            again = ingest(store, [str(sample_dir)])
            assert again.stored == [] and len(again.skipped) == 9
            assert store.status().counts == SAMPLE_COUNTS
        # A second bulk import into the same, started data dir needs overwrite=True.
        with pytest.raises(nb.BulkImportError, match="already exists"):
            nb.bulk_import(files, server)
    finally:
        server.stop()


@pytest.mark.slow
@local_neo4j_skip
def test_a_bad_row_fails_the_import_naming_it_and_leaves_no_store(tmp_path: Path) -> None:
    with nb.ImportWriter(tmp_path / "files") as w:
        w.nodes("Neuron", pa.table({"uid": [1, 2], "ckpt": ["c"] * 2, "run": ["r"] * 2,
                                    "epoch": [0, 0], "layer": [0, 1], "idx": [0, 0],
                                    "bias": [None, 0.5]}))  # fmt: skip
        w.relationships(
            "CONNECTS", pa.table({"src": [1], "dst": [3], "weight": [0.5], "tap": [None]})
        )
    server = nb.LocalNeo4j(data_dir=tmp_path / "neo4j", bolt_port=free_port())
    with pytest.raises(nb.BulkImportError, match="referring to missing node 3"):
        nb.bulk_import(w.close(), server, max_off_heap="1G")
    assert not (tmp_path / "neo4j" / "data" / "databases" / "neo4j").exists()
    assert not server.running()


@pytest.mark.slow
@local_neo4j_skip
def test_ingest_bulk_writes_the_graph_the_online_ingest_writes(
    sample_dir: Path, tmp_path: Path
) -> None:
    """``topograph ingest --bulk`` against the online ingest of the same files: equal graphs.

    Dense layers (the sample) and conv layers (taps, kernels, blocks,
    accuracy) from the CNN fixture, in one store; CSV and Parquet import files.
    """
    import subprocess
    import sys

    from topograph.pipeline.ingest import ingest as online_ingest
    from topograph.stores import open_store

    from conftest import REPO, wipe_neo4j

    paths = [str(sample_dir), str(REPO / "tests" / "data" / "checkpoints" / "cnn" / "npz")]
    data, port = tmp_path / "neo4j", free_port()
    uri = f"bolt://127.0.0.1:{port}"
    env = {**os.environ, "NEO4J_HTTP_PORT": "off", "NEO4J_TX_LOG_PREALLOCATE": "false"}
    cmd = [sys.executable, "-m", "topograph", "ingest", "--bulk", "--no-progress",
           "--db", uri, "--neo4j-data", str(data), "--work-dir", str(tmp_path), *paths]  # fmt: skip
    server = nb.LocalNeo4j(data_dir=data, bolt_port=port)
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        assert "13 checkpoints imported into a new database" in proc.stdout
        assert "counts verified: 4 Run, 13 Checkpoint, 48 Layer" in proc.stdout
        assert list(tmp_path.glob("topograph-import-*")) == [], "import files removed"
        bulk = graph_digest(uri)
        assert bulk["CONNECTS"][0] == 164_600 + 7_121
        with open_store(uri) as store:
            assert store.check().ok

        # The server now runs and has a database: refused without --overwrite, in one line.
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert again.returncode == 1
        assert again.stderr.count("\n") == 1
        assert "already exists" in again.stderr and "--overwrite" in again.stderr
        assert server.running(), "refused before the server was stopped"
        # Parquet import files, replacing that graph: the same graph again.
        parquet = [*cmd, "--overwrite", "--import-format", "parquet"]
        proc = subprocess.run(parquet, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        assert graph_digest(uri) == bulk

        wipe_neo4j(uri)
        with open_store(uri) as store:
            report = online_ingest(store, paths)
            assert len(report.stored) == 13
        online = graph_digest(uri)
        assert bulk == online
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bulk", "--db", "{tmp}/g.lbdb"], "--bulk imports into a Neo4j server"),
        (["--bulk", "--db", "bolt://db.example:7687"], "drives the local server"),
        (["--bulk", "--db", "neo4j://127.0.0.1:7687"], "drives the local server"),
        (["--overwrite", "--db", "{tmp}/g.lbdb"], "--overwrite needs --bulk"),
        (["--import-format", "parquet", "--db", "{tmp}/g.lbdb"], "--import-format needs --bulk"),
        (["--bulk", "--import-format", "orc", "--db", "bolt://127.0.0.1:1"], "csv or parquet"),
    ],
)
def test_ingest_bulk_refusals_are_one_line_errors(
    sample_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    from typer.testing import CliRunner

    from topograph.cli import app

    argv = ["ingest", *(a.replace("{tmp}", str(tmp_path)) for a in args), str(sample_dir)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert not (tmp_path / "g.lbdb").exists(), "nothing opened, nothing written"
