"""Two processes at once: writers take turns, readers wait briefly, nothing is stored twice.

Real processes against the real databases: two ``ingest`` or two ``analyze``
runs on one Neo4j database leave exactly what one run leaves (the second
waits for the first's writer lease, then finds the work done); a writer that
cannot get the lease in time stops with one line naming the holder; readers
of an embedded file wait for a writer's checkpoint instead of failing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from topograph.stores import WriterActive, open_store

from conftest import SAMPLE_COUNTS, wipe_neo4j

pytestmark = pytest.mark.slow


def _topograph(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "topograph", *args, "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _both(a: subprocess.Popen[str], b: subprocess.Popen[str]) -> list[tuple[int, str]]:
    out = []
    for proc in (a, b):
        _, err = proc.communicate(timeout=900)
        assert "Traceback" not in err, err
        out.append((proc.returncode, err))
    return out


#: What one default analysis of the sample (3 runs x 3 epochs) stores: across
#: runs 3 pairs x 3 epochs, along runs 2 steps + 1 against the first per run;
#: MATCHES and EVOLVES for the 6 steps (2362 neurons past the inputs, 4 layers).
ANALYZED = {"NNSTD": 9 + 6 + 3, "NEXT": 6, "EVOLVES": 6 * 4, "MATCHES": 6 * (3 * 784 + 10)}


def test_two_ingests_and_two_analyses_at_once_store_everything_once(
    neo4j_uri: str, sample_dir: Path
) -> None:
    wipe_neo4j(neo4j_uri)
    try:
        wait = {"TOPOGRAPH_LOCK_WAIT": "600"}
        results = _both(
            _topograph("ingest", str(sample_dir), "--db", neo4j_uri, env=wait),
            _topograph("ingest", str(sample_dir), "--db", neo4j_uri, env=wait),
        )
        assert [code for code, _ in results] == [0, 0], results
        with open_store(neo4j_uri, read_only=True) as store:
            catalog = store.catalog()
            assert store.status().counts == SAMPLE_COUNTS
        assert len({c.cid for c in catalog.values()}) == 9

        results = _both(
            _topograph("analyze", "--db", neo4j_uri, "--workers", "1", env=wait),
            _topograph("analyze", "--db", neo4j_uri, "--workers", "1", env=wait),
        )
        assert [code for code, _ in results] == [0, 0], results
        with open_store(neo4j_uri, read_only=True) as store:
            counts = store.status().counts
            report = store.check()
        assert {k: counts[k] for k in ANALYZED} == ANALYZED
        assert report.ok, report.damaged
    finally:
        wipe_neo4j(neo4j_uri)


#: A writer that holds a store open until its stdin closes: the lock's holder,
#: for as long as the test needs it (an ingest racing the test could finish
#: before the test looks, and the test would then open the store itself).
_HOLDER = """
import sys
from topograph.stores import open_store
with open_store(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_writer_that_cannot_wait_says_who_holds_the_store(
    neo4j_uri: str, sample_dir: Path, tmp_path: Path
) -> None:
    wipe_neo4j(neo4j_uri)
    first = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, neo4j_uri],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "held", (
            first.communicate(timeout=30)[1]
        )
        second = _topograph(
            "ingest", str(sample_dir), "--db", neo4j_uri, env={"TOPOGRAPH_LOCK_WAIT": "0"}
        )
        _, err = second.communicate(timeout=120)
        assert second.returncode == 1, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "another topograph process is writing to this store" in lines[0]
        assert f"pid {first.pid}" in lines[0] and "TOPOGRAPH_LOCK_WAIT" in lines[0]
        # Nothing was written by the refused ingest.
        with open_store(neo4j_uri, read_only=True) as store:
            assert store.query("MATCH (r:Run) RETURN count(r) AS n").rows[0][0] == 0
        # In this process too.
        os.environ["TOPOGRAPH_LOCK_WAIT"] = "0"
        try:
            with pytest.raises(WriterActive, match=f"pid {first.pid}"):
                open_store(neo4j_uri).close()
        finally:
            del os.environ["TOPOGRAPH_LOCK_WAIT"]
        # Once the holder lets go, a writer gets the store at once.
        first.communicate(input="", timeout=60)
        assert first.returncode == 0
        os.environ["TOPOGRAPH_LOCK_WAIT"] = "0"
        try:
            open_store(neo4j_uri).close()
        finally:
            del os.environ["TOPOGRAPH_LOCK_WAIT"]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
        wipe_neo4j(neo4j_uri)


def test_embedded_writers_take_turns_and_readers_wait(tmp_path: Path, sample_dir: Path) -> None:
    db = str(tmp_path / "graph.lbdb")
    first = _topograph("ingest", str(sample_dir), "--db", db, "--batch-edges", "1")
    try:
        deadline = time.monotonic() + 120
        while not Path(db).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        second = _topograph("ingest", str(sample_dir), "--db", db, env={"TOPOGRAPH_LOCK_WAIT": "0"})
        _, err = second.communicate(timeout=120)
        if first.poll() is None:  # (on a fast machine the first may be done already)
            assert second.returncode == 1, err
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "another process is writing to this store" in lines[0]
        # Readers during the ingest: every one gets an answer (they wait for the
        # writer's checkpoint rather than fail on its lock).
        answers = 0
        while first.poll() is None and answers < 8:
            status = subprocess.run(
                [sys.executable, "-m", "topograph", "db", "status", "--db", db, "--format", "json"],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert status.returncode == 0, status.stderr
            answers += 1
    finally:
        first.communicate(timeout=600)
    assert first.returncode == 0
    with open_store(db, read_only=True) as store:
        assert store.status().counts == SAMPLE_COUNTS
