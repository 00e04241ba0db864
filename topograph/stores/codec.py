"""How the graph model encodes checkpoints and results, and decodes them back.

Both stores hold the same graph; only the transport differs (UNWIND batches
for Neo4j, COPY from Arrow for the embedded store), so the encoding lives
here once, with its inverse beside it:

* Node keys: a Checkpoint is ``"<run>@<epoch>"``, a Layer
  ``"<run>@<epoch>/<k>"``.
* Every neuron has an int64 ``uid``: ``(cid << 32) + offset``, where ``cid``
  is the checkpoint's store-wide number and ``offset`` counts neurons along
  the chain (inputs of layer 0 first). Integer keys keep bulk loads and
  index lookups fast; a checkpoint's neurons are the uid range
  ``[cid << 32, (cid << 32) + neurons)``.
* One CONNECTS relationship per non-zero weight, float32 weight. Where an
  input neuron owns several rows (a conv's kernel positions, a flatten's
  spatial positions; :class:`~topograph.model.LayerInfo`), the edge goes from
  that neuron (channel) and ``tap`` says which of its rows: matrix row
  ``idx * block + tap``. Dense layers have ``tap = 0``.
* A Layer node keeps ``n_in`` input neurons (channels), ``block`` rows per
  neuron, its ``kind``, ``kernel`` (``"3x3"``, empty for dense), source
  ``name`` and ``topology`` (zeros or mask).
* MATCHES go from neuron ``j`` at position ``k + 1`` of checkpoint a to its
  match in b, carrying the matched pair's distance.

Nothing outside the stores builds these rows or ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import scipy.sparse as sp

from topograph.model import Checkpoint, CheckpointKey, LayerInfo
from topograph.results import PairDistance, record

__all__ = [
    "CHECKPOINT_PROPERTIES",
    "LAYER_PROPERTIES",
    "NEURON_PROPERTIES",
    "EncodedCheckpoint",
    "checkpoint_id",
    "decode_checkpoint",
    "encode_checkpoint",
    "encode_distance",
    "encode_evolves",
    "encode_matches",
    "key_of",
    "layer_id",
    "neuron_table",
    "neuron_uid_base",
]

UID_SHIFT = 32


def checkpoint_id(key: CheckpointKey | tuple[str, int]) -> str:
    """The Checkpoint node's key: ``"<run>@<epoch>"``."""
    run, epoch = key
    return f"{run}@{int(epoch)}"


def key_of(checkpoint_id_: str) -> CheckpointKey:
    """Inverse of :func:`checkpoint_id` (run names may contain ``@``; epochs never do)."""
    run, _, epoch = checkpoint_id_.rpartition("@")
    return CheckpointKey(run, int(epoch))


def layer_id(key: CheckpointKey | tuple[str, int], k: int) -> str:
    """The Layer node's key: ``"<run>@<epoch>/<k>"``."""
    return f"{checkpoint_id(key)}/{k}"


def neuron_uid_base(cid: int) -> int:
    """First neuron uid of checkpoint number ``cid``."""
    return int(cid) << UID_SHIFT


#: The Checkpoint node's properties (:attr:`EncodedCheckpoint.checkpoint`), in
#: the order both stores load them.
CHECKPOINT_PROPERTIES = pa.schema(
    [
        ("id", pa.string()),
        ("run", pa.string()),
        ("epoch", pa.int64()),
        ("hash", pa.string()),
        ("accuracy", pa.float64()),
        ("source", pa.string()),
        ("cid", pa.int64()),
        ("n_layers", pa.int64()),
        ("neurons", pa.int64()),
        ("edges", pa.int64()),
        ("complete", pa.bool_()),
    ]
)
#: A Layer node's properties (each of :attr:`EncodedCheckpoint.layers`).
LAYER_PROPERTIES = pa.schema(
    [
        ("id", pa.string()),
        ("ckpt", pa.string()),
        ("run", pa.string()),
        ("epoch", pa.int64()),
        ("idx", pa.int64()),
        ("n_in", pa.int64()),
        ("n_out", pa.int64()),
        ("nnz", pa.int64()),
        ("density", pa.float64()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("kernel", pa.string()),
        ("block", pa.int64()),
        ("topology", pa.string()),
    ]
)


#: A Neuron node's properties, the columns of :func:`neuron_table`.
NEURON_PROPERTIES = pa.schema(
    [
        ("uid", pa.int64()),
        ("ckpt", pa.string()),
        ("run", pa.string()),
        ("epoch", pa.int64()),
        ("layer", pa.int64()),
        ("idx", pa.int64()),
        ("bias", pa.float64()),
    ]
)


@dataclass(frozen=True)
class EncodedCheckpoint:
    """One checkpoint as node and relationship columns, neurons numbered locally.

    ``checkpoint``: the Checkpoint node's properties (``complete`` false);
    ``layers``: one property map per Layer node. Neurons are numbered by
    their offset along the chain, ``0 .. neurons - 1``; a store adds
    ``base`` (:func:`neuron_uid_base`) where it needs global uids.
    ``position``/``index``: each neuron's position in the chain and index
    within it; ``bias``: float64, NaN where a neuron has none. ``src``,
    ``dst``: neuron offsets of each non-zero weight; ``tap``: which of the
    source neuron's rows (int32, 0 for dense layers); ``weight``: float32.
    """

    checkpoint: dict[str, Any]
    layers: list[dict[str, Any]]
    base: int
    position: npt.NDArray[np.int64]
    index: npt.NDArray[np.int64]
    bias: npt.NDArray[np.float64]
    src: npt.NDArray[np.int64]
    dst: npt.NDArray[np.int64]
    tap: npt.NDArray[np.int32]
    weight: npt.NDArray[np.float32]

    @property
    def id(self) -> str:
        return str(self.checkpoint["id"])

    @property
    def neurons(self) -> int:
        return int(self.position.size)


def _offsets(widths: Sequence[int]) -> npt.NDArray[np.int64]:
    return np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)


def encode_checkpoint(ck: Checkpoint, cid: int) -> EncodedCheckpoint:
    """Columns of ``ck`` as checkpoint number ``cid``."""
    cpid = checkpoint_id(ck.key)
    widths = ck.widths
    offsets = _offsets(widths)
    total = int(offsets[-1])
    position = np.repeat(np.arange(len(widths), dtype=np.int64), widths)
    index = np.arange(total, dtype=np.int64) - offsets[position]
    bias = np.full(total, np.nan)
    for k, b in enumerate(ck.biases):
        if b is not None:
            bias[offsets[k + 1] : offsets[k + 2]] = b
    src, dst, tap, weight = [], [], [], []
    for k, (w, li) in enumerate(zip(ck.layers, ck.info, strict=True)):
        coo = w.tocoo()
        row = coo.row.astype(np.int64)
        src.append(offsets[k] + row // li.block)
        tap.append((row % li.block).astype(np.int32))
        dst.append(offsets[k + 1] + coo.col.astype(np.int64))
        weight.append(coo.data)
    layers = [
        {
            "id": layer_id(ck.key, k),
            "ckpt": cpid,
            "run": ck.run,
            "epoch": ck.epoch,
            "idx": k,
            "n_in": int(w.shape[0] // li.block),
            "n_out": int(w.shape[1]),
            "nnz": int(w.nnz),
            "density": float(w.nnz / (w.shape[0] * w.shape[1])),
            "name": li.name,
            "kind": li.kind,
            "kernel": "x".join(map(str, li.kernel)),
            "block": int(li.block),
            "topology": li.topology,
        }
        for k, (w, li) in enumerate(zip(ck.layers, ck.info, strict=True))
    ]
    checkpoint = {
        "id": cpid,
        "run": ck.run,
        "epoch": ck.epoch,
        "hash": ck.content_hash,
        "accuracy": ck.accuracy,
        "source": ck.source,
        "cid": int(cid),
        "n_layers": len(ck.layers),
        "neurons": total,
        "edges": ck.nnz,
        "complete": False,
    }
    return EncodedCheckpoint(
        checkpoint=checkpoint,
        layers=layers,
        base=neuron_uid_base(cid),
        position=position,
        index=index,
        bias=bias,
        src=np.concatenate(src),
        dst=np.concatenate(dst),
        tap=np.concatenate(tap),
        weight=np.concatenate(weight).astype(np.float32, copy=False),
    )


def decode_checkpoint(
    meta: Sequence[dict[str, Any]],
    edge_src: Any,
    edge_dst: Any,
    edge_tap: Any,
    edge_weight: Any,
    bias_uid: Any,
    bias_value: Any,
) -> Checkpoint:
    """Inverse of :func:`encode_checkpoint`, from what a store reads back.

    ``meta``: the rows of ``cypher/checkpoint.cypher`` (one per layer, in
    layer order); ``edge_*``: global uids, taps and weights of every
    CONNECTS; ``bias_*``: global uids and values of the neurons that carry a
    bias. Returns exactly the stored pattern, float32 weights and biases.
    """
    first = meta[0]
    widths = (int(first["n_in"]), *(int(m["n_out"]) for m in meta))
    offsets = _offsets(widths)
    base = neuron_uid_base(int(first["cid"]))

    def position(uids: Any) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Position along the chain and index within it, from global uids."""
        off = np.asarray(uids, dtype=np.int64) - base
        pos = np.searchsorted(offsets, off, side="right") - 1
        return pos, off - offsets[pos]

    info = tuple(
        LayerInfo(
            name=m["name"] or "",
            kind=m["kind"] or "dense",
            kernel=tuple(int(x) for x in (m["kernel"] or "").split("x") if x),
            block=int(m["block"] or 1),
            topology=m["topology"] or "zeros",
        )
        for m in meta
    )
    layer, src = position(edge_src)
    _, dst = position(edge_dst)
    tap = np.asarray(edge_tap, dtype=np.int64)
    # Stored from float32 (Neo4j keeps it as float64): the cast is exact.
    weight = np.asarray(edge_weight, dtype=np.float64).astype(np.float32)
    layers = []
    for k, li in enumerate(info):
        sel = layer == k
        rows = src[sel] * li.block + tap[sel]
        shape = (widths[k] * li.block, widths[k + 1])
        layers.append(sp.csr_matrix((weight[sel], (rows, dst[sel])), shape=shape))
    biases: list[npt.NDArray[np.float64] | None] = [None] * (len(widths) - 1)
    pos, idx = position(bias_uid)
    values = np.asarray(bias_value, dtype=np.float64)
    for p in np.unique(pos):
        if p == 0:
            continue  # inputs have no bias
        b = np.zeros(widths[p], dtype=np.float64)
        b[idx[pos == p]] = values[pos == p]
        biases[p - 1] = b
    return Checkpoint(
        run=str(first["run"]),
        epoch=int(first["epoch"]),
        layers=tuple(layers),
        biases=tuple(biases),  # type: ignore[arg-type]
        source=first["source"] or "",
        accuracy=first["accuracy"],
        info=info,
    )


def encode_distance(pair: PairDistance) -> dict[str, Any]:
    """A pair result as the row its write-back statement takes: a, b and the stored fields."""
    return {"a": checkpoint_id(pair.a), "b": checkpoint_id(pair.b), **record(pair.result)}


def encode_evolves(pair: PairDistance) -> list[dict[str, Any]]:
    """EVOLVES rows: layer k of a to layer k of b, with that layer's distance."""
    r = pair.result
    return [
        {
            "a": layer_id(pair.a, k),
            "b": layer_id(pair.b, k),
            "distance": float(d),
            "method": r.method,
            "version": r.version,
        }
        for k, d in enumerate(r.layers)
    ]


def encode_matches(
    pairs: Sequence[PairDistance], cids: dict[CheckpointKey, int], neurons: dict[CheckpointKey, int]
) -> dict[str, npt.NDArray[Any]]:
    """MATCHES columns of aligned pair results.

    Columns: src, dst (global uids), layer (position k + 1), distance (the
    matched pair's), method, version. ``cids``: each checkpoint's number;
    ``neurons``: its neuron count (the matchings cover every position but
    the inputs, which come first).
    """
    src, dst, pos, dist, method, version = [], [], [], [], [], []
    for p in pairs:
        base_a = neuron_uid_base(cids[p.a])
        base_b = neuron_uid_base(cids[p.b])
        offset = neurons[p.a] - sum(m.size for m in p.result.matchings)
        for k, (matching, costs) in enumerate(zip(p.result.matchings, p.result.costs, strict=True)):
            n = matching.size
            src.append(base_a + offset + np.arange(n, dtype=np.int64))
            dst.append(base_b + offset + matching.astype(np.int64))
            pos.append(np.full(n, k + 1, dtype=np.int64))
            dist.append(np.asarray(costs, dtype=np.float64))
            method.append(np.full(n, p.result.method, dtype=object))
            version.append(np.full(n, p.result.version, dtype=object))
            offset += n

    def cat(parts: list[npt.NDArray[Any]], dtype: Any) -> npt.NDArray[Any]:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    return {
        "src": cat(src, np.int64),
        "dst": cat(dst, np.int64),
        "layer": cat(pos, np.int64),
        "distance": cat(dist, np.float64),
        "method": cat(method, object),
        "version": cat(version, object),
    }


def neuron_table(e: EncodedCheckpoint) -> pa.Table:
    """One checkpoint's Neuron nodes: uids ``base + offset``, bias null where a neuron has none."""
    n = e.neurons
    return pa.table(
        {
            "uid": pa.array(e.base + np.arange(n, dtype=np.int64)),
            "ckpt": pa.repeat(pa.scalar(e.id, pa.string()), n),
            "run": pa.repeat(pa.scalar(str(e.checkpoint["run"]), pa.string()), n),
            "epoch": pa.repeat(pa.scalar(int(e.checkpoint["epoch"]), pa.int64()), n),
            "layer": pa.array(e.position),
            "idx": pa.array(e.index),
            "bias": pa.array(e.bias, mask=np.isnan(e.bias)),
        },
        schema=NEURON_PROPERTIES,
    )
