"""Graph stores: one interface, one module per back end.

:func:`open_store` picks the back end from a URI: ``bolt://``, ``neo4j://``,
``neo4j+s://`` (and their ``+ssc`` forms) reach a Neo4j server; anything
else is a path to the embedded store's database file. With no URI, the
``TOPOGRAPH_DB`` environment variable decides, else ``./topograph.lbdb``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from topograph.stores.base import GraphStore, QueryResult, StoredCheckpoint, StoreStatus

__all__ = [
    "DEFAULT_DB",
    "GraphStore",
    "QueryResult",
    "StoreStatus",
    "StoredCheckpoint",
    "open_store",
    "resolve_uri",
]

DEFAULT_DB = "topograph.lbdb"
ENV_VAR = "TOPOGRAPH_DB"


def resolve_uri(uri: str | None = None) -> str:
    """The database URI in force: the argument, else ``$TOPOGRAPH_DB``, else the default file."""
    return uri or os.environ.get(ENV_VAR) or DEFAULT_DB


def is_server_uri(uri: str) -> bool:
    from topograph.stores.neo4j import SCHEMES

    return urlsplit(uri).scheme.lower() in SCHEMES


def open_store(uri: str | None = None, read_only: bool = False) -> GraphStore:
    """Open the store named by ``uri`` (see the module doc) and make sure its schema exists.

    ``read_only`` opens the embedded file read-only (several processes may)
    and skips the schema step. A Neo4j connection is the same either way;
    its queries run in read access mode unless asked to write.
    """
    target = resolve_uri(uri)
    store: GraphStore
    if is_server_uri(target):
        from topograph.stores.neo4j import Neo4jStore

        store = Neo4jStore(target)
    else:
        from topograph.stores.embedded import EmbeddedStore

        store = EmbeddedStore(target, read_only=read_only)
    if not read_only:
        store.ensure_schema()
    return store
