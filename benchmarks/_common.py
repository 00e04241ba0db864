"""What the benchmark scripts share: where the data is, and wiping a scratch Neo4j."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TOPO = REPO.parent / "shared" / "data" / "topo"
SAMPLE = REPO / "examples" / "topo-sample"
#: The full published set when it is beside the checkout, else the in-repo sample.
TOPO = DEFAULT_TOPO if DEFAULT_TOPO.is_dir() else SAMPLE


def wipe_neo4j(uri: str) -> None:
    """Delete everything in the Neo4j database at ``uri``: point it only at a scratch server."""
    import neo4j

    with neo4j.GraphDatabase.driver(uri) as driver, driver.session() as session:
        session.run(
            "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 20000 ROWS"
        ).consume()
