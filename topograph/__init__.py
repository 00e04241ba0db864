"""topograph: how the topology of sparse neural networks forms and evolves.

The in-memory model (:class:`Checkpoint`) sits in the middle: loaders produce
it, stores persist it, measures such as :func:`nnstd` consume it.
"""

import os as _os

# `loaders/` and `cypher/` sit at the repository's top level and install as
# `topograph.loaders` and `topograph.cypher`. Imported from a source checkout
# (tests run from the repository root), find them there as well.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(_os.path.dirname(__file__), "loaders")) and _os.path.isfile(
    _os.path.join(_root, "loaders", "__init__.py")
):
    __path__.append(_root)

from topograph.distances.nnstd import NNSTDResult, nnstd  # noqa: E402
from topograph.errors import InputError, TopographError  # noqa: E402
from topograph.model import Checkpoint, CheckpointKey  # noqa: E402

__all__ = [
    "Checkpoint",
    "CheckpointKey",
    "InputError",
    "NNSTDResult",
    "TopographError",
    "nnstd",
]
__version__ = "0.1.0"
