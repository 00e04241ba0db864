"""Why the embedded store's ingest memory grows with what is stored: LadybugDB alone.

Run: ``python benchmarks/embedded_index_growth.py [--batches 12] [--neurons 200000]
[--edges 2000000] [--variants hash,serial,art] [--reopen]``

The write path of :class:`topograph.stores.embedded.EmbeddedStore`, stripped
to the engine: each batch is one transaction with a ``COPY`` of fresh neurons
(INT64 keys, the checkpoint's ``uid`` range) and a ``COPY`` of edges among
them, as ``topograph ingest`` writes a batch of checkpoints. Nothing of the
batch refers to earlier ones, so a store whose memory depended only on the
batch would show the same peak every time. ``--reopen`` closes and reopens
the database after every batch (what is retained between batches is then
given back, and the pool starts empty: what it holds after a batch is what
that batch touched); ``--edges 0`` writes neurons only. Printed per batch: its peak RSS
(``VmHWM``, reset before the batch through ``/proc/self/clear_refs``), the
buffer pool in use after it (``CALL bm_info()``), and the seconds it took.

Variants of the Neuron table's primary key:

* ``hash``: ``uid INT64`` with LadybugDB's default hash index (topograph's
  schema);
* ``serial``: ``uid SERIAL`` (keys given by the database; still a hash index);
* ``art``: ``enable_default_hash_index=false`` and ``CREATE ART INDEX``
  (an order-preserving tree, so sequential keys could stay local).

A table without any primary-key index cannot be the target of a second
``COPY`` (LadybugDB 0.22 refuses it), so there is no index-free variant.
Each variant runs in a process of its own.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

POOL = 512 << 20


def _status_mib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) // 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def run_variant(variant: str, batches: int, neurons: int, edges: int, reopen: bool) -> None:
    """Write ``batches`` batches into a fresh database and print one line per batch."""
    import ladybug

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "growth.lbdb")
        db = ladybug.Database(path, buffer_pool_size=POOL)
        conn = ladybug.Connection(db)
        if variant == "art":
            conn.execute("CALL enable_default_hash_index=false")
        key = "uid SERIAL" if variant == "serial" else "uid INT64"
        conn.execute(f"CREATE NODE TABLE N({key}, ckpt INT64, idx INT64, PRIMARY KEY (uid))")
        conn.execute("CREATE REL TABLE E(FROM N TO N, weight FLOAT)")
        if variant == "art":
            conn.execute("CREATE ART INDEX n_uid FOR (n:N) ON (n.uid)")
        rng = np.random.default_rng(0)
        first = 0
        for b in range(batches):
            base = b * neurons if variant == "serial" else b << 32
            cols = {"ckpt": np.full(neurons, b, np.int64), "idx": np.arange(neurons)}
            if variant != "serial":
                cols = {"uid": base + np.arange(neurons, dtype=np.int64), **cols}
            rels = {
                "from": base + rng.integers(0, neurons, edges),
                "to": base + rng.integers(0, neurons, edges),
                "weight": np.ones(edges, np.float32),
            }
            Path("/proc/self/clear_refs").write_text("5")
            t0 = time.perf_counter()
            conn.execute("BEGIN TRANSACTION")
            conn.execute("COPY N FROM $b", {"b": pa.table(cols)})
            if edges:
                conn.execute("COPY E FROM $b", {"b": pa.table(rels)})
            conn.execute("COMMIT")
            seconds = time.perf_counter() - t0
            pool = int(conn.execute("CALL bm_info() RETURN mem_usage").get_all()[0][0]) >> 20
            conn.close()
            if reopen:
                db.close()
                db = ladybug.Database(path, buffer_pool_size=POOL)
            conn = ladybug.Connection(db)
            peak = _status_mib("VmHWM")
            first = first or peak
            print(
                f"{variant:>6} batch {b + 1:>3}: {(b + 1) * neurons / 1e6:5.1f}M neurons stored, "
                f"peak {peak:5d} MiB ({peak / first:4.2f}x the first), pool in use {pool:4d} MiB, "
                f"{seconds:5.1f} s",
                flush=True,
            )
        conn.close()
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--neurons", type=int, default=200_000, help="per batch")
    parser.add_argument("--edges", type=int, default=2_000_000, help="per batch")
    parser.add_argument("--variants", default="hash,serial,art")
    parser.add_argument("--reopen", action="store_true", help="reopen after every batch")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_variant(args.one, args.batches, args.neurons, args.edges, args.reopen)
        return
    for variant in args.variants.split(","):
        cmd = [sys.executable, __file__, "--one", variant, "--batches", str(args.batches),
               "--neurons", str(args.neurons), "--edges", str(args.edges)]  # fmt: skip
        cmd += ["--reopen"] if args.reopen else []
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
