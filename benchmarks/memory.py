"""Peak memory of ingest, analyze and export on 10 %, 50 % and 100 % of a big archive.

Run: ``python benchmarks/memory.py [--work DIR] [--runs 4] [--epochs 250]
[--buffer-pool 512MiB] [--cache-mb 256] [--percent 10,50,100] [--neo4j PORT]``

Makes (once, with ``benchmarks/make_archive.py``) the synthetic archive at
10 %, 50 % and 100 % of ``--epochs`` per run (by default 100, 500 and 1,000
checkpoints, about 5, 25 and 51 M edges), then for each size runs, in a fresh
embedded store, each command under ``/usr/bin/time -v``:

* ``topograph ingest`` of the folder,
* ``topograph analyze --workers 2`` (the default plan: across runs at every
  epoch, along every run with MATCHES, spectral properties of everything),
* ``topograph export distances`` and ``export spectral``,

(with ``--neo4j PORT``: in a fresh local Neo4j server started on that port by
``scripts/neo4j-local/neo4j-local.sh``, one per size, stopped at the end),
and prints the peak resident set size of each (the largest process of the
command's tree, worker processes included), its wall time, and the ratio of
each peak to the 10 % one: flat means memory does not grow with the archive.

Memory is bounded by two budgets, both filled as data passes through them:
the embedded store's buffer pool (``--buffer-pool``, the commands'
``TOPOGRAPH_BUFFER_POOL``, default 512 MiB; each analysis worker opens its
own) and each worker's checkpoint cache (``--cache-mb``,
``TOPOGRAPH_WORKER_CACHE_MB``, default 256). An archive smaller than the
budgets does not fill them, so its peak is lower; with budgets the 10 %
archive fills, the three peaks show whether anything else grows. With
``--neo4j`` the store lives in the server, so the topograph processes hold
no buffer pool; the server's own peak (its JVM's VmHWM, bounded by the
script's ``NEO4J_HEAP`` and ``NEO4J_PAGECACHE``) is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEO4J_SCRIPT = HERE.parent / "scripts" / "neo4j-local" / "neo4j-local.sh"


def server_peak_mib(data_dir: Path) -> float:
    """Peak resident set (VmHWM, MiB) of the local Neo4j server of ``data_dir`` so far."""
    pid = (data_dir / "neo4j-local.pid").read_text().strip()
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Peak RSS (MiB) and wall seconds of ``cmd`` under ``/usr/bin/time -v``."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    h, m, s = (float(x) if x else 0.0 for x in wall.groups())
    return rss / 1024, h * 3600 + m * 60 + s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("out/memory"))
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=250)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--percent", default="10,50,100", help="sizes to run, in this order")
    parser.add_argument("--buffer-pool", default="512MiB", help="TOPOGRAPH_BUFFER_POOL")
    parser.add_argument("--cache-mb", default="256", help="TOPOGRAPH_WORKER_CACHE_MB")
    parser.add_argument("--neo4j", type=int, metavar="PORT",
                        help="measure against a fresh local Neo4j server on this Bolt port")  # fmt: skip
    args = parser.parse_args()
    env = {
        **os.environ,
        "TOPOGRAPH_BUFFER_POOL": args.buffer_pool,
        "TOPOGRAPH_WORKER_CACHE_MB": args.cache_mb,
    }
    print(f"buffer pool {args.buffer_pool}, worker cache {args.cache_mb} MiB, "
          f"{args.workers} workers", flush=True)  # fmt: skip
    topograph = [sys.executable, "-m", "topograph"]
    rows: dict[str, list[tuple[int, float, float]]] = {}
    for pct in (int(p) for p in args.percent.split(",")):
        epochs = args.epochs * pct // 100
        data = args.work / f"archive-{pct}"
        if not data.is_dir():
            subprocess.run(
                [sys.executable, str(HERE / "make_archive.py"), str(data),
                 "--runs", str(args.runs), "--epochs", str(epochs)],
                check=True,
            )  # fmt: skip
        server_env: dict[str, str] | None = None
        if args.neo4j:
            data_dir = (args.work / f"neo4j-{pct}").resolve()
            shutil.rmtree(data_dir, ignore_errors=True)
            server_env = {**env, "NEO4J_DATA_DIR": str(data_dir),
                          "NEO4J_TX_LOG_PREALLOCATE": "false"}  # fmt: skip
            subprocess.run(["bash", str(NEO4J_SCRIPT), "start", "--port", str(args.neo4j),
                            "--http-port", "off"], env=server_env, check=True)  # fmt: skip
            db_args = ["--db", f"bolt://127.0.0.1:{args.neo4j}"]
        else:
            db = args.work / f"store-{pct}.lbdb"
            for p in args.work.glob(f"store-{pct}.lbdb*"):
                p.unlink() if p.is_file() else shutil.rmtree(p)
            db_args = ["--db", str(db)]
        steps = {
            "ingest": [*topograph, "ingest", str(data), *db_args, "--no-progress"],
            "analyze": [*topograph, "analyze", *db_args, "--workers", str(args.workers),
                        "--no-progress"],
            "export distances": [*topograph, "export", "distances",
                                 str(args.work / f"d-{pct}.parquet"), *db_args],
            "export spectral": [*topograph, "export", "spectral",
                                str(args.work / f"s-{pct}.parquet"), *db_args],
        }  # fmt: skip
        try:
            for name, cmd in steps.items():
                rss, wall = timed(cmd, env)
                rows.setdefault(name, []).append((pct, rss, wall))
                server = ""
                if server_env is not None:
                    server = f"  (server so far {server_peak_mib(data_dir):6.0f} MiB)"
                print(f"{pct:>4}% {name:<17} peak {rss:8.0f} MiB  {wall:8.1f} s{server}",
                      flush=True)  # fmt: skip
        finally:
            if server_env is not None:
                subprocess.run(["bash", str(NEO4J_SCRIPT), "stop"], env=server_env)
    sizes = sorted({pct for points in rows.values() for pct, _, _ in points})
    print(f"\n## peak RSS against the {sizes[0]} % archive (1.00 = flat)")
    print(f"{'step':<17} " + " ".join(f"{f'{p} %':>16}" for p in sizes))
    for name, points in rows.items():
        by_size = {pct: rss for pct, rss, _ in points}
        base = by_size[sizes[0]]
        cells = " ".join(f"{by_size[p]:7.0f} MiB {by_size[p] / base:4.2f}x" for p in sizes)
        print(f"{name:<17} {cells}")


if __name__ == "__main__":
    main()
