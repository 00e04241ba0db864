"""topograph: how the topology of sparse neural networks forms and evolves.

The in-memory model (:class:`Checkpoint`) sits in the middle: loaders produce
it, stores persist it, measures such as :func:`nnstd` consume it.
"""

from topograph.distances.nnstd import NNSTDResult, nnstd
from topograph.errors import InputError, TopographError
from topograph.model import Checkpoint, CheckpointKey

__all__ = [
    "Checkpoint",
    "CheckpointKey",
    "InputError",
    "NNSTDResult",
    "TopographError",
    "nnstd",
]
__version__ = "0.1.0"
