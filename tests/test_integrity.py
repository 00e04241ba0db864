"""Damage in a store is found and named: per checkpoint, whole store, whole file.

A checkpoint read back is compared with its stored content hash
(``load_checkpoint``); ``topograph db check`` verifies every checkpoint,
counts and duplicated results, and for the embedded store the whole file
against the digest topograph wrote when it last closed it.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from topograph.cli import app
from topograph.pipeline.ingest import ingest
from topograph.stores import GraphStore, IntegrityError, open_store

runner = CliRunner()


def _one_error_line(stderr: str, *words: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


@pytest.mark.slow
def test_a_changed_weight_is_named_by_reads_and_by_db_check(
    store: GraphStore, store_uri: str, sample_dir: Path
) -> None:
    ingest(store, [str(sample_dir / "e5_s0_w9")])
    store.query(
        "MATCH (a:Neuron {ckpt: 'e5_s0_w9@10'})-[w:CONNECTS]->(b:Neuron) "
        "WITH w LIMIT 1 SET w.weight = w.weight + 1.5",
        write=True,
    )
    with pytest.raises(IntegrityError, match=r"checkpoint e5_s0_w9@10 is damaged: its content"):
        store.load_checkpoint("e5_s0_w9", 10)
    store.load_checkpoint("e5_s0_w9", 0)  # the others read back intact
    report = store.check()
    assert [what for what, _ in report.damaged] == ["e5_s0_w9@10"] and report.checked == 2
    store.close()
    res = runner.invoke(app, ["db", "check", "--db", store_uri])
    assert res.exit_code == 1, res.output
    _one_error_line(res.stderr, "1 damaged", "e5_s0_w9@10")
    assert "damaged: e5_s0_w9@10: its content differs from its stored hash" in res.stdout
    # Any command that reads it says so in one line, naming the store, not the source folder.
    res = runner.invoke(
        app, ["analyze", "--db", store_uri, "--run", "e5_s0_w9", "--workers", "1", "--no-progress"]
    )
    line = _one_error_line(res.stderr, "e5_s0_w9@10 is damaged")
    assert str(sample_dir) not in line


def test_an_intact_store_checks_clean(store: GraphStore, store_uri: str, sample_dir: Path) -> None:
    ingest(store, [str(sample_dir / "e5_s0_w1")])
    store.close()
    res = runner.invoke(app, ["db", "check", "--db", store_uri])
    assert res.exit_code == 0, res.output
    assert "3 checkpoints verified" in res.stdout and "intact" in res.stdout


def test_duplicated_matches_are_reported(store: GraphStore, sample_dir: Path) -> None:
    ingest(store, [str(sample_dir / "e5_s0_w9")])
    store.query(
        "MATCH (a:Neuron {ckpt: 'e5_s0_w9@0', layer: 1, idx: 3}), "
        "(b:Neuron {ckpt: 'e5_s0_w9@10', layer: 1, idx: 4}) "
        "CREATE (a)-[:MATCHES {layer: 1, distance: 0.5, method: 'reference', version: 'x'}]->(b) "
        "CREATE (a)-[:MATCHES {layer: 1, distance: 0.5, method: 'reference', version: 'x'}]->(b)",
        write=True,
    )
    assert ("MATCHES", "1 duplicated results") in store.check().damaged


def _corrupt(path: Path, offset: int, seed: int = 7) -> None:
    """64 KiB of random bytes at ``offset`` (the test of the issue: a bad disk, a torn copy)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(random.Random(seed).randbytes(65536))


def _column_offset(db: Path, table: str, column: str) -> int:
    """Byte offset of a column's first page in the file (LadybugDB's storage_info)."""
    import ladybug

    conn = ladybug.Connection(ladybug.Database(str(db), read_only=True))
    result = conn.execute(f"CALL storage_info('{table}') RETURN column_name, start_page_idx")
    pages = [p for name, p in result.get_all() if name == column and p < 2**32 - 1]
    conn.close()
    return min(pages) * 4096


@pytest.mark.slow
def test_random_bytes_in_the_middle_of_the_file(tmp_path: Path, sample_dir: Path) -> None:
    db = tmp_path / "graph.lbdb"
    with open_store(str(db)) as store:
        ingest(store, [str(sample_dir)])
    _corrupt(db, db.stat().st_size // 2)
    res = subprocess.run(
        [sys.executable, "-m", "topograph", "db", "check", "--db", str(db)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    _one_error_line(res.stderr, str(db), "damaged")
    # A writer must not record the damaged file as good.
    runner.invoke(app, ["query", "--db", str(db), "--write", "--cypher", "MATCH (r:Run) RETURN r"])
    assert runner.invoke(app, ["db", "check", "--db", str(db)]).exit_code == 1


@pytest.mark.slow
def test_random_bytes_in_the_weights(tmp_path: Path, sample_dir: Path) -> None:
    db = tmp_path / "graph.lbdb"
    with open_store(str(db)) as store:
        ingest(store, [str(sample_dir)])
    _corrupt(db, _column_offset(db, "CONNECTS", "fwd_weight") + 4096)
    res = subprocess.run(
        [sys.executable, "-m", "topograph", "db", "check", "--db", str(db)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    damaged = [ln for ln in res.stdout.splitlines() if "damaged: e5_s0_" in ln]
    assert damaged, res.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "topograph", "analyze", "--db", str(db), "--workers", "1",
         "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    _one_error_line(proc.stderr, str(db), "is damaged")
    assert str(sample_dir) not in proc.stderr
