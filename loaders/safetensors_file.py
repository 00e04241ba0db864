"""``.safetensors`` files, through safetensors' numpy API (no torch needed).

Layout: an 8-byte little-endian header length ``N``, ``N`` bytes of JSON
(``name -> {"dtype", "shape", "data_offsets": [begin, end]}`` plus an optional
``"__metadata__"`` of strings), then the data. The header is checked here
before the library sees the file: ``N`` within the file and at most
:data:`MAX_HEADER_BYTES`; every tensor's dtype known, its shape non-negative
integers, its byte count ``prod(shape) * itemsize`` equal to
``end - begin`` and within the size limits, its offsets inside the data.
A header that lies about sizes is refused with one line naming the tensor.

bfloat16 tensors (which numpy lacks) are widened to float32 exactly from
their raw bytes. The format keeps no order of tensors (the library lists
them sorted by name), so layers are ordered by natural name order and by
chaining. Metadata ``{"format": "pt"}`` (or none) means PyTorch's
orientation; ``"tf"``, ``"flax"``, ``"keras"`` or ``"jax"`` Keras's (``[in,
out]``); integer ``epoch`` and float ``accuracy``/``acc`` metadata are read.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from topograph.errors import InputError, first_line
from topograph.loaders.mapping import Orientation
from topograph.loaders.state_dict import SizeBudget, TensorSet

__all__ = ["MAX_HEADER_BYTES", "read_safetensors"]

#: Largest JSON header accepted (the safetensors library's own limit): 100 MB.
MAX_HEADER_BYTES = 100_000_000

#: Bytes per element of each safetensors dtype topograph reads.
ITEMSIZE = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}
_KERAS_FORMATS = {"tf", "flax", "keras", "jax"}


def _header(path: Path, where: str) -> tuple[dict[str, Any], int]:
    """The validated JSON header and the offset where the data starts."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) < 8:
            raise InputError(
                f"{where}: truncated safetensors file ({size} bytes, no header length)"
            )
        (n,) = struct.unpack("<Q", raw)
        if n > MAX_HEADER_BYTES:
            raise InputError(
                f"{where}: safetensors header length {n:,} bytes is over the "
                f"{MAX_HEADER_BYTES:,}-byte limit"
            )
        if 8 + n > size:
            raise InputError(
                f"{where}: safetensors header length {n:,} bytes goes beyond the end of the "
                f"file ({size:,} bytes): truncated or lying"
            )
        text = fh.read(n)
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{where}: safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise InputError(f"{where}: safetensors header is not a JSON object")
    data_bytes = size - 8 - n
    budget = SizeBudget(where)
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(spec, dict):
            raise InputError(f"{where}: tensor {name}: header entry is not an object")
        dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
        if dtype not in ITEMSIZE:
            raise InputError(f"{where}: tensor {name}: unsupported dtype {dtype!r}")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise InputError(f"{where}: tensor {name}: shape {shape!r} is not a list of sizes")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        ):
            raise InputError(
                f"{where}: tensor {name}: data_offsets {offsets!r} are not [begin, end]"
            )
        begin, end = offsets
        budget.check(f"tensor {name}", tuple(shape), ITEMSIZE[dtype])
        nbytes = math.prod(shape) * ITEMSIZE[dtype]
        if not 0 <= begin <= end or end - begin != nbytes:
            raise InputError(
                f"{where}: tensor {name}: data_offsets [{begin}, {end}] do not hold "
                f"{nbytes:,} bytes of {dtype} {tuple(shape)}"
            )
        if end > data_bytes:
            raise InputError(
                f"{where}: tensor {name}: data_offsets [{begin}, {end}] go beyond the file's "
                f"{data_bytes:,} data bytes: truncated or lying"
            )
    return header, 8 + n


def _bf16(path: Path, start: int, begin: int, end: int, shape: list[int]) -> npt.NDArray[Any]:
    with open(path, "rb") as fh:
        fh.seek(start + begin)
        raw = np.frombuffer(fh.read(end - begin), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(shape)


def read_safetensors(path: Path, where: str | None = None) -> TensorSet:
    """Read a ``.safetensors`` file into a :class:`TensorSet` (header checked first)."""
    from safetensors import SafetensorError, safe_open

    where = where or str(path)
    header, start = _header(path, where)
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise InputError(f"{where}: safetensors __metadata__ is not an object")
    fmt_tag = str(meta.get("format", "")).lower()
    convention: Orientation = "keras" if fmt_tag in _KERAS_FORMATS else "pytorch"
    arrays: dict[str, npt.NDArray[Any]] = {}
    try:
        with safe_open(str(path), framework="numpy") as f:
            for name in f.keys():
                spec = header[name]
                if spec["dtype"] == "BF16":
                    begin, end = spec["data_offsets"]
                    arrays[name] = _bf16(path, start, begin, end, spec["shape"])
                else:
                    arrays[name] = f.get_tensor(name)
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise InputError(f"{where}: unreadable safetensors file ({first_line(exc)})") from None
    tag = f'metadata format "{fmt_tag}"' if fmt_tag else "no format metadata"
    ts = TensorSet(arrays, f"safetensors ({tag})", convention, order="sorted")
    if "epoch" in meta:
        try:
            ts.epoch = int(meta["epoch"])
        except ValueError:
            ts.notes.append(f"metadata epoch {meta['epoch']!r} is not an integer: not used")
    for key in ("accuracy", "acc"):
        if key in meta:
            try:
                value = float(meta[key])
            except ValueError:
                continue
            if math.isfinite(value):
                ts.accuracy = value
                break
    return ts
