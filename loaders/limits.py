"""Limits on what an input may declare, checked before the work it would cause.

A checkpoint file or an archive comes from someone else's training run and is
treated as hostile: a 1 KB ``.npz`` can declare a 10-million-neuron layer, a
1 MB ``.tgz`` can unpack to gigabytes. Each limit below is checked on what the
input *declares* (an ``.npy`` header, a sparse matrix's ``shape``, a tar or
zip header) before anything is built from it, and each refusal is one line
naming the file, the limit and the environment variable that raises it. The
neuron and edge limits hold for every format: the tensor formats (PyTorch,
safetensors, Keras, ``.npz`` dicts), whose arrays are already bounded in bytes
when read, are checked on each chosen layer's matrix before it is made sparse.

=============================  =========================================  ==============
environment variable           what it bounds                             default
=============================  =========================================  ==============
``TOPOGRAPH_MAX_NEURONS``      neurons on either side of one layer        16,777,216
``TOPOGRAPH_NEURONS_PER_BYTE`` neurons a sparse layer file may declare    64
                               per byte of its size (above 65,536)
``TOPOGRAPH_MAX_EDGES``        non-zero weights in one checkpoint         2,000,000,000
``TOPOGRAPH_MAX_UNPACKED``     bytes an archive may unpack to             8 GiB
``TOPOGRAPH_MAX_RATIO``        unpacked bytes per archive byte, once an   200
                               archive unpacks to more than 64 MiB
=============================  =========================================  ==============

The ratio rule reads: a sparse layer of n neurons needs at least about one
index per neuron in its file, so a file of b bytes declaring far more than
``64 * b`` neurons is mostly empty declarations; checkpoints (float weights,
int indices) compress 1-4x, so an archive unpacking to more than 200 times
its size is a bomb, not a training run.
"""

from __future__ import annotations

import os

from topograph.errors import InputError

__all__ = [
    "FREE_NEURONS",
    "FREE_UNPACKED",
    "EdgeTally",
    "check_layer_neurons",
    "max_edges",
    "max_neurons",
    "max_ratio",
    "max_unpacked",
    "neurons_per_byte",
]

#: Layers up to this many neurons are never refused for their file's size.
FREE_NEURONS = 65_536
#: Archives unpacking to at most this many bytes are never refused for their ratio.
FREE_UNPACKED = 64 * 1024**2


def _limit(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name}={raw!r}: not a whole number") from None
    if value <= 0:
        raise InputError(f"{name}={raw!r}: must be positive")
    return value


def max_neurons() -> int:
    """Neurons on either side of one layer (``TOPOGRAPH_MAX_NEURONS``)."""
    return _limit("TOPOGRAPH_MAX_NEURONS", 16_777_216)


def neurons_per_byte() -> int:
    """Neurons a sparse layer file may declare per byte (``TOPOGRAPH_NEURONS_PER_BYTE``)."""
    return _limit("TOPOGRAPH_NEURONS_PER_BYTE", 64)


def max_edges() -> int:
    """Non-zero weights in one checkpoint (``TOPOGRAPH_MAX_EDGES``)."""
    return _limit("TOPOGRAPH_MAX_EDGES", 2_000_000_000)


def check_layer_neurons(where: str, rows: int, cols: int) -> None:
    """Refuse a layer of ``(rows, cols)`` neurons (inputs, outputs) over :func:`max_neurons`.

    Every format passes through here before its sparse matrix is built: the
    reference layout on the shape its ``.npz`` declares, the tensor formats on
    the shape of the chosen layer's matrix (``(n_in * kh * kw, n_out)`` for a
    conv) before the dense-to-sparse conversion.
    """
    if rows < 0 or cols < 0:
        raise InputError(f"{where}: declares a negative shape ({rows}, {cols})")
    limit = max_neurons()
    if max(rows, cols) > limit:
        raise InputError(
            f"{where}: a layer of ({rows:,} inputs, {cols:,} outputs), over the limit of "
            f"{limit:,} neurons per layer (TOPOGRAPH_MAX_NEURONS)"
        )


class EdgeTally:
    """Counts a checkpoint's non-zero weights layer by layer against :func:`max_edges`.

    One per checkpoint; :meth:`add` raises as soon as the running total
    passes the limit, so the layers after it are never converted.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self.limit = max_edges()
        self.edges = 0

    def add(self, nnz: int) -> None:
        """Add one layer's non-zero weights; raise :class:`InputError` past the limit."""
        self.edges += int(nnz)
        if self.edges > self.limit:
            raise InputError(
                f"{self.where}: more than {self.limit:,} non-zero weights in one checkpoint "
                "(TOPOGRAPH_MAX_EDGES)"
            )


def max_unpacked() -> int:
    """Bytes one archive may unpack to (``TOPOGRAPH_MAX_UNPACKED``): 8 GiB."""
    return _limit("TOPOGRAPH_MAX_UNPACKED", 8 * 1024**3)


def max_ratio() -> int:
    """Unpacked bytes per byte of archive (``TOPOGRAPH_MAX_RATIO``)."""
    return _limit("TOPOGRAPH_MAX_RATIO", 200)
