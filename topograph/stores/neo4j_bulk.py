"""Bulk path into Neo4j: import files, then Neo4j's own offline importer.

The online path (:class:`~topograph.stores.neo4j.Neo4jStore`) sends UNWIND
batches over Bolt through the transaction machinery. Neo4j's offline importer
(``neo4j-admin database import full``) writes the store files directly and
skips it, for a new database only. Three steps, one function or class each:

1. :class:`ImportWriter` writes one pyarrow table per node label and
   relationship type (the graph model's columns, :data:`NODE_COLUMNS`,
   :data:`RELATIONSHIP_COLUMNS`, encoded by :mod:`topograph.stores.codec`:
   the very graph the online path writes) in the importer's format: per label or type
   a one-line header file with typed fields (``uid:ID(Neuron){id-type:long}``,
   ``:START_ID(Neuron)``, ``weight:double``) and data parts written by
   pyarrow's CSV writer, or Parquet files, which the importer also reads.
   :func:`write_checkpoints` feeds it encoded checkpoints
   (:class:`~topograph.stores.codec.EncodedCheckpoint`).
2. A server handle runs the importer while that server is stopped:
   :class:`LocalNeo4j` drives ``scripts/neo4j-local/neo4j-local.sh``
   (``import``: the importer from the same Neo4j jars), :class:`ComposeNeo4j`
   the ``neo4j-admin`` of the image in ``docker/compose.yml``.
3. :func:`finish` starts the server again, creates the constraints and indexes
   of ``cypher/schema/neo4j.cypher`` (after the import: the importer builds no
   index, and creating them on the finished store is one scan per index) and
   compares node and relationship counts, read through Bolt, with the rows
   written. It also sets the checkpoint-number counter the online path
   allocates from, so a later online ingest numbers its checkpoints after
   the imported ones.

:func:`bulk_import` runs the three.

Community edition serves exactly one user database, fixed when a data dir is
first started (``initial.dbms.default_database``, default ``neo4j``), and has
no ``CREATE``/``STOP DATABASE``. So a bulk import either goes into a fresh
data dir (a new database: the first start registers it), or replaces the
graph of an existing one: stop the server, import into its default database
with ``--overwrite-destination``, start it. Its old graph is gone; that is why
``overwrite`` must be asked for. A failed import leaves store files the
importer calls unusable; ``neo4j-local.sh import`` removes them, so the next
start serves an empty database (with ``overwrite`` the old graph is gone
either way).

Measured on the published set and a 50M-edge synthetic archive:
``benchmarks/neo4j_bulk.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from topograph.errors import TopographError, first_line
from topograph.stores.codec import (
    CHECKPOINT_PROPERTIES,
    LAYER_PROPERTIES,
    NEURON_PROPERTIES,
    EncodedCheckpoint,
    neuron_table,
)

__all__ = [
    "NODE_COLUMNS",
    "RELATIONSHIP_COLUMNS",
    "BulkImportError",
    "BulkReport",
    "ComposeNeo4j",
    "ImportFiles",
    "ImportWriter",
    "LocalNeo4j",
    "Neo4jServer",
    "bulk_import",
    "checkpoint_tables",
    "finish",
    "write_checkpoints",
]

FileFormat = Literal["csv", "parquet"]
Compression = Literal["none", "gzip"]

#: Node labels: columns in file order, the first is the key (the importer's ID).
NODE_COLUMNS: dict[str, pa.Schema] = {
    "Run": pa.schema([("name", pa.string())]),
    "Checkpoint": CHECKPOINT_PROPERTIES,
    "Layer": LAYER_PROPERTIES,
    "Neuron": NEURON_PROPERTIES,
}

#: Relationship types: (start label, end label) and columns; ``src``/``dst``
#: hold the keys of the end nodes (Run name, Checkpoint id, Layer id, Neuron uid).
RELATIONSHIP_COLUMNS: dict[str, tuple[str, str, pa.Schema]] = {
    "HAS_CHECKPOINT": (
        "Run",
        "Checkpoint",
        pa.schema([("src", pa.string()), ("dst", pa.string())]),
    ),
    "HAS_LAYER": ("Checkpoint", "Layer", pa.schema([("src", pa.string()), ("dst", pa.string())])),
    "CONNECTS": (
        "Neuron",
        "Neuron",
        pa.schema(
            [
                ("src", pa.int64()),
                ("dst", pa.int64()),
                ("weight", pa.float64()),
                # null for 0 (every dense layer's): the online path leaves it unset too
                ("tap", pa.int32()),
            ]
        ),
    ),
}

# Arrow type -> the importer's header type. Weights go as doubles (the float32
# widened, written in full): the online path stores exactly that double. As
# "float" the importer would store the double nearest the float's shortest
# decimal (-0.081579156, not -0.08157915621995926), another value. "int"
# becomes a long (--normalize-types, the default), as the online path's are.
_HEADER_TYPES = {
    pa.string(): "string",
    pa.int64(): "long",
    pa.int32(): "int",
    pa.float64(): "double",
    pa.bool_(): "boolean",
}

#: Node and relationship counts checked after an import (the status query's keys).
COUNTED = ("Run", "Checkpoint", "Layer", "Neuron", "HAS_CHECKPOINT", "HAS_LAYER", "CONNECTS")


class BulkImportError(TopographError):
    """Import files could not be written, the importer failed, or the counts differ."""


def _id_type(t: pa.DataType) -> str:
    return "long" if t == pa.int64() else "string"


def node_header(label: str) -> list[str]:
    """Header fields of ``label``'s files: the key as a named ID (stored as a property)."""
    schema = NODE_COLUMNS[label]
    key = schema.field(0)
    fields = [f"{key.name}:ID({label}){{id-type:{_id_type(key.type)}}}"]
    fields += [f"{f.name}:{_HEADER_TYPES[f.type]}" for f in list(schema)[1:]]
    return fields


def relationship_header(rel_type: str) -> list[str]:
    """Header fields of ``rel_type``'s files: start and end ID in their labels' ID spaces."""
    start, end, schema = RELATIONSHIP_COLUMNS[rel_type]
    fields = [f":START_ID({start})", f":END_ID({end})"]
    fields += [f"{f.name}:{_HEADER_TYPES[f.type]}" for f in list(schema)[2:]]
    return fields


def _conform(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """``table``'s columns of ``schema``, in its order and types (extra columns are dropped)."""
    missing = [n for n in schema.names if n not in table.column_names]
    if missing:
        raise BulkImportError(f"{what}: missing column(s) {', '.join(missing)}")
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise BulkImportError(f"{what}: {first_line(exc)}") from None


@dataclass(frozen=True)
class ImportFiles:
    """What :class:`ImportWriter` wrote: files per label / type, rows, bytes.

    ``nodes[label]`` and ``relationships[type]``: the header file first (CSV),
    then the data parts, as the importer wants them.
    """

    directory: Path
    format: FileFormat
    nodes: dict[str, list[Path]]
    relationships: dict[str, list[Path]]
    counts: dict[str, int]
    bytes: int
    seconds: float

    def importer_args(self, root: str | None = None) -> list[str]:
        """``--nodes=Label=f1,f2`` / ``--relationships=TYPE=...`` options for the importer.

        ``root``: where :attr:`directory` is seen by the importer (a path
        inside a container); default: as it is here.
        """

        def where(p: Path) -> str:
            if root is None:
                return str(p)
            return f"{root.rstrip('/')}/{p.relative_to(self.directory).as_posix()}"

        args = ["--input-type=parquet"] if self.format == "parquet" else []
        for label, files in self.nodes.items():
            args.append(f"--nodes={label}={','.join(where(p) for p in files)}")
        for rel_type, files in self.relationships.items():
            args.append(f"--relationships={rel_type}={','.join(where(p) for p in files)}")
        return args


class ImportWriter:
    """Writes node and relationship tables into import files under ``directory``.

    Tables passed for one label or type are buffered into parts of about
    ``part_rows`` rows; parts are written by ``threads`` threads at once
    (pyarrow's writers release the GIL). ``compression="gzip"`` writes
    ``.csv.gz`` parts, which the importer reads as well (measured: slower to
    write than they are to read back, see ``benchmarks/neo4j_bulk.py``).
    ``fmt="parquet"`` writes Parquet parts instead of CSV (the importer reads
    them with ``--input-type=parquet``; the header goes into the column names).

    Use as a context manager or call :meth:`close`, which returns the
    :class:`ImportFiles`.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        fmt: FileFormat = "csv",
        compression: Compression = "none",
        part_rows: int = 4_000_000,
        threads: int | None = None,
    ) -> None:
        if fmt not in ("csv", "parquet"):
            raise BulkImportError(f"unknown import file format {fmt!r} (csv or parquet)")
        if compression not in ("none", "gzip"):
            raise BulkImportError(f"unknown compression {compression!r} (none or gzip)")
        if fmt == "parquet" and compression != "none":
            raise BulkImportError("Parquet parts are compressed inside the file: no gzip")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        if any(self.directory.iterdir()):
            raise BulkImportError(f"{self.directory}: import directory is not empty")
        self.fmt: FileFormat = fmt
        self.compression: Compression = compression
        self.part_rows = part_rows
        self._started = time.perf_counter()
        self.threads = threads or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(max_workers=self.threads)
        self._pending: list[Future[int]] = []
        self._buffers: dict[str, list[pa.Table]] = {}
        self._buffered: dict[str, int] = {}
        self._files: dict[str, list[Path]] = {}
        self._counts: dict[str, int] = {}
        self._bytes = 0
        self._closed: ImportFiles | None = None

    def __enter__(self) -> ImportWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self._pool.shutdown(wait=True, cancel_futures=True)

    # -- input ----------------------------------------------------------------
    def nodes(self, label: str, table: pa.Table) -> None:
        """Add ``table``'s rows as ``label`` nodes (columns: :data:`NODE_COLUMNS` [label])."""
        if label not in NODE_COLUMNS:
            raise BulkImportError(f"unknown node label {label!r}")
        self._add(label, _conform(table, NODE_COLUMNS[label], f"{label} nodes"))

    def relationships(self, rel_type: str, table: pa.Table) -> None:
        """Add ``table``'s rows as ``rel_type`` relationships (``src``, ``dst``, properties)."""
        if rel_type not in RELATIONSHIP_COLUMNS:
            raise BulkImportError(f"unknown relationship type {rel_type!r}")
        schema = RELATIONSHIP_COLUMNS[rel_type][2]
        self._add(rel_type, _conform(table, schema, f"{rel_type} relationships"))

    def _add(self, name: str, table: pa.Table) -> None:
        if self._closed is not None:
            raise BulkImportError("import writer is closed")
        if table.num_rows == 0:
            return
        self._buffers.setdefault(name, []).append(table)
        self._buffered[name] = self._buffered.get(name, 0) + table.num_rows
        self._counts[name] = self._counts.get(name, 0) + table.num_rows
        if self._buffered[name] >= self.part_rows:
            self._flush(name)

    # -- output ---------------------------------------------------------------
    def _header_fields(self, name: str) -> list[str]:
        return node_header(name) if name in NODE_COLUMNS else relationship_header(name)

    def _flush(self, name: str) -> None:
        parts = self._buffers.pop(name, [])
        self._buffered[name] = 0
        if not parts:
            return
        table = pa.concat_tables(parts)
        files = self._files.setdefault(name, [])
        if self.fmt == "csv" and not files:
            header = self.directory / f"{name}.header.csv"
            header.write_text(",".join(self._header_fields(name)) + "\n", encoding="utf-8")
            files.append(header)
        n = sum(1 for p in files if ".part-" in p.name)
        suffix = {"csv": ".csv", "parquet": ".parquet"}[self.fmt]
        if self.compression == "gzip":
            suffix += ".gz"
        path = self.directory / f"{name}.part-{n:05d}{suffix}"
        files.append(path)
        # Bound the memory held by queued parts: wait for the oldest beyond 2 per thread.
        while len(self._pending) >= 2 * self.threads:
            self._bytes += self._pending.pop(0).result()
        self._pending.append(self._pool.submit(self._write_part, path, table, name))

    def _write_part(self, path: Path, table: pa.Table, name: str) -> int:
        if self.fmt == "parquet":
            # The importer takes the header from the column names.
            renamed = table.rename_columns(self._header_fields(name))
            pq.write_table(renamed, path, compression="snappy")
        elif self.compression == "gzip":
            # zlib level 1 on the whole part (it releases the GIL); arrow's gzip stream
            # writes at its default level and was 10x slower than writing the CSV.
            buf = pa.BufferOutputStream()
            pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
            z = zlib.compressobj(1, zlib.DEFLATED, 31)  # wbits 31: the gzip format
            with open(path, "wb") as f:
                f.write(z.compress(buf.getvalue()))
                f.write(z.flush())
        else:
            pacsv.write_csv(table, str(path), pacsv.WriteOptions(include_header=False))
        return path.stat().st_size

    def close(self) -> ImportFiles:
        """Write what is buffered, wait for every part, return the files."""
        if self._closed is not None:
            return self._closed
        try:
            for name in list(self._buffers):
                self._flush(name)
            for fut in self._pending:
                self._bytes += fut.result()
        except OSError as exc:
            raise BulkImportError(f"{self.directory}: cannot write ({first_line(exc)})") from None
        finally:
            self._pending = []
            self._pool.shutdown(wait=True)
        self._bytes += sum(
            p.stat().st_size for fs in self._files.values() for p in fs if ".header." in p.name
        )
        order = [*NODE_COLUMNS, *RELATIONSHIP_COLUMNS]
        self._closed = ImportFiles(
            directory=self.directory,
            format=self.fmt,
            nodes={k: self._files[k] for k in order if k in NODE_COLUMNS and k in self._files},
            relationships={
                k: self._files[k] for k in order if k in RELATIONSHIP_COLUMNS and k in self._files
            },
            counts={k: self._counts.get(k, 0) for k in order},
            bytes=self._bytes,
            seconds=time.perf_counter() - self._started,
        )
        return self._closed


def checkpoint_tables(
    batch: Sequence[EncodedCheckpoint], known_runs: set[str] | None = None
) -> dict[str, pa.Table]:
    """Tables of the graph model for whole encoded checkpoints, one per label and type.

    The same nodes, relationships and properties as the online path writes
    (``neo4j/create_checkpoint`` and ``neo4j/create_graph``): neuron uids
    ``base + offset``; null where the online path leaves a property unset (a
    neuron without bias, a tap of 0, a checkpoint without accuracy).
    Checkpoints are written ``complete = true``: an import is all or
    nothing. Runs in ``known_runs`` get no node (it is updated with the new
    ones), so a stream of batches writes each Run once.
    """
    known = known_runs if known_runs is not None else set()
    ckpts = [{**e.checkpoint, "complete": True} for e in batch]
    layers = [layer for e in batch for layer in e.layers]
    new_runs = sorted({str(c["run"]) for c in ckpts} - known)
    known.update(new_runs)

    def edges(e: EncodedCheckpoint) -> pa.Table:
        return pa.table(
            {
                "src": pa.array(e.base + e.src),
                "dst": pa.array(e.base + e.dst),
                "weight": pa.array(e.weight.astype(np.float64)),
                "tap": pa.array(e.tap, pa.int32(), mask=e.tap == 0),
            },
            schema=RELATIONSHIP_COLUMNS["CONNECTS"][2],
        )

    return {
        "Run": pa.table({"name": pa.array(new_runs, pa.string())}),
        "Checkpoint": pa.Table.from_pylist(ckpts, schema=NODE_COLUMNS["Checkpoint"]),
        "Layer": pa.Table.from_pylist(layers, schema=NODE_COLUMNS["Layer"]),
        "Neuron": pa.concat_tables([neuron_table(e) for e in batch]),
        "HAS_CHECKPOINT": pa.table(
            {"src": [str(c["run"]) for c in ckpts], "dst": [str(c["id"]) for c in ckpts]}
        ),
        "HAS_LAYER": pa.table(
            {"src": [str(x["ckpt"]) for x in layers], "dst": [str(x["id"]) for x in layers]}
        ),
        "CONNECTS": pa.concat_tables([edges(e) for e in batch]),
    }


def write_checkpoints(
    writer: ImportWriter, encoded: Iterable[EncodedCheckpoint], batch_edges: int = 2_000_000
) -> int:
    """Write every checkpoint of ``encoded`` (a stream) through ``writer``; returns their count.

    Checkpoints are grouped into batches of about ``batch_edges`` edges so
    that small checkpoints do not make small parts; only one batch is held
    in memory at a time.
    """
    known: set[str] = set()
    batch: list[EncodedCheckpoint] = []
    edges = count = 0

    def flush() -> None:
        for name, table in checkpoint_tables(batch, known).items():
            if name in NODE_COLUMNS:
                writer.nodes(name, table)
            else:
                writer.relationships(name, table)
        batch.clear()

    for e in encoded:
        batch.append(e)
        count += 1
        edges += int(e.src.size)
        if edges >= batch_edges:
            flush()
            edges = 0
    if batch:
        flush()
    return count


# -- servers --------------------------------------------------------------------


class Neo4jServer(Protocol):
    """A Neo4j server that can be stopped, imported into offline, and started."""

    @property
    def uri(self) -> str: ...

    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def check_target(self, database: str, overwrite: bool) -> None:
        """Refuse early (before files are written, before a stop) what the importer would."""

    def run_importer(
        self, files: ImportFiles, database: str, overwrite: bool, options: Sequence[str]
    ) -> str: ...


def _run(cmd: Sequence[str], env: Mapping[str, str] | None, what: str) -> str:
    """Run ``cmd``; its output (stdout and stderr) on success, a one-line error otherwise."""
    try:
        proc = subprocess.run(
            list(cmd),
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise BulkImportError(f"{what}: cannot run {cmd[0]} ({first_line(exc)})") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
        # The importer's own cause (with --verbose), else the last line naming an error.
        why = next((ln for ln in lines if ln.startswith("original error:")), None) or next(
            (ln for ln in reversed(lines) if "error" in ln.lower() or "exception" in ln.lower()),
            lines[-1] if lines else f"exit code {proc.returncode}",
        )
        raise BulkImportError(f"{what} failed: {why.removeprefix('neo4j-local: error: ')}")
    return proc.stdout


def default_script() -> Path:
    """``neo4j-local.sh``: ``$TOPOGRAPH_NEO4J_LOCAL``, else the one of this checkout."""
    env = os.environ.get("TOPOGRAPH_NEO4J_LOCAL")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "scripts" / "neo4j-local" / "neo4j-local.sh"


@dataclass(frozen=True)
class LocalNeo4j:
    """The server ``scripts/neo4j-local/neo4j-local.sh`` runs for ``data_dir``.

    ``data_dir``: None is the script's own choice (``$NEO4J_DATA_DIR``, else
    its cache). ``http_port``: the HTTP port (Neo4j Browser) it is started
    with; ``"off"`` none; None the script's default (``$NEO4J_HTTP_PORT``,
    else 7474). ``env``: more variables for the script (``NEO4J_HEAP``,
    ``NEO4J_PAGECACHE``, ``NEO4J_ADMIN_HEAP``...). :meth:`attach` makes one
    for the server a Bolt URI names.
    """

    data_dir: Path | None = None
    bolt_port: int = 7687
    http_port: int | Literal["off"] | None = "off"
    script: Path = field(default_factory=default_script)
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def attach(
        cls, uri: str, data_dir: Path | None = None, script: Path | None = None
    ) -> LocalNeo4j:
        """The script's server for ``data_dir`` that ``uri`` (``bolt://127.0.0.1:PORT``) names.

        When it runs, it must listen on the URI's port; it is started again on
        its HTTP port (or without HTTP, as it ran). When it does not run, it is
        started on the URI's port with the script's default HTTP port.
        """
        from topograph.stores.uri import parse_server_uri

        parsed = parse_server_uri(uri)
        parts = urlsplit(parsed.clean)
        if parts.scheme != "bolt" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise BulkImportError(
                f"{parsed.clean}: a bulk import drives the local server of "
                "scripts/neo4j-local (bolt://127.0.0.1:PORT); for Docker give the compose file"
            )
        bolt = parts.port or 7687
        base = cls(data_dir, bolt, script=script or default_script())
        data_dir = base.resolved_data_dir()
        ports = base.running_ports()
        if ports is None:
            return cls(data_dir, bolt, None, base.script)
        if ports[0] != bolt:
            raise BulkImportError(
                f"the local Neo4j server of {base.where} listens on Bolt port {ports[0]}, "
                f"not {bolt} ({parsed.clean}): give --db bolt://127.0.0.1:{ports[0]}, or the "
                "data dir of the server on that port"
            )
        return cls(data_dir, bolt, "off" if ports[1] is None else ports[1], base.script)

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def where(self) -> str:
        return str(self.data_dir) if self.data_dir is not None else "neo4j-local.sh's data dir"

    def _cmd(self, *args: str) -> list[str]:
        if not self.script.is_file():
            raise BulkImportError(
                f"{self.script}: neo4j-local.sh not found (set TOPOGRAPH_NEO4J_LOCAL)"
            )
        return ["bash", str(self.script), *args]

    def _env(self) -> dict[str, str]:
        if self.data_dir is None:
            return dict(self.env)
        return {**self.env, "NEO4J_DATA_DIR": str(self.data_dir)}

    def _status(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._cmd("status"),
            env={**os.environ, **self._env()},
            capture_output=True,
            text=True,
            check=False,
        )

    def resolved_data_dir(self) -> Path | None:
        """``data_dir``, else the one the script chooses (it names it in its status line)."""
        if self.data_dir is not None:
            return self.data_dir
        found = re.search(r"data (\S+?)\)?$", self._status().stdout.strip())
        return Path(found.group(1).rstrip(",)")) if found else None

    def running_ports(self) -> tuple[int, int | None] | None:
        """(Bolt port, HTTP port or None) of the running server, None when it does not run."""
        proc = self._status()
        if proc.returncode != 0:
            return None
        bolt = re.search(r"bolt://[^:\s]+:(\d+)", proc.stdout)
        http = re.search(r"http://[^:\s]+:(\d+)", proc.stdout)
        return (
            int(bolt.group(1)) if bolt else self.bolt_port,
            int(http.group(1)) if http else None,
        )

    def running(self) -> bool:
        return self.running_ports() is not None

    def start(self) -> None:
        args = ["start", "--port", str(self.bolt_port)]
        if self.http_port is not None:
            args += ["--http-port", str(self.http_port)]
        _run(self._cmd(*args), self._env(), f"starting Neo4j in {self.where}")

    def stop(self) -> None:
        _run(self._cmd("stop"), self._env(), f"stopping Neo4j in {self.where}")

    def check_target(self, database: str, overwrite: bool) -> None:
        """The script's own refusal of an existing database without ``overwrite``, up front."""
        store = self.data_dir / "data" / "databases" / database if self.data_dir else None
        if not overwrite and store is not None and store.is_dir() and any(store.iterdir()):
            raise BulkImportError(
                f"database '{database}' already exists in {self.data_dir}: --overwrite "
                "replaces it (its graph is lost), or import into a new data dir"
            )

    def run_importer(
        self, files: ImportFiles, database: str, overwrite: bool, options: Sequence[str]
    ) -> str:
        args = ["import", "--database", database]
        if overwrite:
            args.append("--overwrite")
        args += [*files.importer_args(), *options]
        return _run(self._cmd(*args), self._env(), f"import into {self.where}")


@dataclass(frozen=True)
class ComposeNeo4j:
    """The ``neo4j`` service of ``docker/compose.yml``, imported into with the image's neo4j-admin.

    The importer runs in a one-off container of the same service (same image,
    same data volume) with the import directory mounted read-only at
    ``mount``. Written for Docker hosts; not exercised by the test suite.
    """

    compose_file: Path
    service: str = "neo4j"
    uri: str = "bolt://127.0.0.1:7687"
    mount: str = "/import"
    start_timeout: float = 120.0

    def _compose(self, *args: str) -> list[str]:
        return ["docker", "compose", "-f", str(self.compose_file), *args]

    def running(self) -> bool:
        proc = subprocess.run(
            self._compose("ps", "--status", "running", "-q", self.service),
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.returncode == 0 and bool(proc.stdout.strip())

    def start(self) -> None:
        _run(self._compose("up", "-d", "--wait", self.service), None, "docker compose up")

    def stop(self) -> None:
        _run(self._compose("stop", self.service), None, "docker compose stop")

    def check_target(self, database: str, overwrite: bool) -> None:
        """Nothing to look at from here: the data volume is Docker's (the importer refuses)."""

    def run_importer(
        self, files: ImportFiles, database: str, overwrite: bool, options: Sequence[str]
    ) -> str:
        cmd = self._compose(
            "run", "--rm", "--no-deps", "-v", f"{files.directory.resolve()}:{self.mount}:ro",
            self.service, "neo4j-admin", "database", "import", "full", database,
        )  # fmt: skip
        if overwrite:
            cmd.append("--overwrite-destination=true")
        cmd += [*files.importer_args(root=self.mount), *options]
        return _run(cmd, None, "neo4j-admin database import full (docker compose)")


# -- the whole path -------------------------------------------------------------


@dataclass
class BulkReport:
    """Seconds per step, the counts read back, and the rate over the whole path."""

    files: ImportFiles
    counts: dict[str, int] = field(default_factory=dict)
    stop_seconds: float = 0.0
    import_seconds: float = 0.0
    start_seconds: float = 0.0
    schema_seconds: float = 0.0
    verify_seconds: float = 0.0
    importer_output: str = ""

    @property
    def seconds(self) -> float:
        """Files written, server stopped, import, server started, schema, counts."""
        return (
            self.files.seconds
            + self.stop_seconds
            + self.import_seconds
            + self.start_seconds
            + self.schema_seconds
            + self.verify_seconds
        )

    @property
    def edges(self) -> int:
        return self.files.counts.get("CONNECTS", 0)

    @property
    def edges_per_second(self) -> float:
        return self.edges / self.seconds if self.seconds > 0 else 0.0


def finish(
    uri: str,
    expected: Mapping[str, int],
    database: str | None = None,
    empty_strings: bool = False,
) -> tuple[dict[str, int], float, float]:
    """Create the schema, then check counts through Bolt; (counts, schema s, verify s).

    Also sets the checkpoint-number counter above the imported numbers (what
    the online path leaves after writing the same checkpoints), and with
    ``empty_strings`` (after Parquet files) puts back the empty strings the
    importer dropped. Raises :class:`BulkImportError` when a label's or
    type's count differs from ``expected``.
    """
    import topograph.cypher as cypher
    from topograph.stores.neo4j import Neo4jStore

    t0 = time.perf_counter()
    with Neo4jStore(uri, database=database) as store:
        store.ensure_schema()  # constraints and indexes, then awaits them online
        # Allocating none creates the counter at the largest stored cid + 1.
        store._allocate_cids(0)
        if empty_strings:
            store._run(cypher.load("neo4j/bulk_empty_strings"), {}, write=True)
        t1 = time.perf_counter()
        counts = {k: v for k, v in store.status().counts.items() if k in COUNTED}
    t2 = time.perf_counter()
    wrong = [f"{k}: {counts.get(k, 0)} != {n}" for k, n in expected.items() if counts.get(k) != n]
    if wrong:
        raise BulkImportError(f"{uri}: counts after import differ ({'; '.join(wrong)})")
    return counts, t1 - t0, t2 - t1


def bulk_import(
    files: ImportFiles,
    server: Neo4jServer,
    database: str = "neo4j",
    overwrite: bool = False,
    max_off_heap: str | None = None,
    threads: int | None = None,
    options: Sequence[str] = (),
    verbose: bool = True,
) -> BulkReport:
    """Import ``files`` into ``server``'s ``database``, then schema and counts.

    The server is stopped first when it runs and started again afterwards
    (also when the importer fails, then serving what it served before).
    ``overwrite`` replaces an existing database (the only way to bulk load
    a data dir that was started before, on Community); without it the
    importer refuses. ``max_off_heap`` (e.g. ``"2G"``) bounds the importer's
    off-heap memory (its default: 90% of free memory); ``threads`` its
    workers (default: one per core). ``--bad-tolerance=0`` makes any bad
    row (duplicate key, relationship to a missing node) fail the import;
    ``verbose`` (the importer's --verbose) lets the error name that row, but
    replaces the importer's per-stage timing lines with progress bars.
    """
    report = BulkReport(files=files)
    # --verbose: on failure the importer names the bad row ("original error: ...").
    opts = ["--bad-tolerance=0", *(["--verbose"] if verbose else []), *options]
    if max_off_heap:
        opts.append(f"--max-off-heap-memory={max_off_heap}")
    if threads:
        opts.append(f"--threads={threads}")
    server.check_target(database, overwrite)
    t = time.perf_counter()
    was_running = server.running()
    if was_running:
        server.stop()
    report.stop_seconds = time.perf_counter() - t
    t = time.perf_counter()
    try:
        report.importer_output = server.run_importer(files, database, overwrite, opts)
    except BulkImportError:
        if was_running:
            # Refused before it wrote anything (an existing database without overwrite,
            # bad files): the old graph is intact, serve it again. After a failure with
            # overwrite the database is gone and the server starts an empty one.
            server.start()
        raise
    report.import_seconds = time.perf_counter() - t
    t = time.perf_counter()
    server.start()
    report.start_seconds = time.perf_counter() - t
    expected = {k: files.counts.get(k, 0) for k in COUNTED}
    db = None if database == "neo4j" else database
    report.counts, report.schema_seconds, report.verify_seconds = finish(
        server.uri, expected, db, empty_strings=files.format == "parquet"
    )
    return report
