"""The one store interface; the rest of topograph never knows which store it talks to.

Two adapters implement it: :class:`~topograph.stores.neo4j.Neo4jStore` (a
real Neo4j server over Bolt) and :class:`~topograph.stores.embedded.EmbeddedStore`
(LadybugDB, on disk, no server). Both hold the same graph model (see
``cypher/schema``) and run the shared queries under ``cypher/`` unchanged.

The write contract, relied on by :func:`topograph.ingest.ingest`:

* :meth:`GraphStore.write_checkpoints` stores whole checkpoints; a checkpoint
  is visible as ``complete = true`` only once every neuron and edge of it is
  stored (a crash leaves at most ``complete = false`` debris, which
  :meth:`GraphStore.delete_checkpoint` removes).
* Checkpoint numbers (``cid``) come from :meth:`GraphStore.stored` and are
  never reused while the checkpoint exists.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa

import topograph.cypher as cypher
from topograph.errors import InputError
from topograph.model import Checkpoint, CheckpointKey
from topograph.stores.rows import (
    CheckpointRows,
    checkpoint_from_edges,
    checkpoint_id,
    neuron_uid_base,
)

__all__ = ["GraphStore", "QueryResult", "StoreStatus", "StoredCheckpoint"]

_SIDE_EFFECTS = re.compile(
    r"\b(COPY\b[^;]*\bTO\b|EXPORT\s+DATABASE|IMPORT\s+DATABASE|ATTACH|DETACH\s+DATABASE"
    r"|INSTALL|LOAD\s+(EXTENSION|FROM)|LOAD\s+CSV)",
    re.IGNORECASE,
)


def _strip_strings_and_comments(text: str) -> str:
    """Cypher text with string literals and comments blanked, for keyword checks."""
    text = re.sub(r"//[^\n]*|/\*.*?\*/", " ", text, flags=re.DOTALL)
    return re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`", "''", text)


@dataclass(frozen=True)
class StoredCheckpoint:
    """What the store knows of one checkpoint before reading its graph."""

    id: str
    run: str
    epoch: int
    hash: str
    complete: bool
    cid: int
    neurons: int
    edges: int


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query: column names and one tuple per row (plain Python values)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


@dataclass(frozen=True)
class StoreStatus:
    """Counts per node label and relationship type; epochs per run (complete checkpoints)."""

    counts: dict[str, int]
    runs: dict[str, list[int]] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)


def plain(value: Any) -> Any:
    """Driver values as plain Python: Decimal sums become int (or float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class GraphStore(ABC):
    """A graph database holding topograph's graph model."""

    #: ``"neo4j"`` or ``"embedded"``.
    kind: str = ""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- to implement -----------------------------------------------------
    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def describe(self) -> str:
        """Where this store is, safe to print (never a password)."""

    @abstractmethod
    def ensure_schema(self) -> None:
        """Create constraints, indexes and tables when missing (idempotent)."""

    @abstractmethod
    def query(
        self, text: str, params: dict[str, Any] | None = None, write: bool = False
    ) -> QueryResult:
        """Run Cypher with parameters; refuses writes unless ``write``."""

    @abstractmethod
    def write_checkpoints(self, batch: Sequence[CheckpointRows]) -> None:
        """Store whole checkpoints (none of them may exist yet); see the module contract."""

    @abstractmethod
    def delete_checkpoint(self, ckpt_id: str) -> None:
        """Remove a checkpoint and everything of it (debris of a crashed ingest)."""

    @abstractmethod
    def _create_matches(self, matches: pa.Table) -> None:
        """Bulk-create MATCHES from a table (src uid, dst uid, layer, distance, method, version)."""

    # -- shared, in terms of the above --------------------------------------
    @staticmethod
    def check_query(text: str, write: bool) -> None:
        """Refuse what a read-only query must not do, before the store sees it.

        One statement per query (a second one could end the read-only
        transaction and write), and no statement that writes files or changes
        the database around the graph (COPY ... TO, EXPORT/IMPORT DATABASE,
        ATTACH, extensions) unless ``write``.
        """
        body = _strip_strings_and_comments(text)
        if ";" in body.rstrip().rstrip(";"):
            raise InputError("one Cypher statement per query (found ';' between statements)")
        if not write and _SIDE_EFFECTS.search(body):
            raise InputError(
                "this query writes outside the graph (COPY TO, EXPORT, IMPORT, ATTACH, "
                "INSTALL, LOAD); use --write if that is intended"
            )

    def named(
        self, name: str, params: dict[str, Any] | None = None, write: bool = False
    ) -> QueryResult:
        """Run the query stored as ``cypher/<name>.cypher``."""
        return self.query(cypher.load(name), params or {}, write=write)

    def stored(self) -> dict[str, StoredCheckpoint]:
        """Every checkpoint node by id, complete or not."""
        out = {}
        for r in self.named("checkpoints").dicts():
            out[r["id"]] = StoredCheckpoint(
                id=r["id"],
                run=r["run"],
                epoch=int(r["epoch"]),
                hash=r["hash"],
                complete=bool(r["complete"]),
                cid=int(r["cid"]),
                neurons=int(r["neurons"]),
                edges=int(r["edges"]),
            )
        return out

    def status(self) -> StoreStatus:
        # Every kind the query names, 0 where a store returns no row for an
        # empty relationship table.
        counts = dict.fromkeys(re.findall(r"'(\w+)' AS kind", cypher.load("status")), 0)
        counts.update({r["kind"]: int(plain(r["n"])) for r in self.named("status").dicts()})
        runs: dict[str, list[int]] = {}
        incomplete = []
        for ck in self.stored().values():
            if ck.complete:
                runs.setdefault(ck.run, []).append(ck.epoch)
            else:
                incomplete.append(ck.id)
        return StoreStatus(
            counts=counts,
            runs={r: sorted(e) for r, e in sorted(runs.items())},
            incomplete=sorted(incomplete),
        )

    # -- results written back by the workers --------------------------------
    def write_relationships(self, kind: str, rows: list[dict[str, Any]]) -> None:
        """MERGE result relationships: ``kind`` is ``nnstd``, ``next`` or ``evolves``."""
        if rows:
            self.named(f"write_{kind}", {"rows": rows}, write=True)

    def write_spectra(self, layers: list[dict[str, Any]], networks: list[dict[str, Any]]) -> None:
        """Spectral properties onto Layer nodes, then onto Checkpoint nodes (the "done" mark)."""
        if layers:
            self.named("write_layer_spectra", {"rows": layers}, write=True)
        if networks:
            self.named("write_network_spectra", {"rows": networks}, write=True)

    def write_matches(self, pairs: list[tuple[str, str, str]], matches: pa.Table) -> None:
        """Replace the MATCHES of each ``(a, b, method)`` pair with ``matches``' rows."""
        for a, b, method in pairs:
            self.named("delete_matches", {"a": a, "b": b, "method": method}, write=True)
        if matches.num_rows:
            self._create_matches(matches)

    def existing_results(self) -> set[tuple[str, str, str, str]]:
        """``(kind, a, b, method)`` of every stored NNSTD and NEXT relationship."""
        return {(r[0], r[1], r[2], r[3]) for r in self.named("existing_results").rows}

    def spectra_done(self) -> set[str]:
        """Ids of checkpoints whose spectral properties are stored."""
        return {r[0] for r in self.named("spectra_done").rows}

    def load_checkpoint(self, run: str, epoch: int) -> Checkpoint:
        """Read one complete checkpoint back as the in-memory model.

        Returns exactly the stored pattern, float32 weights and biases.
        """
        ckpt = checkpoint_id(CheckpointKey(run, epoch))
        meta = self.named("checkpoint", {"ckpt": ckpt}).dicts()
        if not meta:
            raise InputError(f"{self.describe()}: no checkpoint {ckpt}")
        if not meta[0]["complete"]:
            raise InputError(f"{self.describe()}: checkpoint {ckpt} is incomplete (re-run ingest)")
        widths = (int(meta[0]["n_in"]), *(int(m["n_out"]) for m in meta))
        offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
        lo = neuron_uid_base(int(meta[0]["cid"]))
        span = {"lo": lo, "hi": lo + int(offsets[-1])}

        def position(uids: Any) -> tuple[np.ndarray, np.ndarray]:
            """Position along the chain and index within it, from neuron uids."""
            off = np.asarray(uids, dtype=np.int64) - lo
            pos = np.searchsorted(offsets, off, side="right") - 1
            return pos, off - offsets[pos]

        edges = self.named("checkpoint_edges", span).dicts()
        cols = edges[0] if edges else {"src": [], "dst": [], "weight": []}
        layer, src = position(cols["src"])
        _, dst = position(cols["dst"])
        # Stored from float32 (Neo4j keeps it as float64): the cast is exact.
        weight = np.asarray(cols["weight"], dtype=np.float64).astype(np.float32)
        biases: list[np.ndarray | None] = [None] * (len(widths) - 1)
        rows = self.named("checkpoint_biases", span).dicts()
        if rows and rows[0]["uid"]:
            pos, idx = position(rows[0]["uid"])
            values = np.asarray(rows[0]["bias"], dtype=np.float64)
            for p in np.unique(pos):
                if p == 0:
                    continue  # inputs have no bias
                b = np.zeros(widths[p], dtype=np.float64)
                b[idx[pos == p]] = values[pos == p]
                biases[p - 1] = b
        return checkpoint_from_edges(
            run=run,
            epoch=int(epoch),
            widths=widths,
            layer=layer,
            src_idx=src,
            dst_idx=dst,
            weight=weight,
            biases=tuple(biases),
            accuracy=meta[0]["accuracy"],
            source=meta[0]["source"] or "",
        )
