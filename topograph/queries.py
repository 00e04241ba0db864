"""Named Cypher queries shipped under ``cypher/queries/``, runnable on both stores.

Each file starts with ``//`` comment lines: the first is the one-line
summary, the rest say what the parameters are. Queries avoid the two
dialects' differences (no list indexing, every column aliased), so they run
unchanged on Neo4j and on the embedded store.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import topograph.cypher as cypher
from topograph.errors import InputError

__all__ = ["NamedQuery", "named_queries", "query_text"]


@dataclass(frozen=True)
class NamedQuery:
    name: str
    summary: str
    doc: str
    text: str


def named_queries() -> list[NamedQuery]:
    """Every query under ``cypher/queries``, sorted by name."""
    folder = resources.files(cypher.__name__).joinpath("queries")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".cypher"):
            continue
        text = entry.read_text(encoding="utf-8")
        comments = [
            ln.strip()[2:].strip() for ln in text.splitlines() if ln.strip().startswith("//")
        ]
        out.append(
            NamedQuery(
                name=entry.name[: -len(".cypher")],
                summary=comments[0] if comments else "",
                doc="\n".join(comments),
                text=text,
            )
        )
    return out


def query_text(name: str) -> str:
    """The text of the named query ``name``; a clear error lists the known names."""
    for q in named_queries():
        if q.name == name:
            return q.text
    known = ", ".join(q.name for q in named_queries()) or "none"
    raise InputError(f"no named query {name!r} (known: {known})")
