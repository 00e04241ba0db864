"""The one store interface; the rest of topograph never knows which store it talks to.

Two adapters implement it: :class:`~topograph.stores.neo4j.Neo4jStore` (a
real Neo4j server over Bolt) and :class:`~topograph.stores.embedded.EmbeddedStore`
(LadybugDB, on disk, no server). Both hold the same graph model (see
``cypher/schema``) and run the shared queries under ``cypher/`` unchanged.

The interface takes and returns domain objects: :class:`~topograph.Checkpoint`,
:class:`~topograph.results.PairDistance`,
:class:`~topograph.results.CheckpointProperties`. Ids, neuron numbering
(:mod:`topograph.stores.codec`), batching, transactions and dialect stay
behind it.

The write contract:

* :meth:`GraphStore.write_checkpoints` stores whole checkpoints; a checkpoint
  is visible as ``complete = true`` only once every neuron and edge of it is
  stored (a crash leaves at most ``complete = false`` debris, which
  :meth:`GraphStore.delete_checkpoint` removes).
* Checkpoint numbers (``cid``) are assigned by the store and never reused
  while the checkpoint exists.
* Results are keyed by pair (or checkpoint) and method: writing again
  replaces, never duplicates.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any

import pyarrow as pa

import topograph.cypher as cypher
from topograph.errors import InputError
from topograph.model import Checkpoint, CheckpointKey
from topograph.results import CheckpointProperties, PairDistance, record, result_fields, stored
from topograph.stores.codec import (
    EncodedCheckpoint,
    checkpoint_id,
    decode_checkpoint,
    encode_checkpoint,
    encode_distance,
    encode_evolves,
    encode_matches,
    key_of,
    layer_id,
    neuron_uid_base,
)

__all__ = [
    "GRAPH_KINDS",
    "GraphStore",
    "QueryResult",
    "StoreStatus",
    "StoredCheckpoint",
]

#: Node labels and relationship types of the graph model that ``status`` counts.
GRAPH_KINDS = (
    "Run",
    "Checkpoint",
    "Layer",
    "Neuron",
    "HAS_CHECKPOINT",
    "HAS_LAYER",
    "CONNECTS",
    "NNSTD",
    "MASK_DISTANCE",
    "NEXT",
    "EVOLVES",
    "MATCHES",
)

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
    """What the store knows of one checkpoint without reading its graph.

    The fields declared with :func:`~topograph.results.stored` are the
    ``checkpoints`` table's columns, in order.
    """

    run: str = stored("string", "training run")
    epoch: int = stored("int64", "epoch")
    hash: str = stored("string", "SHA-256 of the canonical layers and biases")
    accuracy: float | None = stored(
        "float64", "test accuracy when the run records it", nullable=True
    )
    source: str = stored("string", "where the checkpoint was read from")
    n_layers: int = stored("int32", "number of layers")
    neurons: int = stored("int64", "neurons over all positions")
    edges: int = stored("int64", "non-zero weights over all layers")
    complete: bool = True
    cid: int = 0

    @property
    def key(self) -> CheckpointKey:
        return CheckpointKey(self.run, self.epoch)

    @property
    def id(self) -> str:
        return checkpoint_id(self.key)


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query: column names and one tuple per row (plain Python values).

    Converts to the table libraries a notebook uses: :meth:`to_arrow`,
    :meth:`to_pandas`, :meth:`to_polars`. ``notes``: what the caller should
    know about an empty or surprising result (e.g. a run that is not stored).
    """

    columns: list[str]
    rows: list[tuple[Any, ...]]
    notes: tuple[str, ...] = ()

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]

    def to_arrow(self) -> pa.Table:
        """The rows as a ``pyarrow.Table`` (column types inferred from the values)."""
        if not self.rows:
            return pa.table({c: pa.array([], pa.null()) for c in self.columns})
        return pa.table(
            {c: pa.array([r[i] for r in self.rows]) for i, c in enumerate(self.columns)}
        )

    def to_pandas(self) -> Any:
        """The rows as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise InputError("to_pandas() needs pandas: pip install pandas") from None
        return pd.DataFrame.from_records(self.rows, columns=self.columns)

    def to_polars(self) -> Any:
        """The rows as a ``polars.DataFrame`` (needs polars)."""
        try:
            import polars as pl
        except ImportError:
            raise InputError("to_polars() needs polars: pip install polars") from None
        return pl.from_arrow(self.to_arrow())

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.dicts())

    def __repr__(self) -> str:
        shown = 10
        lines = [f"QueryResult({len(self.rows)} rows x {len(self.columns)} columns)"]
        if self.columns:
            lines.append("  " + " | ".join(self.columns))
            lines += ["  " + " | ".join(map(_cell, r)) for r in self.rows[:shown]]
            if len(self.rows) > shown:
                lines.append(f"  ... {len(self.rows) - shown} more")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """A table in Jupyter (first 50 rows)."""
        from html import escape

        head = "".join(f"<th>{escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in r) + "</tr>"
            for r in self.rows[:50]
        )
        more = f"<p>{len(self.rows) - 50} more rows</p>" if len(self.rows) > 50 else ""
        more += "".join(f"<p>note: {escape(n)}</p>" for n in self.notes)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return "null" if value is None else str(value)


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

    # -- each store implements --------------------------------------------
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
    def _write_encoded(self, batch: Sequence[EncodedCheckpoint]) -> None:
        """Store whole encoded checkpoints (none of them exists yet); see the module contract."""

    @abstractmethod
    def _delete_checkpoint(self, ckpt_id: str) -> None:
        """Remove a checkpoint node and everything of it."""

    @abstractmethod
    def _create_matches(self, matches: dict[str, Any]) -> None:
        """Bulk-create MATCHES from columns (see :func:`~topograph.stores.codec.encode_matches`)."""

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
                "INSTALL, LOAD); add --write (write=True) if that is intended"
            )

    @staticmethod
    def write_refused(message: str) -> str:
        """The store's refusal of a write in a read-only query, with how to allow it."""
        return f"{message} (this query writes: add --write, or write=True, to allow it)"

    def _named(
        self, name: str, params: dict[str, Any] | None = None, write: bool = False
    ) -> QueryResult:
        """Run the statement stored as ``cypher/<name>.cypher``."""
        return self.query(cypher.load(name), params or {}, write=write)

    # checkpoints
    def catalog(self) -> dict[CheckpointKey, StoredCheckpoint]:
        """Every checkpoint node by key, complete or not, sorted by run and epoch."""
        names = {f.name for f in _stored_checkpoint_fields()} | {"complete", "cid"}
        out = {}
        for r in self._named("checkpoints").dicts():
            ck = StoredCheckpoint(**{k: plain(v) for k, v in r.items() if k in names})
            out[ck.key] = ck
        return out

    def write_checkpoints(self, checkpoints: Sequence[Checkpoint]) -> None:
        """Store whole checkpoints that are not stored yet, numbering them after the last."""
        if not checkpoints:
            return
        next_cid = max((c.cid for c in self.catalog().values()), default=-1) + 1
        self._write_encoded(
            [encode_checkpoint(ck, next_cid + i) for i, ck in enumerate(checkpoints)]
        )

    def delete_checkpoint(self, key: CheckpointKey) -> None:
        """Remove a checkpoint and everything of it (debris of a crashed ingest)."""
        self._delete_checkpoint(checkpoint_id(key))

    def load_checkpoint(self, run: str, epoch: int) -> Checkpoint:
        """Read one complete checkpoint back as the in-memory model.

        Returns exactly the stored pattern, float32 weights and biases.
        """
        ckpt = checkpoint_id((run, epoch))
        meta = self._named("checkpoint", {"ckpt": ckpt}).dicts()
        if not meta:
            raise InputError(f"{self.describe()}: no checkpoint {ckpt}")
        if not meta[0]["complete"]:
            raise InputError(f"{self.describe()}: checkpoint {ckpt} is incomplete (re-run ingest)")
        lo = neuron_uid_base(int(meta[0]["cid"]))
        span = {"lo": lo, "hi": lo + int(meta[0]["neurons"])}
        edges = self._named("checkpoint_edges", span).dicts()
        cols = edges[0] if edges else {"src": [], "dst": [], "tap": [], "weight": []}
        biases = self._named("checkpoint_biases", span).dicts()
        bias = biases[0] if biases and biases[0]["uid"] else {"uid": [], "bias": []}
        return decode_checkpoint(
            meta, cols["src"], cols["dst"], cols["tap"], cols["weight"], bias["uid"], bias["bias"]
        )

    def status(self) -> StoreStatus:
        """Counts of every node label and relationship type; runs and their epochs."""
        counts = dict.fromkeys(GRAPH_KINDS, 0)
        counts.update({r["kind"]: int(plain(r["n"])) for r in self._named("status").dicts()})
        runs: dict[str, list[int]] = {}
        incomplete = []
        for key, ck in self.catalog().items():
            if ck.complete:
                runs.setdefault(key.run, []).append(key.epoch)
            else:
                incomplete.append(ck.id)
        return StoreStatus(
            counts=counts,
            runs={r: sorted(e) for r, e in sorted(runs.items())},
            incomplete=sorted(incomplete),
        )

    # results
    def write_distances(
        self, pairs: Sequence[PairDistance], lineage: bool = False, matches: bool = False
    ) -> None:
        """Write pair results as relationships between their checkpoints.

        Each result goes to its measure's relationship (``cypher/write/<measure>``).
        ``matches``: also the neuron matching as MATCHES (replacing those of
        the same pair and method); ``lineage``: also NEXT (the step's
        distance) and EVOLVES (each layer's). The measure's own relationship
        goes last: it marks the pair done, so a failure before it leaves the
        pair to be computed again.
        """
        if not pairs:
            return
        if matches:
            catalog = self.catalog()
            for p in pairs:
                self._named(
                    "delete_matches",
                    {"a": checkpoint_id(p.a), "b": checkpoint_id(p.b), "method": p.result.method},
                    write=True,
                )
            columns = encode_matches(
                pairs,
                cids={k: c.cid for k, c in catalog.items()},
                neurons={k: c.neurons for k, c in catalog.items()},
            )
            if columns["src"].size:
                self._create_matches(columns)
        rows = [encode_distance(p) for p in pairs]
        if lineage:
            evolves = [row for p in pairs for row in encode_evolves(p)]
            self._named("write/evolves", {"rows": evolves}, write=True)
        for measure in sorted({p.measure for p in pairs}):
            mine = [r for r, p in zip(rows, pairs, strict=True) if p.measure == measure]
            self._named(f"write/{measure}", {"rows": mine}, write=True)
        if lineage:
            self._named("write/next", {"rows": rows}, write=True)

    def write_properties(self, results: Sequence[CheckpointProperties]) -> None:
        """Checkpoint measures' records onto Layer nodes, then onto Checkpoint nodes.

        The Checkpoint's record goes last: it marks the checkpoint done.
        """
        for measure in sorted({r.measure for r in results}):
            mine = [r for r in results if r.measure == measure]
            layers = [
                {"id": layer_id(r.key, k), **record(p)}
                for r in mine
                for k, p in enumerate(r.layers)
            ]
            networks = [{"id": checkpoint_id(r.key), **record(r.network)} for r in mine]
            self._named(f"write/{measure}_layers", {"rows": layers}, write=True)
            self._named(f"write/{measure}_network", {"rows": networks}, write=True)

    def stored_pairs(
        self, relationship: str, version: str
    ) -> set[tuple[CheckpointKey, CheckpointKey, str]]:
        """``(a, b, method)`` of every stored result of a kind computed by ``version``.

        ``relationship``: a pair measure's relationship type, ``NEXT``, or
        ``MATCHES`` (pairs whose neuron matching is stored). Results of other
        versions are left out, so they are computed again (and replaced).
        """
        rows = self._named("stored_pairs").rows
        return {
            (key_of(a), key_of(b), m)
            for kind, a, b, m, v in rows
            if kind == relationship and v == version
        }

    def stored_properties(self, measure: str) -> set[CheckpointKey]:
        """Checkpoints whose properties of ``measure`` are stored."""
        return {key_of(r[0]) for r in self._named(f"read/{measure}_done").rows}

    def read_distances(self, measure: str) -> list[dict[str, Any]]:
        """Every stored result of a pair measure: run_a, epoch_a, run_b, epoch_b and its fields."""
        return [{k: plain(v) for k, v in r.items()} for r in self._named(f"read/{measure}").dicts()]

    def read_properties(self, measure: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Stored records of a checkpoint measure: (per layer, per network) rows.

        Layer rows hold run, epoch, layer, n_in, n_out, nnz and the measure's
        fields; network rows run, epoch, nodes, edges and its fields.
        """
        layers = self._named(f"read/{measure}_layers").dicts()
        networks = self._named(f"read/{measure}_network").dicts()
        return layers, networks


def _stored_checkpoint_fields() -> tuple[Any, ...]:
    return result_fields(StoredCheckpoint)
