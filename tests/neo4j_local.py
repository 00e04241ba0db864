"""Helpers for tests that start their own server with scripts/neo4j-local/neo4j-local.sh."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from conftest import IN_CI, REPO

SCRIPT = REPO / "scripts" / "neo4j-local" / "neo4j-local.sh"
NEO4J_VERSION = "5.26.30"


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _jars_cached() -> bool:
    cache = Path(os.environ.get("TOPOGRAPH_CACHE", Path.home() / ".cache" / "topograph"))
    return (cache / f"neo4j-{NEO4J_VERSION}" / "lib" / ".complete").is_file()


def why_no_local_neo4j() -> str | None:
    """Why the script cannot start a server here, or None when it can."""
    if _java() is None:
        return "java not found: scripts/neo4j-local needs Java 17 or 21"
    if not _jars_cached() and shutil.which("mvn") is None:
        return f"Neo4j {NEO4J_VERSION} jars not cached and mvn not found to fetch them"
    return None


_reason = why_no_local_neo4j()
#: Skip locally when Java or the jars are missing; in CI such a test runs (and fails).
local_neo4j_skip = pytest.mark.skipif(
    _reason is not None and not IN_CI, reason=_reason or "local Neo4j available"
)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def driver_rows(uri: str, text: str) -> list[list[Any]]:
    """Rows of ``text`` through the driver itself (the store's query() refuses SHOW ...)."""
    import neo4j

    with neo4j.GraphDatabase.driver(uri) as driver, driver.session() as session:
        return [list(r.values()) for r in session.run(text)]


#: The key property of each label of the graph model.
KEYS = {"Run": "name", "Checkpoint": "id", "Layer": "id", "Neuron": "uid"}
RELATIONSHIPS = {
    "HAS_CHECKPOINT": ("Run", "Checkpoint"),
    "HAS_LAYER": ("Checkpoint", "Layer"),
    "CONNECTS": ("Neuron", "Neuron"),
}


def graph_digest(uri: str) -> dict[str, tuple[int, str]]:
    """(count, SHA-256) of every label's nodes and every type's relationships, all properties.

    Nodes as their sorted property maps; relationships as (start key, end
    key, property map); floats by repr, so a changed bit changes the digest.
    The cid counter's value goes in too: it decides what the next ingest numbers.
    """
    import hashlib
    import json

    def digest(rows: list[Any]) -> tuple[int, str]:
        lines = sorted(json.dumps(r, sort_keys=True) for r in rows)
        return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()

    out = {}
    for label in KEYS:
        out[label] = digest(driver_rows(uri, f"MATCH (n:{label}) RETURN properties(n)"))
    for rel, (a, b) in RELATIONSHIPS.items():
        text = f"MATCH (a:{a})-[r:{rel}]->(b:{b}) RETURN a.{KEYS[a]}, b.{KEYS[b]}, properties(r)"
        out[rel] = digest(driver_rows(uri, text))
    counter = "MATCH (k:TopographCounter {name: 'cid'}) RETURN k.next"
    out["cid counter"] = digest(driver_rows(uri, counter))
    return out
