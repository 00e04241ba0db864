"""Bulk path into Neo4j (files + Neo4j's offline importer) against the online Bolt ingest.

Run: ``python benchmarks/neo4j_bulk.py [--topo DIR] [--repeats 3] [--synthetic-edges 50000000]``

Each bulk run goes into a fresh data dir of a server started by
``scripts/neo4j-local/neo4j-local.sh`` on 127.0.0.1 (``--port``, HTTP off) and
is timed end to end: import files written (pyarrow), the importer
(``neo4j-admin database import full`` from the same Neo4j jars), the server
started on the new database, constraints and indexes created, node and
relationship counts read back through Bolt and checked. The online ingest
(:meth:`Neo4jStore.write_checkpoints`, UNWIND batches over Bolt) writes the
same rows into a scratch server of its own (wiped between runs; its start is
not timed). Reading the checkpoints into rows is timed apart and is not in
either rate.

1. The published set (``--topo``, 90 checkpoints, 1,634,343 edges): every
   ``--formats`` (csv, csv.gz, parquet) and the online ingest, ``--repeats``
   times each, interleaved, medians printed.
2. A synthetic archive of ``--synthetic-edges`` edges (0 to skip): random
   sparse MLPs 784-2048-2048-2048-10 at density 0.08 (about 800,000 edges and
   6,938 neurons per checkpoint), 8 epochs per run, generated in memory with
   a fixed seed; one bulk run per format (each takes minutes), and the online
   ingest on its first ``--online-synthetic`` checkpoints only (the whole
   archive would take most of an hour over Bolt on a 2-core machine).

The machine's load average is printed beside each figure: on a shared
machine the rates move with it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _common import REPO, TOPO, wipe_neo4j

from topograph.loaders import open_source
from topograph.model import Checkpoint
from topograph.stores import neo4j_bulk as nb
from topograph.stores.codec import encode_checkpoint
from topograph.stores.neo4j import Neo4jStore

SCRIPT = REPO / "scripts" / "neo4j-local" / "neo4j-local.sh"
WIDTHS = (784, 2048, 2048, 2048, 10)
DENSITY = 0.08
EPOCHS_PER_RUN = 8


def load_published(topo: Path) -> tuple[list[Checkpoint], float]:
    t = time.perf_counter()
    with open_source(str(topo)) as src:
        cks = [src.load(*key) for key in src.keys()]
    return cks, time.perf_counter() - t


def synthetic(edges: int, seed: int = 0) -> tuple[list[Checkpoint], float]:
    """Random sparse MLPs until ``edges`` edges: checkpoints through the real row builder."""
    t = time.perf_counter()
    rng = np.random.default_rng(seed)
    rows: list[Checkpoint] = []
    total = 0
    while total < edges:
        cid = len(rows)
        layers = []
        for n_in, n_out in itertools.pairwise(WIDTHS):
            mask = rng.random((n_in, n_out), dtype=np.float32) < DENSITY
            r, c = np.nonzero(mask)
            w = rng.standard_normal(len(r), dtype=np.float32)
            w[w == 0] = 1.0
            layers.append(sp.csr_matrix((w, (r, c)), shape=(n_in, n_out)))
        ck = Checkpoint(
            run=f"syn{cid // EPOCHS_PER_RUN}",
            epoch=10 * (cid % EPOCHS_PER_RUN),
            layers=tuple(layers),
            source="synthetic",
        )
        rows.append(ck)
        total += ck.nnz
    return rows, time.perf_counter() - t


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


@dataclass
class BulkRun:
    write: float
    stop: float
    importer: float
    start: float
    schema: float
    verify: float
    total: float
    bytes: int
    edges: int
    stages: str = ""

    @property
    def rate(self) -> float:
        return self.edges / self.total


def bulk_once(
    rows: list[Checkpoint], fmt: str, port: int, work: Path, max_off_heap: str
) -> BulkRun:
    """One bulk import into a fresh data dir; the server is stopped and the dir removed after."""
    tmp = Path(tempfile.mkdtemp(prefix="bulk-", dir=work))
    server = nb.LocalNeo4j(data_dir=tmp / "neo4j", bolt_port=port, script=SCRIPT)
    try:
        file_fmt = "parquet" if fmt == "parquet" else "csv"
        compression = "gzip" if fmt == "csv.gz" else "none"
        with nb.ImportWriter(tmp / "files", fmt=file_fmt, compression=compression) as writer:  # type: ignore[arg-type]
            nb.write_checkpoints(writer, (encode_checkpoint(ck, i) for i, ck in enumerate(rows)))
        files = writer.close()
        # Not verbose: the importer then prints its stages' timing.
        report = nb.bulk_import(files, server, max_off_heap=max_off_heap, verbose=False)
        return BulkRun(
            write=files.seconds,
            stop=report.stop_seconds,
            importer=report.import_seconds,
            start=report.start_seconds,
            schema=report.schema_seconds,
            verify=report.verify_seconds,
            total=report.seconds,
            bytes=files.bytes,
            edges=report.edges,
            stages=importer_stages(report.importer_output),
        )
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def importer_stages(output: str) -> str:
    """The importer's own timing of its stages, from its output."""
    found = re.findall(
        r"^(\S[\w ]+?) COMPLETED in (.+)$|^IMPORT DONE in (.+?)\.?\s*$", output, re.M
    )
    return "; ".join(f"{a} {b}" if a else f"importer total {c}" for a, b, c in found)


class OnlineServer:
    """A scratch server for the online ingest, in a data dir of its own."""

    def __init__(self, port: int, work: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="online-", dir=work))
        self.server = nb.LocalNeo4j(data_dir=self.dir / "neo4j", bolt_port=port, script=SCRIPT)
        self.server.start()

    def ingest(self, rows: list[Checkpoint], writers: int) -> float:
        wipe_neo4j(self.server.uri)
        with Neo4jStore(self.server.uri, writers=writers) as store:
            store.ensure_schema()
            t = time.perf_counter()
            store.write_checkpoints(rows)
            return time.perf_counter() - t

    def close(self) -> None:
        try:
            self.server.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def describe(name: str, runs: list[BulkRun]) -> str:
    med: Callable[[str], float] = lambda a: statistics.median(getattr(r, a) for r in runs)  # noqa: E731
    rates = ", ".join(f"{r.rate:,.0f}" for r in runs)
    return (
        f"  bulk {name:>7}: median {statistics.median(r.rate for r in runs):>9,.0f} edges/s "
        f"(runs: {rates}); median s: write {med('write'):.1f}, import {med('importer'):.1f}, "
        f"start {med('start'):.1f}, schema {med('schema'):.1f}, counts {med('verify'):.1f}, "
        f"total {med('total'):.1f}; files {runs[0].bytes / 1e6:,.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topo", type=Path, default=TOPO)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--formats", default="csv,csv.gz,parquet")
    ap.add_argument("--synthetic-edges", type=int, default=50_000_000)
    ap.add_argument("--synthetic-formats", default="csv,parquet")
    ap.add_argument("--online-synthetic", type=int, default=4, help="checkpoints (0: none)")
    ap.add_argument("--writers", type=int, default=2, help="online writer threads")
    ap.add_argument(
        "--port", type=int, default=0, help="Bolt port of the bulk servers (0: a free one)"
    )
    ap.add_argument("--max-off-heap", default="2G", help="the importer's off-heap memory")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: $TMPDIR)")
    ap.add_argument("--skip-published", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="neo4j-bulk-bench-", dir=args.work))
    formats = [f for f in args.formats.split(",") if f]
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    print(f"machine: {os.cpu_count()} cores, {java.splitlines()[0] if java else 'no java'}")
    args.port = args.port or free_port()
    online = OnlineServer(free_port(), work)
    try:
        if not args.skip_published:
            rows, secs = load_published(args.topo)
            edges = sum(r.nnz for r in rows)
            print(
                f"published set {args.topo}: {len(rows)} checkpoints, {edges:,} edges "
                f"(read into rows in {secs:.1f} s, not counted)"
            )
            bulk: dict[str, list[BulkRun]] = {f: [] for f in formats}
            online_s: list[float] = []
            for i in range(args.repeats):
                for fmt in formats:
                    run = bulk_once(rows, fmt, args.port, work, args.max_off_heap)
                    bulk[fmt].append(run)
                    print(
                        f"    run {i + 1} bulk {fmt}: {run.rate:,.0f} edges/s, {run.total:.1f} s, {load()}",
                        flush=True,
                    )
                s = online.ingest(rows, args.writers)
                online_s.append(s)
                print(
                    f"    run {i + 1} online: {edges / s:,.0f} edges/s, {s:.1f} s, {load()}",
                    flush=True,
                )
            for fmt in formats:
                print(describe(fmt, bulk[fmt]))
            rates = [edges / s for s in online_s]
            print(
                f"  online Bolt ({args.writers} writers): median {statistics.median(rates):,.0f} edges/s "
                f"(runs: {', '.join(f'{r:,.0f}' for r in rates)})"
            )
            del rows
        if args.synthetic_edges > 0:
            rows, secs = synthetic(args.synthetic_edges)
            edges = sum(r.nnz for r in rows)
            neurons = sum(sum(r.widths) for r in rows)
            print(
                f"synthetic: {len(rows)} checkpoints of {'-'.join(map(str, WIDTHS))} at density "
                f"{DENSITY}, {neurons:,} neurons, {edges:,} edges (generated in {secs:.1f} s, not counted)"
            )
            for fmt in [f for f in args.synthetic_formats.split(",") if f]:
                run = bulk_once(rows, fmt, args.port, work, args.max_off_heap)
                print(describe(fmt, [run]) + f" [one run, {load()}]", flush=True)
                print(f"    importer's stages: {run.stages}", flush=True)
            if args.online_synthetic > 0:
                part = rows[: args.online_synthetic]
                e = sum(r.nnz for r in part)
                s = online.ingest(part, args.writers)
                print(
                    f"  online Bolt ({args.writers} writers), first {len(part)} checkpoints "
                    f"({e:,} edges): {e / s:,.0f} edges/s, {s:.1f} s [one run, {load()}]"
                )
    finally:
        online.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
