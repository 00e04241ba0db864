"""The public Python API: the README's example runs, and gives the CLI's numbers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import topograph
from topograph import InputError

from conftest import REPO, SAMPLE

README = REPO / "README.md"
MARK = "<!-- tested by tests/test_api.py -->"


def readme_example() -> str:
    """The Python block right after the marker in the README."""
    text = README.read_text(encoding="utf-8")
    at = text.index(MARK)
    m = re.search(r"```python\n(.*?)```", text[at:], flags=re.DOTALL)
    assert m, "no python block after the marker"
    return m.group(1)


@pytest.mark.slow
def test_readme_example_runs_and_equals_the_cli_export(tmp_path: Path) -> None:
    # The example runs from a checkout's root: give it one with the sample.
    root = tmp_path / "checkout"
    shutil.copytree(SAMPLE, root / "examples" / "topo-sample")
    env = dict(os.environ)
    env.pop("TOPOGRAPH_DB", None)
    namespace: dict[str, object] = {}
    old = Path.cwd()
    os.chdir(root)
    try:
        exec(compile(readme_example(), "README.md", "exec"), namespace)
    finally:
        os.chdir(old)
    similar = namespace["similar"]
    distances = namespace["distances"]
    assert isinstance(distances, pa.Table)

    # The same job through the command line, into its own store.
    db = str(tmp_path / "cli.lbdb")
    out = tmp_path / "cli-distances.parquet"

    def cli(*args: str) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "topograph", *args, "--db", db],
            capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr

    cli("ingest", str(SAMPLE), "--no-progress")
    cli("analyze", "--workers", "2", "--no-progress")
    cli("export", "distances", str(out))
    exported = pq.read_table(out)
    assert distances.equals(exported)
    # run_similarity at epoch 190: each pair's mean is the mean of its exported layers
    rows = [r for r in exported.to_pylist() if r["epoch_a"] == r["epoch_b"] == 190]
    means: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        if r["run_a"] != r["run_b"]:
            means.setdefault((r["run_a"], r["run_b"]), []).append(r["distance"])
    got = {(r.run_a, r.run_b): r.distance for r in similar.itertuples()}  # type: ignore[attr-defined]
    assert got.keys() == means.keys() and len(got) == 3
    for pair, layers in means.items():
        assert got[pair] == float(np.mean(layers))


def test_query_results_convert(tmp_path: Path) -> None:
    with topograph.connect(str(tmp_path / "g.lbdb")) as tg:
        tg.ingest(SAMPLE / "e5_s0_w9")
        res = tg.query("layer_density", run="e5_s0_w9")
        assert len(res) == 12 and res.columns[:2] == ["epoch", "layer"]
        table = res.to_arrow()
        assert table.num_rows == 12 and table.column_names == res.columns
        assert res.to_pandas()["nnz"].tolist() == table.column("nnz").to_pylist()
        assert "QueryResult(12 rows" in repr(res) and "<table>" in res._repr_html_()
        pl = pytest.importorskip("polars", reason="polars is optional")
        assert isinstance(res.to_polars(), pl.DataFrame)


def test_session_errors_are_one_line(tmp_path: Path) -> None:
    with topograph.connect(str(tmp_path / "g.lbdb")) as tg:
        tg.ingest(SAMPLE / "e5_s0_w9")
        with pytest.raises(InputError, match="unknown parameter 'rnu'"):
            tg.query("layer_density", rnu="e5_s0_w9")
        with pytest.raises(InputError, match="parameter epoch expects an integer"):
            tg.query("run_similarity", epoch="ten")
        with pytest.raises(InputError, match="no named query 'nope'"):
            tg.query("nope")
        with pytest.raises(InputError, match="no complete checkpoint at epoch 5"):
            tg.analyze(epochs=[5])
        with pytest.raises(InputError, match="no complete checkpoint of run 'w7'"):
            tg.analyze(runs=["w7"])
        note = tg.query("layer_density", run="nosuchrun")
        assert note.rows == [] and "no run 'nosuchrun' is stored" in note.notes[0]
    with topograph.connect(str(tmp_path / "g.lbdb"), read_only=True) as ro:
        with pytest.raises(InputError, match="read-only"):
            ro.ingest(SAMPLE)


def test_files_only_functions(tmp_path: Path) -> None:
    cmp = topograph.compare_files(
        SAMPLE / "e5_s0_w0" / "epoch_000", SAMPLE / "e5_s0_w9" / "epoch_000", method="sparse"
    )
    assert cmp.pair.result.layers[0] == 0.3737751442151952
    m = topograph.distance_matrix(SAMPLE, epochs=[190], workers=1)
    assert len(m.pairs) == 3 and m.table.num_rows == 12
    ck = topograph.load(SAMPLE, run="e5_s0_w1", epoch=10)
    assert ck.key == ("e5_s0_w1", 10)
    assert {q.name for q in topograph.queries()} >= {"run_similarity", "neuron_lineage"}
