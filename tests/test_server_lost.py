"""Neo4j lost in the middle of ``analyze``: one line after bounded retries; the re-run completes.

The connection goes through a TCP relay in this process, which the test cuts
while ``analyze`` is writing (the server itself stays up for the re-run, as
it would when a network or a server comes back). A real ``topograph``
process, the real driver and the real server: only the wire is cut.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from topograph.pipeline.ingest import ingest
from topograph.stores import open_store

from conftest import wipe_neo4j

pytestmark = pytest.mark.slow


class Relay:
    """Forwards 127.0.0.1:<port> to a server until :meth:`cut`, then refuses and drops all."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                return
            server = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        self.open = False
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


_ANALYZE = [sys.executable, "-m", "topograph", "analyze", "--workers", "1", "--no-progress", "--db"]


def _analyze(db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_ANALYZE, db], capture_output=True, text=True, timeout=600)


def test_lost_server_mid_analyze_is_one_line_and_the_rerun_completes(
    neo4j_uri: str, sample_dir: Path, tmp_path: Path
) -> None:
    wipe_neo4j(neo4j_uri)
    try:
        with open_store(neo4j_uri) as store:
            ingest(store, [str(sample_dir)])
        # the counts a clean analysis leaves, from an embedded twin
        twin = str(tmp_path / "twin.lbdb")
        with open_store(twin) as store:
            ingest(store, [str(sample_dir)])
        clean = _analyze(twin)
        assert clean.returncode == 0, clean.stderr
        with open_store(twin, read_only=True) as store:
            expected = store.status().counts

        where = urlsplit(neo4j_uri)
        relay = Relay(where.hostname or "127.0.0.1", where.port or 7687)
        env = {**os.environ, "TOPOGRAPH_NEO4J_RETRY": "3", "TOPOGRAPH_LOCK_WAIT": "2"}
        proc = subprocess.Popen(
            [*_ANALYZE, f"bolt://127.0.0.1:{relay.port}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        # cut once some results are written: analyze is then mid-way
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            with open_store(neo4j_uri, read_only=True) as store:
                if store.status().counts["NNSTD"] > 0:
                    break
            time.sleep(0.2)
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"analyze ended (rc {proc.returncode}) before the cut: {err.strip()}")
        cut_at = time.monotonic()
        relay.cut()
        _, err = proc.communicate(timeout=300)
        ended = time.monotonic() - cut_at

        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert proc.returncode == 1, err
        assert "Traceback" not in err
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert ended < 120, f"{ended:.0f} s after the cut"

        rerun = _analyze(neo4j_uri)
        assert rerun.returncode == 0, rerun.stderr
        with open_store(neo4j_uri, read_only=True) as store:
            assert store.status().counts == expected
            assert store.check().ok
    finally:
        wipe_neo4j(neo4j_uri)
