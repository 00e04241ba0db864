"""PyTorch checkpoints (``.pt``, ``.pth``, ``.bin``, ``.ckpt``): ``torch.save`` files.

Read with ``torch.load(weights_only=True)`` only: its unpickler accepts
tensors and plain containers and refuses every other global, so a file
whose unpickling would run code is refused with a one-line error (nothing of
it runs). There is no fallback to ``weights_only=False``. One consequence: a
file holding a ``collections.defaultdict`` (a ``torch.ao.pruning``
sparsifier's ``state_dict()`` saved as torch returns it) cannot be read;
save ``dict(sparsifier.state_dict()["state"])`` instead.

Before loading, the declared sizes of a zip-format file's tensor records are
checked against the limits of :mod:`topograph.loaders.state_dict`; zip-format
files are memory-mapped (``mmap=True``), so a tensor is read when converted.

torch is an optional dependency (``pip install 'topograph[torch]'``); every
other format is read without it.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

from topograph.errors import InputError, first_line
from topograph.loaders.state_dict import SizeBudget, TensorSet, tensor_set_from_object

__all__ = ["read_torch"]

INSTALL_HINT = "pip install 'topograph[torch]'"


def _import_torch(where: str) -> Any:
    try:
        import torch
    except ImportError:
        raise InputError(f"{where}: reading PyTorch files needs torch: {INSTALL_HINT}") from None
    return torch


def _refusal(exc: BaseException) -> str:
    """The useful clause of torch's long weights_only message (it spans many lines)."""
    text = str(exc)
    m = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if m:
        return f"it names {m.group(1)}, which is not a tensor or a plain container"
    m = re.search(r"WeightsUnpickler error: (.+?)(?:\n|$)", text)
    if m:
        return m.group(1).strip().rstrip(".")
    return first_line(exc)


def _check_records(path: Path, where: str) -> bool:
    """Check a zip-format file's tensor records against the size limits; True when zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            budget = SizeBudget(where)
            for info in zf.infolist():
                if "/data/" in info.filename:
                    budget.check(info.filename, (info.file_size,), 1)
            return True
    except zipfile.BadZipFile:
        return False


def read_torch(path: Path, where: str | None = None) -> TensorSet:
    """Read a ``torch.save`` file safely into a :class:`TensorSet`.

    Raises :class:`InputError` when torch is missing, the pickle names
    anything but tensors and plain containers, or the file is corrupt.
    """
    where = where or str(path)
    torch = _import_torch(where)
    is_zip = _check_records(path, where)
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
        except RuntimeError as exc:
            if not is_zip or "mmap" not in str(exc):
                raise
            # a zip written before storages were aligned: read it into memory instead
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise InputError(
            f"{where}: refused to unpickle: {_refusal(exc)}; topograph reads PyTorch files "
            "with torch.load(weights_only=True) and never runs code from a file"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise InputError(
            f"{where}: corrupt or truncated PyTorch file ({first_line(exc)})"
        ) from None
    except MemoryError:
        raise InputError(f"{where}: declares tensors too large to load") from None
    except Exception as exc:  # torch's readers raise many types on damaged input
        raise InputError(f"{where}: unreadable PyTorch file ({first_line(exc)})") from None
    kind = "zip" if is_zip else "legacy"
    return tensor_set_from_object(
        obj,
        fmt=f"PyTorch torch.save ({kind} format), read with weights_only=True",
        convention="pytorch",
        where=where,
    )
