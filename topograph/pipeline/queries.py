"""Named Cypher queries shipped under ``cypher/queries/``, with declared parameters.

Each file starts with ``//`` comment lines: the first is the one-line
summary; parameters are declared one per line as::

    // @param NAME TYPE [= DEFAULT]  meaning, in one line

``TYPE`` is ``int``, ``float``, ``string``, ``bool``, or ``run`` / ``epoch``
(a string / an integer that should name a stored run / epoch: a value that
names none is reported, since the query then honestly returns nothing).
``DEFAULT`` is a JSON value. Arguments are checked against the declaration
before anything reaches the database: a missing parameter without default,
an unknown one or one of the wrong type is a one-line error naming it.

Queries avoid the two dialects' differences (no list indexing, every column
aliased), so they run unchanged on Neo4j and on the embedded store.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, get_args

import topograph.cypher as cypher
from topograph.errors import InputError
from topograph.stores import GraphStore, QueryResult

__all__ = ["NamedQuery", "Param", "named_queries", "named_query", "run_named"]

ParamType = Literal["int", "float", "string", "bool", "run", "epoch"]
#: Integers the stores hold (int64): larger values are refused before they reach a driver.
_INT64 = (-(2**63), 2**63 - 1)
_PARAM = re.compile(r"^@param\s+(\w+)\s+(\w+)(?:\s*=\s*(\S+))?\s*(.*)$")


@dataclass(frozen=True)
class Param:
    """One declared parameter of a named query."""

    name: str
    type: ParamType
    doc: str
    default: Any = None
    required: bool = True

    def describe(self) -> str:
        default = "" if self.required else f" = {json.dumps(self.default)}"
        return f"{self.name} ({self.type}{default}): {self.doc}"

    def convert(self, value: Any, query: str) -> Any:
        """``value`` as this parameter's type; text (from the command line) is parsed."""
        kind = {"run": "string", "epoch": "int"}.get(self.type, self.type)
        where = f"query {query}: parameter {self.name}"
        if isinstance(value, str) and kind != "string":
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise InputError(f"{where} expects {_article(kind)}, got {value!r}") from None
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "string": isinstance(value, str),
            "bool": isinstance(value, bool),
        }[kind]
        if not ok:
            raise InputError(f"{where} expects {_article(kind)}, got {value!r}")
        if kind == "int" and not _INT64[0] <= value <= _INT64[1]:
            raise InputError(f"{where}: {value} is out of the 64-bit integer range")
        return float(value) if kind == "float" else value


def _article(kind: str) -> str:
    return {
        "int": "an integer",
        "float": "a number",
        "string": "a string",
        "bool": "true or false",
    }[kind]


@dataclass(frozen=True)
class NamedQuery:
    """A query of ``cypher/queries``: its name, summary, declared parameters and text."""

    name: str
    summary: str
    params: tuple[Param, ...]
    text: str

    def bind(self, args: dict[str, Any]) -> dict[str, Any]:
        """Check ``args`` against the declaration; defaults filled in, values converted."""
        known = {p.name: p for p in self.params}
        for name in args:
            if name not in known:
                listing = ", ".join(known) or "none"
                raise InputError(
                    f"query {self.name}: unknown parameter {name!r} (its parameters: {listing})"
                )
        out = {}
        for p in self.params:
            if p.name in args:
                out[p.name] = p.convert(args[p.name], self.name)
            elif p.required:
                raise InputError(f"query {self.name}: missing parameter {p.describe()}")
            else:
                out[p.name] = p.default
        return out

    def help(self) -> str:
        """The summary and one line per parameter, for ``topograph query NAME --help``."""
        lines = [f"{self.name}: {self.summary}"]
        if self.params:
            lines.append("parameters (-p NAME=VALUE):")
            lines += [f"  {p.describe()}" for p in self.params]
        else:
            lines.append("no parameters")
        return "\n".join(lines)


def _parse(name: str, text: str) -> NamedQuery:
    comments = [ln.strip()[2:].strip() for ln in text.splitlines() if ln.strip().startswith("//")]
    summary = comments[0] if comments else ""
    params = []
    for line in comments[1:]:
        m = _PARAM.match(line)
        if not m:
            continue
        pname, ptype, default, doc = m.groups()
        if ptype not in get_args(ParamType):
            raise ValueError(f"cypher/queries/{name}.cypher: unknown parameter type {ptype!r}")
        params.append(
            Param(
                name=pname,
                type=ptype,  # type: ignore[arg-type]
                doc=doc.strip(),
                default=json.loads(default) if default is not None else None,
                required=default is None,
            )
        )
    return NamedQuery(name=name, summary=summary, params=tuple(params), text=text)


def named_queries() -> list[NamedQuery]:
    """Every query under ``cypher/queries``, sorted by name."""
    folder = resources.files(cypher.__name__).joinpath("queries")
    entries = sorted(
        (e for e in folder.iterdir() if e.name.endswith(".cypher")), key=lambda e: e.name
    )
    return [_parse(e.name[: -len(".cypher")], e.read_text(encoding="utf-8")) for e in entries]


def named_query(name: str) -> NamedQuery:
    """The named query ``name``; a one-line error lists the known names."""
    for q in named_queries():
        if q.name == name:
            return q
    known = ", ".join(q.name for q in named_queries()) or "none"
    raise InputError(f"no named query {name!r} (known: {known})")


def run_named(store: GraphStore, name: str, args: dict[str, Any]) -> QueryResult:
    """Run named query ``name`` with ``args`` checked against its declaration.

    The result's ``notes`` say when a ``run`` or ``epoch`` argument names
    nothing stored (the rows are then honestly empty).
    """
    query = named_query(name)
    params = query.bind(args)
    result = store.query(query.text, params)
    notes = _unmatched(store, query, params)
    return QueryResult(result.columns, result.rows, notes=tuple(notes)) if notes else result


def _unmatched(store: GraphStore, query: NamedQuery, params: dict[str, Any]) -> list[str]:
    typed = [p for p in query.params if p.type in ("run", "epoch")]
    if not typed:
        return []
    catalog = [k for k, c in store.catalog().items() if c.complete]
    runs = sorted({k.run for k in catalog})
    epochs = sorted({k.epoch for k in catalog})
    notes = []
    for p in typed:
        value = params[p.name]
        have: list[Any] = runs if p.type == "run" else epochs
        if value is not None and value not in have:
            listing = ", ".join(map(str, have[:12])) + (" ..." if len(have) > 12 else "")
            notes.append(
                f"query {query.name}: no {p.type} {value!r} is stored "
                f"(stored {p.type}s: {listing or 'none'})"
            )
    return notes
