"""Helpers for tests that start their own server with scripts/neo4j-local/neo4j-local.sh."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

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
