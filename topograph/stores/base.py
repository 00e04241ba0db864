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

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any

import pyarrow as pa

import topograph.cypher as cypher
from topograph.errors import InputError, TopographError, first_line
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
from topograph.stores.guard import Dialect, check_statement

__all__ = [
    "GRAPH_KINDS",
    "CheckReport",
    "GraphStore",
    "IntegrityError",
    "QueryResult",
    "StoreError",
    "StoreMemoryFull",
    "StoreStatus",
    "StoreUnavailable",
    "StoredCheckpoint",
    "WriterActive",
    "check_params",
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

#: Integers both stores hold (int64); a larger parameter is refused before a driver sees it.
_INT64 = (-(2**63), 2**63 - 1)


class StoreError(TopographError):
    """The database could not be reached, or refused an operation."""


class StoreUnavailable(StoreError):
    """The database went away (or never answered): nothing is wrong with the data."""


class WriterActive(StoreError):
    """Another process holds the store's writer lock."""


class StoreMemoryFull(StoreError):
    """The database's memory budget is too small for an operation; the data is fine."""


class IntegrityError(StoreError):
    """Stored data does not match its own content hash, or cannot be read back at all."""


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` if every value is one both stores take; else a one-line InputError.

    Integers beyond int64 (``-p epoch=99999999999999999999``) make the
    drivers raise deep inside their packers; refuse them here, naming the
    parameter.
    """

    def check(name: str, value: Any) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int):
            if not _INT64[0] <= value <= _INT64[1]:
                raise InputError(f"parameter {name}: {value} is out of the 64-bit integer range")
        elif isinstance(value, list | tuple):
            for v in value:
                check(name, v)
        elif isinstance(value, dict):
            for k, v in value.items():
                check(f"{name}.{k}", v)

    for name, value in params.items():
        check(name, value)
    return params


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


@dataclass
class CheckReport:
    """What :meth:`GraphStore.check` found: ``damaged`` as (what, why) pairs."""

    where: str
    checked: int = 0
    damaged: list[tuple[str, str]] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.damaged


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
    def _run(self, text: str, params: dict[str, Any], write: bool) -> QueryResult:
        """Run topograph's own Cypher (trusted text from ``cypher/``); writes only if ``write``."""

    @abstractmethod
    def _check_plan(self, text: str, params: dict[str, Any]) -> None:
        """Refuse a read-only query whose plan does more than read the graph (see ``guard``)."""

    def take_writer_lock(self) -> None:  # noqa: B027 - only Neo4j needs to do something
        """Become the database's one writer (Neo4j: its lease; the embedded file locks at open)."""

    #: Procedures (Neo4j) or table functions (LadybugDB) a read-only query may CALL.
    read_procedures: frozenset[str] = frozenset()

    def _unsafe_functions(self) -> frozenset[str]:
        """Functions a read-only query may not call (state-changing, or not the database's own)."""
        return frozenset()

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
    def query(
        self, text: str, params: dict[str, Any] | None = None, write: bool = False
    ) -> QueryResult:
        """Run a user's Cypher with parameters: read-only, enforced, unless ``write``.

        Without ``write`` the query may only read the graph (no data change,
        no file, no code, no setting, no other session): the lexical filter,
        the store's plan check and the database's read mode each refuse the
        rest (:mod:`topograph.stores.guard`). One statement per query either
        way; parameters are checked first (:func:`check_params`).
        """
        params = check_params(dict(params or {}))
        if write:
            check_statement(text, self.dialect, write=True)
            return self._run(text, params, write=True)
        check_statement(
            text,
            self.dialect,
            write=False,
            procedures=self.read_procedures,
            unsafe_functions=self._unsafe_functions(),
        )
        self._check_plan(text, params)
        return self._run(text, params, write=False)

    @property
    def dialect(self) -> Dialect:
        return "neo4j" if self.kind == "neo4j" else "embedded"

    @staticmethod
    def write_refused(message: str) -> str:
        """The store's refusal of a write in a read-only query, with how to allow it."""
        return f"{message} (this query writes: add --write, or write=True, to allow it)"

    def _named(
        self, name: str, params: dict[str, Any] | None = None, write: bool = False
    ) -> QueryResult:
        """Run the statement stored as ``cypher/<name>.cypher`` (trusted: no read-only filter)."""
        return self._run(cypher.load(name), params or {}, write)

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
        """Store whole checkpoints that are not stored yet, under newly allocated numbers."""
        if not checkpoints:
            return
        first = self._allocate_cids(len(checkpoints))
        self._write_encoded([encode_checkpoint(ck, first + i) for i, ck in enumerate(checkpoints)])

    def _allocate_cids(self, n: int) -> int:
        """The first of ``n`` new consecutive checkpoint numbers (after every stored one).

        Reading the largest stored number is enough where the database lets
        one writer in at a time (the embedded file lock); Neo4j allocates
        them atomically in the database.
        """
        return max((c.cid for c in self.catalog().values()), default=-1) + 1

    def delete_checkpoint(self, key: CheckpointKey) -> None:
        """Remove a checkpoint and everything of it (debris of a crashed ingest)."""
        self._delete_checkpoint(checkpoint_id(key))

    def load_checkpoint(self, run: str, epoch: int) -> Checkpoint:
        """Read one complete checkpoint back as the in-memory model, verified.

        Returns exactly the stored pattern, float32 weights and biases, after
        checking them against the checkpoint's stored content hash: damage in
        the database (a bad disk, a torn file) is an :class:`IntegrityError`
        naming the checkpoint and the store, never a wrong result, and never
        blamed on the file the checkpoint was once read from.
        """
        ckpt = checkpoint_id((run, epoch))
        meta = self._named("checkpoint", {"ckpt": ckpt}).dicts()
        if not meta:
            raise InputError(f"{self.describe()}: no checkpoint {ckpt}")
        if not meta[0]["complete"]:
            raise InputError(f"{self.describe()}: checkpoint {ckpt} is incomplete (re-run ingest)")
        damaged = f"{self.describe()}: checkpoint {ckpt} is damaged"
        advice = "topograph db check lists all damage; ingest its source again into a new store"
        try:
            lo = neuron_uid_base(int(meta[0]["cid"]))
            span = {"lo": lo, "hi": lo + int(meta[0]["neurons"])}
            edges = self._named("checkpoint_edges", span).dicts()
            cols = edges[0] if edges else {"src": [], "dst": [], "tap": [], "weight": []}
            biases = self._named("checkpoint_biases", span).dicts()
            bias = biases[0] if biases and biases[0]["uid"] else {"uid": [], "bias": []}
            ck = decode_checkpoint(
                meta,
                cols["src"], cols["dst"], cols["tap"], cols["weight"], bias["uid"], bias["bias"],
            )  # fmt: skip
        except (StoreUnavailable, WriterActive, StoreMemoryFull):
            raise
        except (TopographError, ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:
            # The model's own checks (NaN, shapes) name the source file; the
            # damage is here, in the store.
            reason = first_line(exc).removeprefix(str(meta[0].get("source") or "")).lstrip(" :")
            raise IntegrityError(f"{damaged}: cannot be read back ({reason}); {advice}") from None
        if ck.content_hash != meta[0]["hash"]:
            raise IntegrityError(
                f"{damaged}: its content differs from its stored hash "
                f"({str(meta[0]['hash'])[:12]}…, read back {ck.content_hash[:12]}…); {advice}"
            )
        return ck

    def check(self) -> CheckReport:
        """Verify the whole store: every complete checkpoint read back against its hash.

        Also reported: checkpoints left incomplete by an interrupted ingest,
        counts of neurons and edges that disagree with the checkpoints'
        records, and duplicated results (two MATCHES for one neuron, pair
        and method; two NNSTD for one pair and method).
        """
        report = CheckReport(where=self.describe())
        try:
            catalog = self.catalog()
        except (StoreUnavailable, WriterActive, StoreMemoryFull):
            raise
        except TopographError as exc:
            report.damaged.append(("catalog", first_line(exc)))
            return report
        for key, ck in catalog.items():
            if not ck.complete:
                report.incomplete.append(ck.id)
                continue
            try:
                back = self.load_checkpoint(key.run, key.epoch)
            except IntegrityError as exc:
                report.damaged.append((ck.id, str(exc).split(" is damaged: ", 1)[-1]))
                continue
            report.checked += 1
            if back.nnz != ck.edges or sum(back.widths) != ck.neurons:
                report.damaged.append(
                    (ck.id, f"{back.nnz} edges and {sum(back.widths)} neurons read back, "
                            f"{ck.edges} and {ck.neurons} recorded")
                )  # fmt: skip
        try:
            counts = self.status().counts
            for r in self._named("check/duplicates").dicts():
                if int(plain(r["n"])):
                    report.damaged.append((r["kind"], f"{int(plain(r['n']))} duplicated results"))
        except (StoreUnavailable, WriterActive, StoreMemoryFull):
            raise
        except TopographError as exc:
            report.damaged.append(("counts", first_line(exc)))
            return report
        expected = {
            "Neuron": sum(c.neurons for c in catalog.values() if c.complete),
            "CONNECTS": sum(c.edges for c in catalog.values() if c.complete),
        }
        if not report.incomplete:  # debris of an interrupted ingest adds its own
            for kind, n in expected.items():
                if counts[kind] != n:
                    report.damaged.append((kind, f"{counts[kind]} stored, {n} recorded"))
        return report

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
