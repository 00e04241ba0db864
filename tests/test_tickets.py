"""Plenty of winning tickets: the named query against a brute force over the distances table.

On both stores: the query must run unchanged (no list indexing, every column
aliased). The brute force reads the exported ``distances`` and
``checkpoints`` tables, forms every same-epoch pair of different runs with
both accuracies, takes the pair's mean over its layer rows and the absolute
accuracy difference in Python, and applies the thresholds.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from topograph.cli import app
from topograph.pipeline.analyze import AnalysisPlan, analyze
from topograph.pipeline.ingest import ingest
from topograph.pipeline.tables import dense_layers, table_from_store
from topograph.pipeline.tickets import all_pairs, plot_tickets, summarize, winning_tickets
from topograph.stores import GraphStore

runner = CliRunner()
Key = tuple[int, str, str]


def _brute_force(store: GraphStore, min_distance: float, max_gap: float) -> dict[Key, float]:
    accuracy = {
        (r["run"], r["epoch"]): r["accuracy"]
        for r in table_from_store(store, "checkpoints").to_pylist()
    }
    layers: dict[Key, list[float]] = defaultdict(list)
    for r in table_from_store(store, "distances").to_pylist():
        if r["epoch_a"] == r["epoch_b"] and r["run_a"] != r["run_b"]:
            layers[(r["epoch_a"], r["run_a"], r["run_b"])].append(r["distance"])
    out = {}
    for (epoch, a, b), values in layers.items():
        acc_a, acc_b = accuracy[(a, epoch)], accuracy[(b, epoch)]
        if acc_a is None or acc_b is None:
            continue
        mean = float(np.mean(values))  # the reference's mean, as NNSTD stores it
        if mean >= min_distance and abs(acc_a - acc_b) <= max_gap:
            out[(epoch, a, b)] = mean
    return out


@pytest.fixture()
def analysed(store: GraphStore, store_uri: str, sample_dir: Path) -> GraphStore:
    ingest(store, [str(sample_dir)])
    analyze(store, store_uri, AnalysisPlan(across_epochs=(0, 10, 190)), workers=1)
    return store


@pytest.mark.slow
def test_query_equals_brute_force_on_both_stores(analysed: GraphStore) -> None:
    pairs = all_pairs(analysed)
    assert len(pairs) == 9  # 3 runs -> 3 pairs, at 3 epochs, every one with accuracies
    distances = sorted(p.distance for p in pairs)
    gaps = sorted(p.accuracy_gap for p in pairs)
    # thresholds between observed values (never on one), so float sums cannot flip a pair
    cuts = [
        (0.0, 1.0),
        ((distances[3] + distances[4]) / 2, 1.0),
        (0.0, (gaps[4] + gaps[5]) / 2),
        ((distances[2] + distances[3]) / 2, (gaps[5] + gaps[6]) / 2),
    ]
    seen_sizes = set()
    for lo, gap in cuts:
        got = {(p.epoch, p.run_a, p.run_b): p.distance for p in winning_tickets(analysed, lo, gap)}
        want = _brute_force(analysed, lo, gap)
        assert set(got) == set(want), (lo, gap)
        for key, value in got.items():
            assert value == pytest.approx(want[key], abs=1e-12)
        seen_sizes.add(len(got))
        assert summarize(pairs, lo, gap).tickets == len(want)
    assert len(seen_sizes) >= 3  # the cuts really split the pairs differently
    for p in pairs:  # every column is what it says
        assert p.accuracy_gap == pytest.approx(abs(p.accuracy_a - p.accuracy_b), abs=1e-15)
        assert p.method == "reference" and p.run_a > p.run_b


@pytest.mark.slow
def test_tickets_plot_and_cli(analysed: GraphStore, store_uri: str, tmp_path: Path) -> None:
    pairs = all_pairs(analysed)
    out = plot_tickets(pairs, tmp_path / "tickets.svg", 0.2, 0.05)
    assert out.stat().st_size > 5_000
    assert dense_layers(analysed) == frozenset({3})  # the 784 x 10 output layer
    want = len(_brute_force(analysed, 0.2, 0.05))
    analysed.close()  # the command line opens its own connection
    res = runner.invoke(
        app,
        ["plot", "tickets", "--db", store_uri, "--out", str(tmp_path / "t.png"),
         "--min-distance", "0.2", "--max-accuracy-gap", "0.05"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"{want} of 9 same-epoch pairs" in res.stdout
    assert (tmp_path / "t.png").stat().st_size > 5_000
