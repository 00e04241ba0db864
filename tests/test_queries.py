"""Named queries declare their parameters; arguments are checked before the database sees them.

Every named query, on both stores, through the command line: a missing
parameter without default, an unknown one and one of the wrong type are each
one line on stderr and exit 1; a run or epoch that names nothing stored is a
note on stderr and exit 0 (an honest empty result).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from topograph.cli import app
from topograph.pipeline.ingest import ingest
from topograph.pipeline.queries import named_queries, named_query
from topograph.stores import GraphStore

runner = CliRunner()
QUERIES = named_queries()
#: A valid value per declared type, and a value of the wrong type where one exists.
GOOD = {"int": "3", "float": "0.5", "string": "x", "bool": "true", "run": "e5_s0_w9", "epoch": "10"}
BAD = {"int": "three", "float": "half", "bool": "maybe", "epoch": "ten"}


def _args(uri: str, name: str, params: dict[str, str]) -> list[str]:
    return ["query", name, "--db", uri, *[a for k, v in params.items() for a in ("-p", f"{k}={v}")]]


def _one_line_error(result: object, *words: str) -> None:
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_every_query_declares_its_parameters() -> None:
    assert len(QUERIES) >= 11
    for q in QUERIES:
        assert q.summary, q.name
        body = "\n".join(ln for ln in q.text.splitlines() if not ln.strip().startswith("//"))
        used = {p.name for p in q.params}
        for name in used:
            assert f"${name}" in body, (q.name, name)
        assert set(re.findall(r"\$(\w+)", body)) == used, q.name


@pytest.mark.slow
def test_checks_run_on_both_stores(store: GraphStore, store_uri: str, sample_dir: Path) -> None:
    ingest(store, [str(sample_dir / "e5_s0_w9")])
    store.close()  # the command line opens its own connection
    checked = 0
    for q in QUERIES:
        good = {p.name: GOOD[p.type] for p in q.params}
        ok = runner.invoke(app, _args(store_uri, q.name, good))
        assert ok.exit_code == 0, (q.name, ok.output)
        unknown = runner.invoke(app, _args(store_uri, q.name, {**good, "bogus": "1"}))
        _one_line_error(unknown, q.name, "unknown parameter 'bogus'")
        for p in q.params:
            if p.required:
                missing = {k: v for k, v in good.items() if k != p.name}
                _one_line_error(
                    runner.invoke(app, _args(store_uri, q.name, missing)),
                    q.name,
                    f"missing parameter {p.name}",
                )
                checked += 1
            if p.type in BAD:
                wrong = {**good, p.name: BAD[p.type]}
                _one_line_error(
                    runner.invoke(app, _args(store_uri, q.name, wrong)),
                    q.name,
                    f"parameter {p.name} expects",
                )
                checked += 1
    assert checked >= 15


def test_unmatched_run_is_a_note_not_an_error(
    store: GraphStore, store_uri: str, sample_dir: Path
) -> None:
    ingest(store, [str(sample_dir / "e5_s0_w9")])
    store.close()
    res = runner.invoke(app, _args(store_uri, "layer_density", {"run": "nosuchrun"}))
    assert res.exit_code == 0
    assert "note: query layer_density: no run 'nosuchrun' is stored" in res.stderr
    assert "(0 rows)" in res.stdout
    res = runner.invoke(app, _args(store_uri, "run_similarity", {"epoch": "5"}))
    assert res.exit_code == 0 and "no epoch 5 is stored (stored epochs: 0, 10, 190)" in res.stderr


def test_list_and_help_show_parameters() -> None:
    listing = runner.invoke(app, ["query", "--list"])
    assert listing.exit_code == 0
    assert "-p limit (int = 10): how many checkpoints" in listing.stdout
    helped = runner.invoke(app, ["query", "neuron_lineage", "--help"])
    assert helped.exit_code == 0
    assert "idx (int): its index within that position" in helped.stdout
    assert "--cypher" in runner.invoke(app, ["query", "--help"]).stdout
    assert named_query("nearest_checkpoints").bind({"run": "r", "epoch": 1}) == {
        "run": "r",
        "epoch": 1,
        "limit": 10,
    }


def test_huge_integers_are_refused_before_the_driver(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="out of the 64-bit integer range"):
        named_query("run_similarity").bind({"epoch": 2**70})


@pytest.mark.slow
def test_json_to_a_closed_pipe_exits_0(tmp_path: Path, sample_dir: Path) -> None:
    db = str(tmp_path / "g.lbdb")
    subprocess.run(
        [sys.executable, "-m", "topograph", "ingest", str(sample_dir), "--db", db, "--no-progress"],
        check=True, capture_output=True,
    )  # fmt: skip
    cmd = (
        f"{sys.executable} -m topograph query --db {db} --format json "
        "--cypher 'MATCH (n:Neuron) RETURN n.uid AS uid' | head -1"
    )
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('{"uid": ') and proc.stderr == ""


def test_a_write_without_write_says_how(tmp_path: Path, sample_dir: Path) -> None:
    db = str(tmp_path / "g.lbdb")
    runner.invoke(app, ["ingest", str(sample_dir / "e5_s0_w9"), "--db", db, "--no-progress"])
    res = runner.invoke(app, ["query", "--db", db, "--cypher", "MATCH (c:Checkpoint) SET c.x = 1"])
    _one_line_error(res, "--write")
