"""neo4j-local.sh: HTTP connector, Neo4j Browser, generated config, import guard.

The slow tests start a server of their own (free ports, a temporary data dir)
and talk to it over HTTP only; they need Java 17+ and the Neo4j jars (cached,
or Maven to fetch them) and skip without them, except in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from neo4j_local import NEO4J_VERSION, SCRIPT, free_port, local_neo4j_skip


def _script(
    env: dict[str, str], *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _get(url: str, accept: str = "application/json") -> tuple[int, str, str]:
    req = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode("utf-8")


def _cypher(http_port: int, statement: str) -> list[list[Any]]:
    """One statement through the HTTP query API; its rows."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{http_port}/db/neo4j/query/v2",
        data=json.dumps({"statement": statement}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)["data"]["values"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Server:
    env: dict[str, str]
    bolt: int
    http: int
    started: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("neo4j-local")
    env = {"NEO4J_DATA_DIR": str(data), "NEO4J_TX_LOG_PREALLOCATE": "false"}
    bolt, http = free_port(), free_port()
    proc = _script(env, "start", "--port", str(bolt), "--http-port", str(http))
    try:
        assert proc.returncode == 0, proc.stderr + proc.stdout
        yield Server(env, bolt, http, proc.stdout)
    finally:
        _script(env, "stop", timeout=120)


@pytest.mark.slow
@local_neo4j_skip
def test_http_discovery_names_bolt_and_version(server: Server) -> None:
    status, ctype, body = _get(f"http://127.0.0.1:{server.http}/")
    assert status == 200 and ctype.startswith("application/json")
    doc = json.loads(body)
    assert doc["bolt_direct"] == f"bolt://127.0.0.1:{server.bolt}"
    assert doc["neo4j_version"] == NEO4J_VERSION
    assert doc["neo4j_edition"] == "community"
    assert _cypher(server.http, "RETURN 1 + 1 AS two") == [[2]]


@pytest.mark.slow
@local_neo4j_skip
def test_browser_page_is_served(server: Server) -> None:
    if "browser http://" not in server.started:
        pytest.skip(f"the script served no Browser (could not fetch it): {server.started.strip()}")
    status, ctype, body = _get(f"http://127.0.0.1:{server.http}/browser/", accept="text/html")
    assert status == 200 and ctype.startswith("text/html")
    assert "<title>Neo4j Browser</title>" in body


@pytest.mark.slow
@local_neo4j_skip
def test_generated_config_bounds_transaction_logs(server: Server) -> None:
    rows = _cypher(
        server.http,
        "SHOW SETTINGS YIELD name, value WHERE name IN ['db.tx_log.rotation.retention_policy',"
        " 'db.tx_log.rotation.size', 'db.tx_log.preallocate', 'db.checkpoint.interval.time']"
        " RETURN name, value ORDER BY name",
    )
    assert dict(map(tuple, rows)) == {  # type: ignore[arg-type]
        "db.checkpoint.interval.time": "1m",
        "db.tx_log.preallocate": "false",  # from the environment
        "db.tx_log.rotation.retention_policy": "2 files",
        "db.tx_log.rotation.size": "64.00MiB",
    }


@pytest.mark.slow
@local_neo4j_skip
def test_status_names_http_and_import_refuses_a_running_server(server: Server) -> None:
    status = _script(server.env, "status")
    assert status.returncode == 0
    assert f"http://127.0.0.1:{server.http}" in status.stdout
    refused = _script(server.env, "import", "--nodes=Run=x.csv")
    assert refused.returncode == 1
    assert "is running" in refused.stderr and "stop it first" in refused.stderr


def test_bad_ports_and_existing_database_are_refused(tmp_path: Path) -> None:
    env = {"NEO4J_DATA_DIR": str(tmp_path)}
    assert "invalid HTTP port" in _script(env, "start", "--http-port", "x").stderr
    same = _script(env, "start", "--port", "7777", "--http-port", "7777")
    assert "different ports" in same.stderr
    db = tmp_path / "data" / "databases" / "neo4j"
    db.mkdir(parents=True)
    (db / "neostore").write_bytes(b"")
    proc = _script(env, "import", "--nodes=Run=x.csv")
    assert proc.returncode == 1
    assert "already exists" in proc.stderr and "--overwrite" in proc.stderr


def test_the_test_server_serves_browser_over_http(neo4j_http: str, neo4j_uri: str) -> None:
    """The server the suite runs against (.ci/run starts it) answers on its HTTP port.

    Its discovery document names its own Bolt address, and Neo4j Browser's
    page is served at /browser/ on the same loopback port.
    """
    status, ctype, body = _get(f"{neo4j_http}/")
    assert status == 200 and ctype.startswith("application/json")
    assert json.loads(body)["bolt_direct"] == neo4j_uri
    status, ctype, body = _get(f"{neo4j_http}/browser/", accept="text/html")
    assert status == 200 and ctype.startswith("text/html")
    assert "<title>Neo4j Browser</title>" in body
