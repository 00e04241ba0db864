"""One big checkpoint (2 M edges by default) into Neo4j on its default heap, and into the embedded store.

Run: ``python benchmarks/big_checkpoint.py --neo4j bolt://127.0.0.1:7702 [--edges 2000000]``

Writes one synthetic checkpoint in the reference layout (three square sparse
layers of ``--width`` neurons at the density that gives ``--edges`` non-zero
weights, plus a dense 10-neuron output layer), then ingests it with
``topograph ingest`` in a child process under ``/usr/bin/time -v``:

* into the Neo4j server named by ``--neo4j`` (started by
  ``scripts/neo4j-local/neo4j-local.sh start`` with its default heap; the
  benchmark deletes only its own run, before and after): a checkpoint over
  ``TOPOGRAPH_NEO4J_TX_EDGES`` goes in several bounded transactions,
  flagged complete in the last;
* into a fresh embedded store, with the buffer pool of
  ``TOPOGRAPH_BUFFER_POOL`` (default 512 MiB),

and prints the seconds, edges per second and peak RSS of each, the counts
read back, and the peak against the buffer pool for the embedded store.
Medians of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

RUN = "big_checkpoint_bench"


def write_checkpoint(folder: Path, width: int, edges: int, seed: int = 0) -> int:
    """Three ``width x width`` sparse layers and a dense ``width x 10`` one; returns nnz."""
    rng = np.random.default_rng(seed)
    dense_out = width * 10
    per_layer = (edges - dense_out) // 3
    density = per_layer / (width * width)
    folder.mkdir(parents=True)
    total = 0
    for k in range(4):
        if k < 3:
            w = sp.random(width, width, density=density, format="csr", random_state=rng,
                          dtype=np.float32)  # fmt: skip
        else:
            w = sp.csr_matrix(rng.standard_normal((width, 10)).astype(np.float32))
        total += w.nnz
        bias = sp.csr_matrix(rng.standard_normal((1, w.shape[1])).astype(np.float32))
        sp.save_npz(folder / f"weight_l{k}.npz", sp.vstack([w, bias], format="csr"))
    return total


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of ``cmd`` under ``/usr/bin/time -v``."""
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env={**os.environ, **env}
    )
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    h, m, s = (float(x) if x else 0.0 for x in wall.groups())
    return h * 3600 + m * 60 + s, rss / 1024, proc.stdout


def delete_run(uri: str) -> None:
    import neo4j

    with neo4j.GraphDatabase.driver(uri) as driver, driver.session() as session:
        # Small transactions: one neuron carries hundreds of CONNECTS, and
        # the server's transaction memory is bounded (that is the point).
        session.run(
            "MATCH (n:Neuron {run: $run}) CALL { WITH n DETACH DELETE n } "
            "IN TRANSACTIONS OF 200 ROWS",
            run=RUN,
        ).consume()
        session.run(
            "MATCH (r:Run {name: $run}) OPTIONAL MATCH (r)-[:HAS_CHECKPOINT]->(c) "
            "OPTIONAL MATCH (c)-[:HAS_LAYER]->(l) DETACH DELETE l, c, r",
            run=RUN,
        ).consume()


def counts(uri: str) -> tuple[int, int]:
    """(neurons, CONNECTS) of the benchmark's run."""
    code = (
        "import sys; from topograph.stores import open_store\n"
        "with open_store(sys.argv[1], read_only=True) as s:\n"
        f'    r = s.query(\'MATCH (n:Neuron {{run: "{RUN}"}}) WITH count(n) AS n '
        f'MATCH (:Neuron {{run: "{RUN}"}})-[e:CONNECTS]->() RETURN n, count(e) AS e\', {{}})\n'
        "    print(*r.rows[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code, uri], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr[-2000:])
    n, e = out.stdout.split()
    return int(n), int(e)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neo4j", help="a Neo4j server started with its default heap")
    parser.add_argument("--edges", type=int, default=2_000_000)
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["embedded", "neo4j"], help="one store only")
    args = parser.parse_args()
    topograph = [sys.executable, "-m", "topograph"]
    with tempfile.TemporaryDirectory(prefix="topograph-big-") as tmp:
        source = Path(tmp) / RUN / "epoch_000"
        nnz = write_checkpoint(source, args.width, args.edges)
        print(f"one checkpoint: {nnz:,} edges, {3 * args.width + args.width + 10:,} neurons")
        targets = {"embedded": None}
        if args.neo4j:
            targets["neo4j"] = args.neo4j
        for name, uri in targets.items():
            if args.only and name != args.only:
                continue
            walls, peaks = [], []
            for i in range(args.repeats):
                db = uri or str(Path(tmp) / f"store-{i}.lbdb")
                if uri:
                    delete_run(uri)
                wall, rss, _ = timed(
                    [*topograph, "ingest", str(source.parent), "--db", db, "--no-progress"], {}
                )
                neurons, edges = counts(db)
                if edges != nnz:
                    sys.exit(f"{name}: {edges} edges read back, {nnz} written")
                walls.append(wall)
                peaks.append(rss)
                print(f"  {name} run {i + 1}: {wall:6.1f} s  peak {rss:6.0f} MiB  "
                      f"{neurons:,} neurons, {edges:,} edges read back")  # fmt: skip
            if uri:
                delete_run(uri)
            wall = statistics.median(walls)
            print(f"{name:<9} median {wall:6.1f} s  {nnz / wall:10,.0f} edges/s  "
                  f"peak RSS {statistics.median(peaks):6.0f} MiB (client process)")  # fmt: skip
            if name == "embedded":
                pool = os.environ.get("TOPOGRAPH_BUFFER_POOL", "512MiB")
                print(f"          buffer pool {pool}: peak - pool = "
                      f"{statistics.median(peaks) - 512:+.0f} MiB (at the default pool)")  # fmt: skip


if __name__ == "__main__":
    main()
