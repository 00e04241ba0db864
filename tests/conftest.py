"""Shared fixtures: the in-repo sample, the full published set when present."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from topograph.model import Checkpoint
from topograph.stores import GraphStore, open_store

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "topo-sample"
SHARED_TOPO = REPO.parent / "shared" / "data" / "topo"
REFERENCE_JSONL = REPO / "tests" / "data" / "reference_nnstd.jsonl"

needs_shared = pytest.mark.skipif(
    not SHARED_TOPO.is_dir(),
    reason=f"published topologies not found at {SHARED_TOPO}; only the in-repo sample is used",
)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    assert SAMPLE.is_dir(), f"in-repo sample missing: {SAMPLE}"
    return SAMPLE


@pytest.fixture(scope="session")
def reference_rows() -> list[dict]:
    return [json.loads(line) for line in REFERENCE_JSONL.read_text().splitlines() if line.strip()]


def random_checkpoint(
    rng: np.random.Generator,
    widths: tuple[int, ...],
    density: float,
    run: str = "r",
    epoch: int = 0,
) -> Checkpoint:
    """A random sparse MLP with the given widths (float32 weights, no zeros kept)."""
    layers = []
    for n_in, n_out in itertools.pairwise(widths):
        mask = rng.random((n_in, n_out)) < density
        w = np.where(mask, rng.standard_normal((n_in, n_out)), 0.0).astype(np.float32)
        layers.append(sp.csr_matrix(w))
    return Checkpoint(run=run, epoch=epoch, layers=tuple(layers))


NEO4J_URI = os.environ.get("TOPOGRAPH_TEST_NEO4J")
#: The test server's HTTP address (Neo4j Browser), e.g. http://127.0.0.1:7698.
NEO4J_HTTP = os.environ.get("TOPOGRAPH_TEST_NEO4J_HTTP")
IN_CI = os.environ.get("CI", "").lower() == "true"

SAMPLE_COUNTS = {
    "Run": 3,
    "Checkpoint": 9,
    "Layer": 36,
    "Neuron": 9 * (784 * 4 + 10),
    "HAS_CHECKPOINT": 9,
    "HAS_LAYER": 36,
    "CONNECTS": 164_600,
    "NNSTD": 0,
    "MASK_DISTANCE": 0,
    "NEXT": 0,
    "EVOLVES": 0,
    "MATCHES": 0,
}


def wipe_neo4j(uri: str) -> None:
    import neo4j

    with neo4j.GraphDatabase.driver(uri) as driver, driver.session() as session:
        session.run(
            "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 20000 ROWS"
        ).consume()


@pytest.fixture(autouse=True)
def _no_writer_lease_left_behind() -> Iterator[None]:
    """Fail the test that leaves a Neo4j writer lease held in this process.

    A store opened for writing and never closed keeps renewing its lease from a
    daemon thread, so every later test's writer subprocess would be refused as
    "another topograph process is writing": the failure would show up far from
    its cause. The lease is given back here, and the test that leaked it fails.
    """
    from topograph.stores import lease

    yield
    with lease._HELD_LOCK:
        leaked = [held for held, _ in lease._HELD.values()]
        lease._HELD.clear()
    for held in leaked:
        held.release()
    assert not leaked, f"a store opened for writing was never closed ({leaked[0].where})"


@pytest.fixture(scope="session")
def neo4j_uri() -> str:
    if not NEO4J_URI:
        if IN_CI:
            pytest.fail("CI must run the Neo4j tests: TOPOGRAPH_TEST_NEO4J is not set")
        pytest.skip("no test Neo4j server (set TOPOGRAPH_TEST_NEO4J, see .ci/run)")
    return NEO4J_URI


@pytest.fixture(scope="session")
def neo4j_http() -> str:
    """The test server's HTTP address; like ``neo4j_uri``, a skip here and a failure in CI."""
    if not NEO4J_HTTP:
        if IN_CI:
            pytest.fail("CI must run the Browser test: TOPOGRAPH_TEST_NEO4J_HTTP is not set")
        pytest.skip(
            "no test Neo4j server with HTTP (start it with --http-port N and set "
            "TOPOGRAPH_TEST_NEO4J_HTTP=http://127.0.0.1:N, see .ci/run)"
        )
    return NEO4J_HTTP.rstrip("/")


# The Neo4j variant of every two-store test is in the slow tier: a server round
# trip per checkpoint; the fast tier keeps the embedded one.
@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.slow)])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "embedded":
        yield str(tmp_path / "graph.lbdb")
        return
    uri = request.getfixturevalue("neo4j_uri")
    wipe_neo4j(uri)
    try:
        yield uri
    finally:
        wipe_neo4j(uri)


@pytest.fixture()
def store(store_uri: str) -> Iterator[GraphStore]:
    with open_store(store_uri) as s:
        yield s
