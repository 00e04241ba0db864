"""Graph stores: one interface, one module per back end.

:func:`open_store` picks the back end from a URI: ``bolt://``, ``neo4j://``,
``neo4j+s://`` (and their ``+ssc`` forms) reach a Neo4j server; a plain path
is the embedded store's database file; any other ``scheme://`` is refused
(:mod:`topograph.stores.uri`). With no URI, the ``TOPOGRAPH_DB`` environment
variable decides, else ``./topograph.lbdb``.
"""

from __future__ import annotations

import os

from topograph.stores.base import (
    CheckReport,
    GraphStore,
    IntegrityError,
    QueryResult,
    StoredCheckpoint,
    StoreError,
    StoreMemoryFull,
    StoreStatus,
    StoreUnavailable,
    WriterActive,
)
from topograph.stores.uri import check_uri, has_password, is_server_uri, redact

__all__ = [
    "DEFAULT_DB",
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
    "has_password",
    "is_server_uri",
    "open_store",
    "redact",
    "resolve_uri",
]

DEFAULT_DB = "topograph.lbdb"
ENV_VAR = "TOPOGRAPH_DB"


def resolve_uri(uri: str | None = None) -> str:
    """The database URI in force: the argument, else ``$TOPOGRAPH_DB``, else the default file.

    A URI of another scheme than Bolt's (``http://...``) is refused here, in
    one line that names only its scheme.
    """
    return check_uri(uri or os.environ.get(ENV_VAR) or DEFAULT_DB)


def open_store(uri: str | None = None, read_only: bool = False) -> GraphStore:
    """Open the store named by ``uri`` (see the module doc) and make sure its schema exists.

    ``read_only`` opens the embedded file read-only (several processes may)
    and skips the schema step. Otherwise the store is this database's one
    writer until it is closed: the embedded file is locked by LadybugDB, a
    Neo4j database by topograph's writer lease; another writer waits up to
    ``TOPOGRAPH_LOCK_WAIT`` seconds, then stops with one line. Queries run
    in read mode unless asked to write.
    """
    target = resolve_uri(uri)
    store: GraphStore
    if is_server_uri(target):
        from topograph.stores.neo4j import Neo4jStore

        store = Neo4jStore(target, read_only=read_only)
    else:
        from topograph.stores.embedded import EmbeddedStore

        store = EmbeddedStore(target, read_only=read_only)
    if not read_only:
        try:
            store.ensure_schema()
            store.take_writer_lock()
        except BaseException:
            store.close()
            raise
    return store
