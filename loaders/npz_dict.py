"""NumPy ``.npz`` files holding a dict of named arrays (``np.savez(path, **state)``).

Read with ``allow_pickle=False``: an object array (which only a pickle could
rebuild) is refused. Before any array is read, each member's ``.npy`` header
is parsed and its declared shape x item size checked against the limits of
:mod:`topograph.loaders.state_dict` and against the member's real size, so a
member that lies about its shape or a zip bomb is refused first.

The arrays keep the order ``np.savez`` wrote them in (the dict's order). An
``.npz`` says nothing of orientation: names ending in ``kernel`` mean Keras's
``[in, out]``, anything else PyTorch's ``[out, in]`` (used only where
chaining cannot tell). 0-d arrays named ``epoch`` and ``accuracy``/``acc``
are read as the checkpoint's epoch and accuracy. A ``scipy.sparse.save_npz``
matrix (a layer file of the reference layout) is not a dict of arrays and is
refused here.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from topograph.errors import InputError, first_line
from topograph.loaders.mapping import Orientation
from topograph.loaders.state_dict import SizeBudget, TensorSet, tensor_set_from_object

__all__ = ["check_npz_members", "read_npz"]


def check_npz_members(path: Path, where: str) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]]:
    """Every member's declared shape and dtype, checked before any array is read.

    Refuses a member that is not an ``.npy`` array, holds Python objects,
    declares more than the size limits, or declares another size than it
    holds. Returns ``{array name: (shape, dtype)}``.
    """
    declared_arrays: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}
    budget = SizeBudget(where)
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename
            if name[:-4] in declared_arrays:
                raise InputError(
                    f"{where}: member {name!r} appears twice; which one holds the array?"
                )
            if not name.endswith(".npy"):
                raise InputError(f"{where}: member {name!r} is not a .npy array")
            with zf.open(info) as fh:
                try:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                    header_end = fh.tell()
                except ValueError as exc:
                    raise InputError(
                        f"{where}: member {name!r} has no valid .npy header ({first_line(exc)})"
                    ) from None
            if dtype.hasobject:
                raise InputError(
                    f"{where}: array {name[:-4]!r} holds Python objects, which only a pickle "
                    "could read; refused (allow_pickle=False)"
                )
            budget.check(f"array {name[:-4]}", tuple(shape), dtype.itemsize)
            declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if declared != info.file_size - header_end:
                raise InputError(
                    f"{where}: array {name[:-4]!r} declares {declared:,} bytes of {dtype} "
                    f"{tuple(shape)} but holds {info.file_size - header_end:,}"
                )
            declared_arrays[name[:-4]] = (tuple(int(d) for d in shape), dtype)
    return declared_arrays


def read_npz(path: Path, where: str | None = None) -> TensorSet:
    """Read an ``.npz`` dict of arrays into a :class:`TensorSet` (headers checked first)."""
    where = where or str(path)
    try:
        check_npz_members(path, where)
        with np.load(path, allow_pickle=False) as npz:
            arrays: dict[str, npt.NDArray[Any]] = {name: npz[name] for name in npz.files}
    except InputError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, KeyError) as exc:
        raise InputError(f"{where}: corrupt or truncated .npz ({first_line(exc)})") from None
    if set(arrays) <= {"data", "indices", "indptr", "format", "shape"} and "indptr" in arrays:
        raise InputError(
            f"{where}: a scipy.sparse matrix (one layer file of the reference layout), "
            "not a dict of named arrays"
        )
    convention: Orientation = "keras" if any(n.endswith("kernel") for n in arrays) else "pytorch"
    names = "names ending in 'kernel'" if convention == "keras" else "no 'kernel' names"
    return tensor_set_from_object(
        arrays, fmt=f"NumPy .npz dict of arrays ({names})", convention=convention, where=where
    )
