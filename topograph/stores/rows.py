"""A checkpoint as the columns of the graph model, ready for bulk writes.

Both stores write the same rows; only the transport differs (UNWIND batches
for Neo4j, COPY from Arrow for the embedded store). Every neuron gets an
int64 ``uid``: ``(cid << 32) + offset``, where ``cid`` is the checkpoint's
store-wide number and ``offset`` counts neurons along the chain (inputs of
layer 0 first). Integer keys keep bulk loads and index lookups fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import scipy.sparse as sp

from topograph.model import Checkpoint, CheckpointKey

__all__ = ["CheckpointRows", "checkpoint_id", "checkpoint_rows", "layer_id", "neuron_uid_base"]

UID_SHIFT = 32


def checkpoint_id(key: CheckpointKey | tuple[str, int]) -> str:
    """The Checkpoint node's key: ``"<run>@<epoch>"``."""
    run, epoch = key
    return f"{run}@{int(epoch)}"


def layer_id(key: CheckpointKey | tuple[str, int], k: int) -> str:
    """The Layer node's key: ``"<run>@<epoch>/<k>"``."""
    return f"{checkpoint_id(key)}/{k}"


def neuron_uid_base(cid: int) -> int:
    """First neuron uid of checkpoint number ``cid``."""
    return int(cid) << UID_SHIFT


@dataclass(frozen=True)
class CheckpointRows:
    """Node and edge columns of one checkpoint.

    ``checkpoint``, ``layers``: one dict per node (few rows). ``neurons``,
    ``edges``: Arrow tables, one row per neuron / non-zero weight.
    """

    checkpoint: dict[str, object]
    layers: list[dict[str, object]]
    neurons: pa.Table
    edges: pa.Table


def checkpoint_rows(ck: Checkpoint, cid: int) -> CheckpointRows:
    """Rows of ``ck`` with neuron uids in checkpoint number ``cid``'s range.

    ``neurons`` columns: uid (int64), ckpt, run (string), epoch, layer (int64:
    position 0..L along the chain), idx (int64), bias (float64, null for the
    input layer and layers without bias). ``edges``: src, dst (uids), weight
    (float32).
    """
    cpid = checkpoint_id(ck.key)
    widths = ck.widths
    offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    base = neuron_uid_base(cid)
    total = int(offsets[-1])
    position = np.repeat(np.arange(len(widths), dtype=np.int64), widths)
    index = np.arange(total, dtype=np.int64) - offsets[position]
    bias = np.full(total, np.nan)
    bias_valid = np.zeros(total, dtype=bool)
    for k, b in enumerate(ck.biases):
        if b is not None:
            sl = slice(offsets[k + 1], offsets[k + 2])
            bias[sl] = b.astype(np.float64)
            bias_valid[sl] = True
    neurons = pa.table(
        {
            "uid": pa.array(base + np.arange(total, dtype=np.int64)),
            "ckpt": pa.array([cpid] * total, pa.string()),
            "run": pa.array([ck.run] * total, pa.string()),
            "epoch": pa.array(np.full(total, ck.epoch, dtype=np.int64)),
            "layer": pa.array(position),
            "idx": pa.array(index),
            "bias": pa.array(bias, mask=~bias_valid),
        }
    )
    src_parts: list[npt.NDArray[np.int64]] = []
    dst_parts: list[npt.NDArray[np.int64]] = []
    w_parts: list[npt.NDArray[np.float32]] = []
    for k, w in enumerate(ck.layers):
        coo = w.tocoo()
        src_parts.append(base + offsets[k] + coo.row.astype(np.int64))
        dst_parts.append(base + offsets[k + 1] + coo.col.astype(np.int64))
        w_parts.append(coo.data.astype(np.float32))
    edges = pa.table(
        {
            "src": pa.array(np.concatenate(src_parts)),
            "dst": pa.array(np.concatenate(dst_parts)),
            "weight": pa.array(np.concatenate(w_parts)),
        }
    )
    layers = [
        {
            "id": layer_id(ck.key, k),
            "ckpt": cpid,
            "run": ck.run,
            "epoch": ck.epoch,
            "idx": k,
            "n_in": int(w.shape[0]),
            "n_out": int(w.shape[1]),
            "nnz": int(w.nnz),
            "density": float(w.nnz / (w.shape[0] * w.shape[1])),
        }
        for k, w in enumerate(ck.layers)
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
    return CheckpointRows(checkpoint=checkpoint, layers=layers, neurons=neurons, edges=edges)


def checkpoint_from_edges(
    run: str,
    epoch: int,
    widths: tuple[int, ...],
    layer: npt.NDArray[np.int64],
    src_idx: npt.NDArray[np.int64],
    dst_idx: npt.NDArray[np.int64],
    weight: npt.NDArray[np.float32],
    biases: tuple[npt.NDArray[np.float64] | npt.NDArray[np.float32] | None, ...],
    accuracy: float | None,
    source: str,
) -> Checkpoint:
    """Rebuild a Checkpoint from edge rows read back from a store.

    ``layer[e]`` is the layer index of edge ``e`` (its source neuron's
    position); ``src_idx``/``dst_idx`` the neuron indices within their
    positions.
    """
    layers = []
    for k in range(len(widths) - 1):
        sel = layer == k
        layers.append(
            sp.csr_matrix(
                (weight[sel].astype(np.float32), (src_idx[sel], dst_idx[sel])),
                shape=(widths[k], widths[k + 1]),
            )
        )
    return Checkpoint(
        run=run,
        epoch=epoch,
        layers=tuple(layers),
        biases=biases,  # type: ignore[arg-type]
        source=source,
        accuracy=accuracy,
    )
