"""Where the online Bolt ingest spends its time: server CPU by thread group, client CPU.

Run: ``python benchmarks/neo4j_online.py [--topo DIR] [--configs NAME=VAR=VALUE;VAR=VALUE ...] [--jfr]``

For each configuration (environment variables for
``scripts/neo4j-local/neo4j-local.sh``: ``NEO4J_HEAP``, ``NEO4J_HEAP_YOUNG``,
``NEO4J_JAVA_OPTS``, ``NEO4J_CONF_FILE``...) a server is started in a fresh
data dir and the published set is written twice with
:meth:`Neo4jStore.write_checkpoints`: once on the cold server, once warm
(under new run names and uids, so nothing is wiped in between). Printed per
ingest: edges/s (wall), and CPU seconds per million edges of the server's
threads (Bolt workers, JIT compiler, GC, other; from ``/proc``) and of this
client process. On a shared machine the wall rate moves with the load; CPU
per edge much less so, which is why it is the figure to compare.

``--jfr`` records the warm ingest of the first configuration with Java
Flight Recorder and prints the share of the Bolt workers' samples spent in
the commit, in Cypher execution and in a few kernel parts.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from _common import REPO, TOPO

from topograph.loaders import open_source
from topograph.model import Checkpoint
from topograph.stores.neo4j import Neo4jStore

SCRIPT = REPO / "scripts" / "neo4j-local" / "neo4j-local.sh"
TICK = os.sysconf("SC_CLK_TCK")
DEFAULT_CONFIGS = [
    "heap 1g, G1 sizing (before)=NEO4J_HEAP=1g;NEO4J_HEAP_YOUNG=auto",
    "script defaults=",
]
#: Frames whose inclusive share of the Bolt workers' samples --jfr prints.
JFR_PARTS = {
    "commit": "KernelTransactionImplementation.commit",
    "  commands from tx state": "KernelTransactionImplementation.extractCommands",
    "    counts store deltas": "TransactionCountingStateVisitor.visitRelationshipModifications",
    "  apply to store": "InternalTransactionCommitProcess.applyToStore",
    "    index updates": "IndexingService.applyUpdates",
    "  append to log": "InternalTransactionCommitProcess.appendToLog",
    "Cypher execution": "CypherExecutableQuery.execute",
    "  create nodes": "EntityCreateSlottedPipe.createNode",
    "    uniqueness checks": "nodeIndexSeekWithFreshIndexReader",
    "  create relationships": "EntityCreateSlottedPipe.createRelationship",
    "Bolt message decoding": "PackstreamStructDecoder.decode",
}


def rows_for(cks: list[Checkpoint], trial: int) -> list[Checkpoint]:
    """The checkpoints under run names of their own, so that trials never collide."""
    return [
        Checkpoint(
            f"{ck.run}#{trial}", ck.epoch, ck.layers, ck.biases, ck.source, ck.accuracy, ck.info
        )
        for ck in cks
    ]


def thread_cpu(pid: int) -> dict[str, tuple[str, float]]:
    """CPU seconds of each thread of ``pid``, with its name."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        f = stat.rsplit(")", 1)[1].split()
        out[tid] = (name, (int(f[11]) + int(f[12])) / TICK)
    return out


def group(name: str) -> str:
    if "Compiler" in name:
        return "jit"
    if name.startswith(("GC ", "G1 ")) or re.match(r"G\d ", name):
        return "gc"
    return "bolt" if "Bolt" in name else "other"


def parse_configs(specs: list[str]) -> dict[str, dict[str, str]]:
    configs = {}
    for spec in specs:
        name, _, assigns = spec.partition("=")
        env = dict(a.split("=", 1) for a in assigns.split(";") if a)
        configs[name] = env
    return configs


def jfr_report(jfr: Path) -> None:
    text = subprocess.run(
        ["jfr", "print", "--events", "jdk.ExecutionSample", "--stack-depth", "96", str(jfr)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    samples = [s for s in text.split("jdk.ExecutionSample")[1:] if "BoltWorker" in s]
    hits: collections.Counter[str] = collections.Counter()
    for s in samples:
        for part, frame in JFR_PARTS.items():
            if frame in s:
                hits[part] += 1
    print(f"  JFR, warm ingest, {len(samples)} samples of the Bolt workers:")
    for part in JFR_PARTS:
        print(f"    {100 * hits[part] / max(len(samples), 1):5.1f}%  {part}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topo", type=Path, default=TOPO)
    ap.add_argument("--configs", nargs="*", default=DEFAULT_CONFIGS)
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--port", type=int, default=0, help="Bolt port (0: a free one)")
    ap.add_argument("--jfr", action="store_true")
    args = ap.parse_args()
    if not args.port:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = int(sock.getsockname()[1])
    with open_source(str(args.topo)) as src:
        cks = [src.load(*key) for key in src.keys()]
    edges = sum(ck.nnz for ck in cks)
    print(f"{len(cks)} checkpoints, {edges:,} edges per ingest, {args.writers} writers")
    for n, (name, env_extra) in enumerate(parse_configs(args.configs).items()):
        data = Path(tempfile.mkdtemp(prefix="neo4j-online-"))
        env = {**os.environ, "NEO4J_DATA_DIR": str(data), **env_extra}
        start = ["bash", str(SCRIPT), "start", "--port", str(args.port), "--http-port", "off"]
        subprocess.run(start, env=env, check=True, capture_output=True)
        pid = int((data / "neo4j-local.pid").read_text())
        try:
            with Neo4jStore(f"bolt://127.0.0.1:{args.port}", writers=args.writers) as store:
                store.ensure_schema()
                for trial, label in ((1, "cold"), (2, "warm")):
                    rows = rows_for(cks, trial)
                    jfr = data / "warm.jfr" if args.jfr and n == 0 and label == "warm" else None
                    if jfr:
                        subprocess.run(["jcmd", str(pid), "JFR.start", "name=w", f"filename={jfr}"], check=True, capture_output=True)  # fmt: skip
                    before, c0 = thread_cpu(pid), time.process_time()
                    t = time.perf_counter()
                    store.write_checkpoints(rows)
                    wall = time.perf_counter() - t
                    after, client = thread_cpu(pid), time.process_time() - c0
                    if jfr:
                        subprocess.run(["jcmd", str(pid), "JFR.stop", "name=w"], check=True, capture_output=True)  # fmt: skip
                    cpu: dict[str, float] = collections.defaultdict(float)
                    for tid, (tname, secs) in after.items():
                        cpu[group(tname)] += secs - before.get(tid, (tname, 0.0))[1]
                    per_m = {k: v / edges * 1e6 for k, v in cpu.items()}
                    print(
                        f"{name:>30} {label}: {edges / wall:8,.0f} edges/s ({wall:5.1f} s) | "
                        f"server CPU {sum(per_m.values()):5.1f} s per M edges (Bolt workers "
                        f"{per_m['bolt']:.1f}, JIT {per_m['jit']:.1f}, GC {per_m['gc']:.1f}, "
                        f"other {per_m['other']:.1f}) | client CPU {client / edges * 1e6:.1f} | "
                        f"load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                    if jfr:
                        jfr_report(jfr)
        finally:
            subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True)
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
