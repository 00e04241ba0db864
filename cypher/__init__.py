"""Cypher text of topograph, one named ``.cypher`` file per statement.

Installed as ``topograph.cypher`` so the queries ship with the package. Files
directly here run unchanged on both stores; ``neo4j/`` and ``embedded/`` hold
each store's own write statements; ``schema/`` the constraints and tables.
Python never builds query text from user values: values are parameters.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["load", "statements"]


@cache
def load(name: str) -> str:
    """The text of ``<name>.cypher`` (``name`` may contain a sub-folder: ``neo4j/create_edges``)."""
    path = resources.files(__name__).joinpath(*f"{name}.cypher".split("/"))
    return path.read_text(encoding="utf-8")


def statements(name: str) -> list[str]:
    """The ``;``-separated statements of a file, without ``//`` comment lines."""
    lines = [ln for ln in load(name).splitlines() if not ln.strip().startswith("//")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
