"""Ingest benchmark: relationships per second into both stores, and against a naive writer.

Run: ``python benchmarks/ingest.py [--topo DIR] [--neo4j bolt://127.0.0.1:7687] [--repeats 3]``

For each store, ``--repeats`` clean ingests of the whole topo set (the
embedded store into a fresh file, Neo4j after wiping its database, which
must be a scratch server), printing the median of:

* write rate: edges / seconds spent inside the store's writes;
* end-to-end rate: edges / wall time of ``ingest`` (reading and validating
  the ``.npz`` files included).

Then a naive writer, one ``MERGE`` round trip per edge (auto-commit), on a
20,000-edge slice whose neurons already exist, and the ratio of the batched
write rate to it. Without ``--neo4j`` (or ``TOPOGRAPH_BENCH_NEO4J``) the
Neo4j half is skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import TOPO, wipe_neo4j

from topograph.loaders import open_source
from topograph.pipeline.ingest import ingest
from topograph.stores import open_store
from topograph.stores.codec import encode_checkpoint

NAIVE_EDGES = 20_000
NAIVE_CID = 1_000_000  # far from the cids a real ingest allocates


def batched(kind: str, topo: Path, uri: str | None, repeats: int) -> float:
    writes, wall = [], []
    edges = neurons = 0
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            target = str(Path(tmp) / "bench.lbdb") if kind == "embedded" else str(uri)
            if kind == "neo4j":
                wipe_neo4j(target)
            with open_store(target) as store:
                report = ingest(store, [str(topo)])
            edges, neurons = report.edges, report.neurons
            writes.append(report.edges / report.write_seconds)
            wall.append(report.edges_per_second)
    print(
        f"{kind:>9}: {len(report.stored)} checkpoints, {neurons:,} neurons, {edges:,} edges; "
        f"write rate median {statistics.median(writes):,.0f} edges/s "
        f"(runs: {', '.join(f'{w:,.0f}' for w in writes)}); "
        f"end-to-end median {statistics.median(wall):,.0f} edges/s"
    )
    return statistics.median(writes)


def naive_slice(topo: Path) -> tuple[dict[str, Any], list[tuple[int, int, float]]]:
    """Neuron rows and the first 20,000 edges of the first checkpoints, under fresh uids."""
    with open_source(str(topo)) as src:
        keys = src.keys()
        edges: list[tuple[int, int, float]] = []
        neuron_tables = []
        for j, key in enumerate(keys):
            enc = encode_checkpoint(src.load(*key), NAIVE_CID + j)
            neuron_tables.append(enc)
            edges += list(
                zip(
                    (enc.base + enc.src).tolist(),
                    (enc.base + enc.dst).tolist(),
                    enc.weight.astype(np.float64).tolist(),
                    strict=True,
                )
            )
            if len(edges) >= NAIVE_EDGES:
                break
    return {"rows": neuron_tables}, edges[:NAIVE_EDGES]


def naive(kind: str, topo: Path, uri: str | None) -> float:
    prep, edges = naive_slice(topo)
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "embedded":
            import ladybug

            from topograph.stores.codec import neuron_table
            from topograph.stores.embedded import EmbeddedStore

            path = str(Path(tmp) / "naive.lbdb")
            with EmbeddedStore(path) as store:
                store.ensure_schema()
                for enc in prep["rows"]:  # neurons only, written in bulk (not timed)
                    store._exec("COPY Neuron FROM $t", {"t": neuron_table(enc)})
            db = ladybug.Database(path)
            conn = ladybug.Connection(db)
            text = (
                "MATCH (a:Neuron {uid: $s}), (b:Neuron {uid: $t}) "
                "MERGE (a)-[r:CONNECTS {weight: $w}]->(b)"
            )
            start = time.perf_counter()
            for s, t, w in edges:
                conn.execute(text, {"s": s, "t": t, "w": w})
            seconds = time.perf_counter() - start
            conn.close()
            db.close()
        else:
            import neo4j

            import topograph.cypher as cypher

            wipe_neo4j(str(uri))
            with open_store(str(uri)):
                pass  # schema (the uid constraint the naive MATCH relies on)
            driver = neo4j.GraphDatabase.driver(str(uri), notifications_min_severity="OFF")
            with driver.session() as session:
                for enc in prep["rows"]:
                    session.run(
                        cypher.load("neo4j/create_graph"),
                        ckpt=enc.id,
                        run=enc.checkpoint["run"],
                        epoch=enc.checkpoint["epoch"],
                        uid=(enc.base + np.arange(enc.neurons)).tolist(),
                        layer=enc.position.tolist(),
                        idx=enc.index.tolist(),
                        bias=[None if np.isnan(b) else b for b in enc.bias.tolist()],
                        src=[],
                        dst=[],
                        w=[],
                    ).consume()
                text = (
                    "MATCH (a:Neuron {uid: $s}) MATCH (b:Neuron {uid: $t}) "
                    "MERGE (a)-[r:CONNECTS {weight: $w}]->(b)"
                )
                start = time.perf_counter()
                for s, t, w in edges:
                    session.run(text, s=s, t=t, w=w).consume()
                seconds = time.perf_counter() - start
            driver.close()
            wipe_neo4j(str(uri))
    rate = len(edges) / seconds
    print(
        f"{kind:>9}: naive writer, one MERGE round trip per edge: {len(edges):,} edges in {seconds:.1f} s = {rate:,.0f} edges/s"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--topo", type=Path, default=TOPO)
    parser.add_argument(
        "--neo4j",
        default=os.environ.get("TOPOGRAPH_BENCH_NEO4J"),
        help="scratch Neo4j server URI (wiped!)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"# ingest benchmark ({time.strftime('%Y-%m-%d %H:%M')}), data {args.topo}")
    kinds = ["embedded"] + (["neo4j"] if args.neo4j else [])
    if not args.neo4j:
        print("neo4j: skipped (no --neo4j URI; start one with scripts/neo4j-local/neo4j-local.sh)")
    for kind in kinds:
        rate = batched(kind, args.topo, args.neo4j, args.repeats)
        slow = naive(kind, args.topo, args.neo4j)
        print(f"{kind:>9}: batched / naive = {rate / slow:,.0f}x")


if __name__ == "__main__":
    main()
