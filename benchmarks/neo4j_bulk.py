"""``topograph ingest --bulk`` (Neo4j's offline importer) against the online Bolt ingest.

Run: ``python benchmarks/neo4j_bulk.py [--topo DIR] [--archive DIR] [--repeats 3] [--port 7701]``

Both paths are timed end to end from the checkpoint files, as the command
runs them:

* bulk: :func:`topograph.pipeline.bulk.bulk_ingest` into a fresh data dir of
  ``scripts/neo4j-local/neo4j-local.sh`` (Bolt on ``--port``, HTTP off):
  read and validate the files, encode, write the import files, run
  ``neo4j-admin database import full`` (from the same Neo4j jars), start the
  server on the new database, create constraints and indexes, read every
  count back through Bolt and compare. The data dir is removed after.
* online (the baseline): :func:`topograph.pipeline.ingest.ingest` over Bolt
  (UNWIND batches, ``Neo4jStore``) into a scratch server of its own on
  ``--port + 1``, wiped before each run (its start is not timed).

1. The published set (``--topo``, 90 checkpoints, 1,634,343 edges): each
   ``--formats`` and the online ingest, ``--repeats`` times, interleaved;
   medians, and the ratio bulk / online of the medians.
2. A synthetic archive (``--archive``, made by ``benchmarks/make_archive.py``:
   1,000 checkpoints, about 51M edges): the bulk path ``--repeats`` times;
   the online ingest, as the baseline, on its first ``--online-epochs``
   epochs of every run (the whole archive would take most of an hour over
   Bolt on this machine), ``--repeats`` times.

The load average is printed beside each run: on a shared machine the rates
move with it; the ratios, measured in the same run, much less.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import REPO, TOPO, wipe_neo4j

from topograph.pipeline.bulk import bulk_ingest
from topograph.pipeline.ingest import ingest
from topograph.stores import neo4j_bulk as nb
from topograph.stores import open_store

SCRIPT = REPO / "scripts" / "neo4j-local" / "neo4j-local.sh"
#: Throw-away data dirs: no preallocated transaction logs.
SCRIPT_ENV = {"NEO4J_TX_LOG_PREALLOCATE": "false"}


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


@dataclass
class Run:
    """One timed ingest: edges, wall seconds, and the bulk path's steps."""

    edges: int
    seconds: float
    read: float = 0.0
    importer: float = 0.0
    start: float = 0.0
    schema: float = 0.0
    verify: float = 0.0

    @property
    def rate(self) -> float:
        return self.edges / self.seconds


def bulk_once(
    paths: list[str], fmt: nb.FileFormat, port: int, work: Path, max_off_heap: str
) -> Run:
    """One ``ingest --bulk`` into a fresh data dir; the server is stopped and the dir removed."""
    tmp = Path(tempfile.mkdtemp(prefix="bulk-", dir=work))
    server = nb.LocalNeo4j(data_dir=tmp / "neo4j", bolt_port=port, script=SCRIPT, env=SCRIPT_ENV)
    try:
        report = bulk_ingest(
            server, paths, file_format=fmt, work_dir=tmp, max_off_heap=max_off_heap
        )
        load_ = report.load
        assert load_ is not None
        return Run(
            edges=report.edges,
            seconds=report.seconds,
            read=report.read_seconds,
            importer=load_.import_seconds,
            start=load_.start_seconds,
            schema=load_.schema_seconds,
            verify=load_.verify_seconds,
        )
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class OnlineServer:
    """A scratch server for the online ingest, in a data dir of its own."""

    def __init__(self, port: int, work: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="online-", dir=work))
        self.server = nb.LocalNeo4j(
            data_dir=self.dir / "neo4j", bolt_port=port, script=SCRIPT, env=SCRIPT_ENV
        )
        self.server.start()

    def ingest(self, paths: list[str]) -> Run:
        wipe_neo4j(self.server.uri)
        with open_store(self.server.uri) as store:
            report = ingest(store, paths)
        return Run(edges=report.edges, seconds=report.seconds)

    def close(self) -> None:
        try:
            self.server.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def describe(name: str, runs: list[Run]) -> str:
    def med(attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs)

    rates = ", ".join(f"{r.rate:,.0f}" for r in runs)
    line = f"  {name:>12}: median {statistics.median(r.rate for r in runs):>10,.0f} edges/s (runs: {rates})"
    if runs[0].importer:
        line += (
            f"; median s: read+files {med('read'):.1f}, importer {med('importer'):.1f}, "
            f"start {med('start'):.1f}, schema {med('schema'):.1f}, counts {med('verify'):.1f}, "
            f"total {med('seconds'):.1f}"
        )
    else:
        line += f"; median {med('seconds'):.1f} s"
    return line


def series(
    label: str,
    paths: list[str],
    formats: list[nb.FileFormat],
    online_paths: list[str] | None,
    online: OnlineServer,
    args: argparse.Namespace,
    work: Path,
) -> None:
    bulk: dict[str, list[Run]] = {f: [] for f in formats}
    base: list[Run] = []
    for i in range(args.repeats):
        for fmt in formats:
            run = bulk_once(paths, fmt, args.port, work, args.max_off_heap)
            bulk[fmt].append(run)
            print(f"    {label} run {i + 1} bulk {fmt}: {run.rate:,.0f} edges/s, {run.edges:,} edges, {run.seconds:.1f} s, {load()}", flush=True)  # fmt: skip
        if online_paths:
            run = online.ingest(online_paths)
            base.append(run)
            print(f"    {label} run {i + 1} online: {run.rate:,.0f} edges/s, {run.edges:,} edges, {run.seconds:.1f} s, {load()}", flush=True)  # fmt: skip
    for fmt in formats:
        print(describe(f"bulk {fmt}", bulk[fmt]))
    if base:
        print(describe("online Bolt", base))
        online_rate = statistics.median(r.rate for r in base)
        for fmt in formats:
            ratio = statistics.median(r.rate for r in bulk[fmt]) / online_rate
            per_run = ", ".join(
                f"{b.rate / o.rate:.1f}x" for b, o in zip(bulk[fmt], base, strict=True)
            )
            print(f"  bulk {fmt} / online: {ratio:.1f}x (per run: {per_run})")


def parse_formats(text: str) -> list[nb.FileFormat]:
    out: list[nb.FileFormat] = []
    for f in text.split(","):
        if f not in ("csv", "parquet"):
            raise SystemExit(f"unknown import file format {f!r} (csv or parquet)")
        out.append(f)  # type: ignore[arg-type]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topo", type=Path, default=TOPO)
    ap.add_argument("--archive", type=Path, default=None, help="made by make_archive.py")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--formats", default="csv,parquet", help="for the published set")
    ap.add_argument("--archive-formats", default="csv")
    ap.add_argument("--online-epochs", type=int, default=25, help="per run of the archive")
    ap.add_argument("--port", type=int, default=7701, help="Bolt port; the online server: +1")
    ap.add_argument("--max-off-heap", default="2G", help="the importer's off-heap memory")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: $TMPDIR)")
    ap.add_argument("--skip-published", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="neo4j-bulk-bench-", dir=args.work))
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    print(f"machine: {os.cpu_count()} cores, {java.splitlines()[0] if java else 'no java'}")
    online = OnlineServer(args.port + 1, work)
    try:
        if not args.skip_published:
            print(f"published set {args.topo} ({load()})")
            paths = [str(args.topo)]
            formats = parse_formats(args.formats)
            series("published", paths, formats, paths, online, args, work)
        if args.archive is not None:
            runs = sorted(p for p in args.archive.iterdir() if p.is_dir())
            epochs = [sorted(r.glob("epoch_*"))[: args.online_epochs] for r in runs]
            part = [str(e) for es in epochs for e in es]
            print(
                f"archive {args.archive}: {len(runs)} runs; online on {len(part)} epochs ({load()})"
            )
            formats = parse_formats(args.archive_formats)
            started = time.perf_counter()
            series("archive", [str(args.archive)], formats, part, online, args, work)
            print(f"  (archive series: {time.perf_counter() - started:.0f} s)")
    finally:
        online.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
