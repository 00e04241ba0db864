"""The in-memory model every part of topograph exchanges: the Checkpoint.

A checkpoint is one network at one epoch of one training run: an ordered chain
of sparse layers. Layer ``k`` is a CSR matrix ``W[k]`` of shape
``(n_k, n_{k+1})``: rows are input neurons, columns output neurons, values the
float32 weights. Its non-zero pattern is the layer's topology. Biases, where
the source format has them, are kept beside the layer (one float32 per output
neuron) and never take part in the topology.

Validation happens here, once: shapes must chain, weights must be finite.
Everything downstream trusts a constructed Checkpoint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from topograph.errors import InputError

__all__ = ["Checkpoint", "CheckpointKey", "canonical_layer"]


class CheckpointKey(NamedTuple):
    """Identifies a checkpoint: the run's name and the epoch (an integer)."""

    run: str
    epoch: int

    def __str__(self) -> str:
        return f"{self.run}@{self.epoch}"


def canonical_layer(matrix: sp.spmatrix | sp.sparray | np.ndarray, where: str) -> sp.csr_matrix:
    """Return ``matrix`` as canonical float32 CSR (sorted indices, no stored zeros).

    ``where`` names the file and layer for the error message. Refuses NaN and
    infinite weights, and values that overflow or underflow float32: each would
    silently change the topology. Duplicate entries are summed first, then
    stored zeros dropped.
    """
    try:
        csr = sp.csr_matrix(matrix)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: not a 2-D numeric matrix ({exc})") from None
    if csr.ndim != 2:
        raise InputError(f"{where}: expected a 2-D matrix, got {csr.ndim} dimensions")
    if not np.issubdtype(csr.dtype, np.number) or np.issubdtype(csr.dtype, np.complexfloating):
        raise InputError(f"{where}: weights must be real numbers, got dtype {csr.dtype}")
    bad = ~np.isfinite(csr.data)
    if bad.any():
        raise InputError(f"{where}: {int(bad.sum())} weight(s) are NaN or infinite")
    csr.sum_duplicates()  # before dropping zeros: duplicates may cancel out
    with np.errstate(over="ignore", under="ignore"):
        data32 = csr.data.astype(np.float32)
    if not np.isfinite(data32).all():
        raise InputError(f"{where}: weights overflow float32")
    lost = (csr.data != 0) & (data32 == 0)
    if lost.any():
        raise InputError(
            f"{where}: {int(lost.sum())} non-zero weight(s) underflow float32 to 0 "
            "(the topology would change)"
        )
    out = sp.csr_matrix((data32, csr.indices, csr.indptr), shape=csr.shape)
    out.eliminate_zeros()
    out.sort_indices()
    out.indices = out.indices.astype(np.int32, copy=False)
    out.indptr = out.indptr.astype(np.int32, copy=False)
    return out


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """One network of one run at one epoch.

    Attributes
    ----------
    run, epoch
        Which training run and which epoch (integer, as the source names it).
    layers
        ``W[0..L-1]``; ``W[k]`` is float32 CSR of shape ``(n_k, n_{k+1})``,
        rows are input neurons. Consecutive shapes chain.
    biases
        Per layer, a float32 vector of length ``n_{k+1}`` or ``None`` when the
        source has no bias for that layer.
    source
        Where it was read from (file, directory or archive member), for
        messages and provenance.
    accuracy
        Test accuracy at this epoch when the run records it, else ``None``.
    content_hash
        SHA-256 over the canonical layers and biases (hex): two checkpoints
        with the same hash hold the same weights. Computed on construction.

    The constructor canonicalises every layer (see :func:`canonical_layer`)
    and raises :class:`~topograph.errors.InputError` naming the source and
    layer on bad input.
    """

    run: str
    epoch: int
    layers: tuple[sp.csr_matrix, ...]
    biases: tuple[npt.NDArray[np.float32] | None, ...] = ()
    source: str = ""
    accuracy: float | None = None
    content_hash: str = field(default="", init=False)

    def __post_init__(self) -> None:
        where = self.source or f"{self.run}@{self.epoch}"
        if not isinstance(self.run, str) or not self.run:
            raise InputError(f"{where}: run name must be a non-empty string")
        if isinstance(self.epoch, bool) or not isinstance(self.epoch, int | np.integer):
            raise InputError(f"{where}: epoch must be an integer, got {self.epoch!r}")
        if len(self.layers) == 0:
            raise InputError(f"{where}: a checkpoint needs at least one layer")
        layers = tuple(canonical_layer(w, f"{where} layer {k}") for k, w in enumerate(self.layers))
        for k in range(1, len(layers)):
            if layers[k - 1].shape[1] != layers[k].shape[0]:
                raise InputError(
                    f"{where} layer {k}: has {layers[k].shape[0]} input neurons but layer "
                    f"{k - 1} has {layers[k - 1].shape[1]} outputs; layers must chain"
                )
        biases = tuple(self.biases) if self.biases else (None,) * len(layers)
        if len(biases) != len(layers):
            raise InputError(f"{where}: {len(biases)} bias vectors for {len(layers)} layers")
        checked: list[npt.NDArray[np.float32] | None] = []
        for k, (w, b) in enumerate(zip(layers, biases, strict=True)):
            if b is None:
                checked.append(None)
                continue
            arr = np.asarray(b, dtype=np.float64).ravel()
            if arr.shape != (w.shape[1],):
                raise InputError(
                    f"{where} layer {k}: bias has {arr.size} values for {w.shape[1]} outputs"
                )
            if not np.isfinite(arr).all():
                raise InputError(f"{where} layer {k}: bias is NaN or infinite")
            checked.append(arr.astype(np.float32))
        if self.accuracy is not None and not np.isfinite(self.accuracy):
            raise InputError(f"{where}: accuracy is not a finite number")
        object.__setattr__(self, "epoch", int(self.epoch))
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "biases", tuple(checked))
        object.__setattr__(self, "content_hash", _content_hash(layers, tuple(checked)))

    @property
    def key(self) -> CheckpointKey:
        return CheckpointKey(self.run, self.epoch)

    @property
    def widths(self) -> tuple[int, ...]:
        """Neurons per position in the chain: ``(n_0, n_1, ..., n_L)``."""
        return (self.layers[0].shape[0], *(w.shape[1] for w in self.layers))

    @property
    def nnz(self) -> int:
        """Non-zero weights (edges) over all layers."""
        return int(sum(w.nnz for w in self.layers))

    def pattern(self, k: int) -> sp.csr_matrix:
        """Layer ``k``'s topology: a float64 0/1 CSR matrix of the same shape."""
        w = self.layers[k]
        return sp.csr_matrix((np.ones(w.nnz, dtype=np.float64), w.indices, w.indptr), shape=w.shape)

    def __repr__(self) -> str:
        shapes = " -> ".join(str(n) for n in self.widths)
        return f"Checkpoint({self.run}@{self.epoch}, {shapes}, nnz={self.nnz})"


def _content_hash(
    layers: tuple[sp.csr_matrix, ...], biases: tuple[npt.NDArray[np.float32] | None, ...]
) -> str:
    h = hashlib.sha256()
    h.update(b"topograph-checkpoint-v1")
    for w, b in zip(layers, biases, strict=True):
        h.update(np.asarray(w.shape, dtype=np.int64).tobytes())
        h.update(w.indptr.astype(np.int64).tobytes())
        h.update(w.indices.astype(np.int64).tobytes())
        h.update(w.data.astype("<f4").tobytes())
        if b is None:
            h.update(b"no-bias")
        else:
            h.update(b.astype("<f4").tobytes())
    return h.hexdigest()
