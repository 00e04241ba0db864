"""The in-memory model every part of topograph exchanges: the Checkpoint.

A checkpoint is one network at one epoch of one training run: an ordered chain
of sparse layers. Layer ``k`` is a CSR matrix ``W[k]`` of shape
``(n_k * B_k, n_{k+1})``: rows are the inputs, columns the output neurons,
values the float32 weights. Its non-zero pattern is the layer's topology.
Biases, where the source format has them, are kept beside the layer (one
float32 per output neuron) and never take part in the topology.

``B_k`` (:attr:`LayerInfo.block`) is how many rows each input neuron owns:

* a dense layer: 1 (row ``i`` is input neuron ``i``);
* a convolution with kernel ``kh x kw``: ``kh * kw``. Its neurons are
  channels; output channel ``j``'s inputs are the positions ``(c, y, x)`` with
  ``W[j, c, y, x] != 0``, stored as row ``c * kh * kw + y * kw + x``, so input
  channel ``c`` owns the contiguous rows ``[c * B, (c + 1) * B)``;
* a dense layer after a flatten of ``C x H x W`` feature maps: ``H * W``
  (channel-major rows, as PyTorch flattens).

Relabelling the neurons of position ``k`` therefore permutes whole row blocks
of layer ``k`` (:func:`block_rows`). With ``B = 1`` everything is the dense
definition.

Validation happens here, once: shapes must chain, weights must be finite.
Everything downstream trusts a constructed Checkpoint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from topograph.errors import InputError

__all__ = ["Checkpoint", "CheckpointKey", "LayerInfo", "block_rows", "canonical_layer"]

#: What a layer is: a dense (fully connected) weight or a convolution kernel.
LayerKind = Literal["dense", "conv"]
#: Where a layer's topology came from: its zero weights, or a mask kept beside them.
TopologySource = Literal["zeros", "mask"]


@dataclass(frozen=True)
class LayerInfo:
    """What a layer is beyond its matrix.

    ``name``: the source's name for it (``"fc1.weight"``), for messages and
    inspection. ``kind``: dense or conv. ``kernel``: ``(kh, kw)`` of a conv,
    ``()`` otherwise. ``block``: matrix rows per input neuron (see the module
    doc). ``topology``: whether the pattern came from zeros or from a mask.
    Only ``kind``, ``kernel`` and ``block`` are structure (they enter the
    content hash); ``name`` and ``topology`` are provenance.
    """

    name: str = ""
    kind: LayerKind = "dense"
    kernel: tuple[int, ...] = ()
    block: int = 1
    topology: TopologySource = "zeros"

    def structure(self) -> tuple[str, tuple[int, ...], int]:
        return (self.kind, tuple(self.kernel), int(self.block))

    def describe(self) -> str:
        """``conv 3x3`` / ``dense`` / ``dense (flatten, 16 rows per channel)``."""
        if self.kind == "conv":
            return "conv " + "x".join(map(str, self.kernel))
        return "dense" if self.block == 1 else f"dense (flatten, {self.block} rows per channel)"


DENSE = LayerInfo()


def block_rows(perm: npt.NDArray[np.int64], block: int) -> npt.NDArray[np.int64]:
    """Row order of a layer whose input neurons are reordered by ``perm``.

    New input neuron ``j`` is old neuron ``perm[j]``: its ``block`` rows move
    together. ``block = 1`` returns ``perm`` itself.
    """
    if block == 1:
        return perm
    return (perm[:, None] * block + np.arange(block, dtype=np.int64)[None, :]).ravel()


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
    info
        Per layer, a :class:`LayerInfo` (default: dense, one row per input
        neuron).
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
    info: tuple[LayerInfo, ...] = ()
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
        info = tuple(self.info) if self.info else (DENSE,) * len(layers)
        if len(info) != len(layers):
            raise InputError(f"{where}: {len(info)} layer descriptions for {len(layers)} layers")
        for k, (w, li) in enumerate(zip(layers, info, strict=True)):
            name = f"{where} layer {k}" + (f" ({li.name})" if li.name else "")
            if li.block < 1 or w.shape[0] % li.block:
                raise InputError(
                    f"{name}: {w.shape[0]} input rows are not whole blocks of {li.block} rows"
                )
            if li.kind == "conv" and int(np.prod(li.kernel)) != li.block:
                raise InputError(
                    f"{name}: a conv kernel {li.kernel} owns {int(np.prod(li.kernel))} rows, "
                    f"not {li.block}"
                )
            if k and layers[k - 1].shape[1] * li.block != w.shape[0]:
                raise InputError(
                    f"{name}: has {w.shape[0] // li.block} input neurons but layer "
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
        object.__setattr__(self, "info", info)
        object.__setattr__(self, "content_hash", _content_hash(layers, tuple(checked), info))

    @property
    def key(self) -> CheckpointKey:
        return CheckpointKey(self.run, self.epoch)

    @property
    def widths(self) -> tuple[int, ...]:
        """Neurons (channels, for convs) per position in the chain: ``(n_0, n_1, ..., n_L)``."""
        return (self.layers[0].shape[0] // self.info[0].block, *(w.shape[1] for w in self.layers))

    @property
    def structure(self) -> tuple[tuple[str, tuple[int, ...], int], ...]:
        """Kind, kernel and rows per input neuron of every layer: what must agree to compare."""
        return tuple(li.structure() for li in self.info)

    @property
    def nnz(self) -> int:
        """Non-zero weights (edges) over all layers."""
        return int(sum(w.nnz for w in self.layers))

    def pattern(self, k: int) -> sp.csr_matrix:
        """Layer ``k``'s topology: a float64 0/1 CSR matrix of the same shape (rows per block)."""
        w = self.layers[k]
        return sp.csr_matrix((np.ones(w.nnz, dtype=np.float64), w.indices, w.indptr), shape=w.shape)

    def neuron_pattern(self, k: int) -> sp.csr_matrix:
        """Layer ``k`` between neurons: 0/1 CSR ``(n_k, n_{k+1})``.

        Input neuron ``c`` and output neuron ``j`` are adjacent when any of
        ``c``'s rows has a non-zero weight in column ``j`` (for a conv: the
        channel graph). Equals :meth:`pattern` for a dense layer.
        """
        block = self.info[k].block
        if block == 1:
            return self.pattern(k)
        coo = self.layers[k].tocoo()
        n_in = self.layers[k].shape[0] // block
        m = sp.csr_matrix(
            (np.ones(coo.nnz), (coo.row // block, coo.col)), shape=(n_in, coo.shape[1])
        )
        m.data[:] = 1.0  # duplicates summed: back to 0/1
        return m

    def __repr__(self) -> str:
        shapes = " -> ".join(str(n) for n in self.widths)
        return f"Checkpoint({self.run}@{self.epoch}, {shapes}, nnz={self.nnz})"


def _content_hash(
    layers: tuple[sp.csr_matrix, ...],
    biases: tuple[npt.NDArray[np.float32] | None, ...],
    info: tuple[LayerInfo, ...],
) -> str:
    h = hashlib.sha256()
    h.update(b"topograph-checkpoint-v1")
    if any(li.structure() != DENSE.structure() for li in info):
        # Only non-dense structure enters: hashes of dense networks stay as they were.
        h.update(json.dumps([li.structure() for li in info]).encode())
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
