"""The hostile corpus (``tests/hostile/*.json``), every case on every store it names.

Each case is a ``topograph`` command line and the outcome it must have
(``tests/hostile/README.md``): refused in one line, or allowed and harmless;
never a traceback, never a secret printed, never a file written or code
loaded, never a change to the store. Neo4j cases need the test server
(``TOPOGRAPH_TEST_NEO4J``) and skip without it, like the other Neo4j tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from topograph.cli import app
from topograph.pipeline.ingest import ingest
from topograph.stores import open_store

from conftest import NEO4J_URI, SAMPLE, wipe_neo4j

HOSTILE = Path(__file__).resolve().parent / "hostile"
runner = CliRunner()


def _load_cases() -> list[tuple[dict[str, Any], str]]:
    params = []
    for path in sorted(HOSTILE.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            for store in case.get("stores", ["none"]):
                params.append((case, store))
    return params


CASES = _load_cases()


def test_corpus_files_are_what_the_script_writes() -> None:
    spec = importlib.util.spec_from_file_location("make_corpus", HOSTILE / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for category in module.CATEGORIES:
        written = (HOSTILE / f"{category}.json").read_text(encoding="utf-8")
        assert written == module.render(category), f"run python {HOSTILE / 'make_corpus.py'}"
    ids = [case["id"] for case, store in CASES]
    assert len({(c["id"], s) for c, s in CASES}) == len(CASES), "duplicate case ids"
    assert len(set(ids)) >= 100


@pytest.fixture(scope="module")
def evil(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A shared library whose constructor writes a marker file (when a C compiler exists)."""
    folder = tmp_path_factory.mktemp("evil")
    marker = folder / "PWNED"
    lib = folder / "evil.so"
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:
        source = folder / "evil.c"
        source.write_text(
            "#include <stdio.h>\n__attribute__((constructor)) static void boom(void) {"
            f' FILE *f = fopen("{marker}", "w"); if (f) {{ fputs("x", f); fclose(f); }} }}\n'
        )
        subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(source)], check=True)
    return {"evil_so": str(lib), "marker": str(marker)}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The hostile checkpoint sources of ``make_inputs.py``, built once."""
    spec = importlib.util.spec_from_file_location("make_inputs", HOSTILE / "make_inputs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("inputs")
    module.build(folder)
    return str(folder)


@pytest.fixture(scope="module")
def embedded_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("hostile") / "graph.lbdb")
    with open_store(db) as store:
        ingest(store, [str(SAMPLE / "e5_s0_w9")])
    return db


@pytest.fixture(scope="module")
def neo4j_db() -> Iterator[str]:
    if not NEO4J_URI:
        pytest.skip("no test Neo4j server (set TOPOGRAPH_TEST_NEO4J, see .ci/run)")
    wipe_neo4j(NEO4J_URI)
    with open_store(NEO4J_URI) as store:
        ingest(store, [str(SAMPLE / "e5_s0_w9")])
    try:
        yield NEO4J_URI
    finally:
        wipe_neo4j(NEO4J_URI)


def _counts(uri: str) -> dict[str, int]:
    with open_store(uri, read_only=True) as store:
        return store.status().counts


def _fill(value: str, subs: dict[str, str]) -> str:
    for key, sub in subs.items():
        value = value.replace("{" + key + "}", sub)
    return value


def _run(argv: list[str], env: dict[str, str], child: bool) -> tuple[int, str, str, str]:
    """(exit code, stdout, stderr, why it crashed or "") of ``topograph argv``."""
    if child:
        proc = subprocess.run(
            [sys.executable, "-m", "topograph", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **env},
        )
        crash = f"signal {-proc.returncode}" if proc.returncode < 0 else ""
        return proc.returncode, proc.stdout, proc.stderr, crash
    result = runner.invoke(app, argv, env=env)
    crash = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = f"{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.stdout, result.stderr, crash


def _param(case: dict[str, Any], store: str) -> Any:
    """A case as a test; those on Neo4j or in a child process are in the slow tier."""
    slow = store == "neo4j" or case.get("subprocess")
    return pytest.param(
        case, store, id=f"{case['id']}[{store}]", marks=[pytest.mark.slow] if slow else []
    )


@pytest.mark.parametrize(("case", "store"), [_param(c, s) for c, s in CASES])
def test_hostile_case(
    case: dict[str, Any],
    store: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    evil: dict[str, str],
) -> None:
    subs = {"tmp": str(tmp_path), **evil}
    if any("{inputs}" in a for a in case["argv"]):
        subs["inputs"] = request.getfixturevalue("inputs")
    if NEO4J_URI:
        subs["neo4j_hostport"] = urlsplit(NEO4J_URI).netloc
    db = None
    if store == "embedded":
        db = request.getfixturevalue("embedded_db")
    elif store == "neo4j":
        db = request.getfixturevalue("neo4j_db")
    if db is not None:
        subs["db"] = db
    argv = [_fill(a, subs) for a in case["argv"]]
    if any("{neo4j_hostport}" in a for a in argv):
        pytest.skip("no test Neo4j server (set TOPOGRAPH_TEST_NEO4J, see .ci/run)")
    env = {k: _fill(v, subs) for k, v in case.get("env", {}).items()}
    before = _counts(db) if db is not None and case.get("unchanged") else None

    code, out, err, crash = _run(argv, env, bool(case.get("subprocess")))

    assert not crash, f"{case['id']}: crashed: {crash}"
    assert "Traceback" not in out + err, err
    for secret in case.get("secrets", []):
        assert secret not in out + err, f"{case['id']}: printed a secret"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    warnings = [ln for ln in lines if ln.startswith("warning: ")]
    if case.get("warning"):
        assert len(warnings) == 1 and case["warning"] in warnings[0], err
    else:
        assert not warnings, err
    if case["expect"] == "refused":
        errors = [ln for ln in lines if ln.startswith("error: ")]
        assert code == 1, f"{case['id']}: exit {code}, expected a refusal\n{out}\n{err}"
        assert len(errors) == 1 and len(lines) == len(errors) + len(warnings), err
        assert case.get("message", "") in errors[0], errors[0]
    else:
        assert code == 0, f"{case['id']}: exit {code}\n{err}"
        assert all(ln.startswith(("warning: ", "note: ")) for ln in lines), err
        assert _fill(case.get("stdout", ""), subs) in out, out
    for path in case.get("absent", []):
        assert not Path(_fill(path, subs)).exists(), f"{case['id']}: {path} was written"
    if before is not None:
        assert _counts(db) == before, f"{case['id']}: the store changed"


@pytest.mark.slow
def test_terminate_does_not_reach_another_session(neo4j_db: str) -> None:
    """A long query in another session survives a read-only TERMINATE TRANSACTIONS."""
    import neo4j

    outcome: dict[str, Any] = {}

    def long_query() -> None:
        with neo4j.GraphDatabase.driver(neo4j_db) as driver, driver.session() as session:
            try:
                outcome["rows"] = session.run(
                    "UNWIND range(1, 30000000) AS x RETURN count(x) AS n"
                ).single()[0]
            except Exception as exc:  # terminated: the test fails below
                outcome["error"] = str(exc)

    worker = threading.Thread(target=long_query)
    worker.start()
    ids: list[str] = []
    with neo4j.GraphDatabase.driver(neo4j_db) as driver, driver.session() as session:
        deadline = time.monotonic() + 30
        while not ids and time.monotonic() < deadline:
            ids = [
                r["transactionId"]
                for r in session.run("SHOW TRANSACTIONS YIELD transactionId, currentQuery")
                if "UNWIND range" in (r.get("currentQuery") or "")
            ]
            time.sleep(0.05)
    assert ids, "the long query did not start"
    for text in (
        f"TERMINATE TRANSACTIONS '{ids[0]}'",
        f"WITH '{ids[0]}' AS t TERMINATE TRANSACTIONS t",
        f"T\\u0045RMINATE TRANSACTIONS '{ids[0]}'",
    ):
        res = runner.invoke(app, ["query", "--db", neo4j_db, "--cypher", text])
        assert res.exit_code == 1 and "read-only query refused" in res.stderr, res.stderr
    worker.join(timeout=120)
    assert outcome == {"rows": 30000000}, outcome
