"""topograph: how the topology of sparse neural networks forms and evolves.

The front door:

* :func:`connect` a session over a graph store (embedded file or Neo4j):
  ``ingest``, ``analyze``, ``query``, ``cypher``, ``table``, ``export``,
  ``status``, ``plot_heatmap``, ``plot_evolution``.
* :func:`nnstd` between two :class:`Checkpoint` objects;
  :func:`compare_files` and :func:`distance_matrix` straight from files.
* :func:`load` one checkpoint from a file, folder or archive;
  :func:`inspect` what the loaders find in each (layers, orientation, skipped).
* :func:`queries`: the named queries and their parameters.

``import topograph`` is light: each name is imported when first used, so
scipy, matplotlib and the database drivers load only when needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> (module, attribute): resolved on first access (PEP 562).
_EXPORTS = {
    "Checkpoint": ("topograph.model", "Checkpoint"),
    "CheckpointKey": ("topograph.model", "CheckpointKey"),
    "InputError": ("topograph.errors", "InputError"),
    "TopographError": ("topograph.errors", "TopographError"),
    "NNSTDResult": ("topograph.measures.nnstd", "NNSTDResult"),
    "nnstd": ("topograph.measures.nnstd", "nnstd"),
    "Session": ("topograph.session", "Session"),
    "connect": ("topograph.session", "connect"),
    "compare_files": ("topograph.pipeline.compare", "compare_files"),
    "distance_matrix": ("topograph.pipeline.compare", "distance_matrix"),
    "load": ("topograph.loaders", "load"),
    "inspect": ("topograph.loaders", "inspect"),
    "SourceOptions": ("topograph.loaders", "SourceOptions"),
    "queries": ("topograph.pipeline.queries", "named_queries"),
}

__all__ = [
    "Checkpoint",
    "CheckpointKey",
    "InputError",
    "NNSTDResult",
    "Session",
    "SourceOptions",
    "TopographError",
    "__version__",
    "compare_files",
    "connect",
    "distance_matrix",
    "inspect",
    "load",
    "nnstd",
    "queries",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from topograph.errors import InputError, TopographError
    from topograph.loaders import SourceOptions, inspect, load
    from topograph.measures.nnstd import NNSTDResult, nnstd
    from topograph.model import Checkpoint, CheckpointKey
    from topograph.pipeline.compare import compare_files, distance_matrix
    from topograph.pipeline.queries import named_queries as queries
    from topograph.session import Session, connect


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'topograph' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
