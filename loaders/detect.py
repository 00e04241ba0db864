"""What a file is, from its first bytes and (for zips) its member names.

Checkpoint files are chosen by content, not by name: a ``.bin`` may be a
PyTorch zip, a ``.h5`` a Keras 3 weights file or a legacy Keras model, a
``.zip`` an archive of runs or a ``torch.save`` under another name. The rules,
in order:

=============================  ==============================================
first bytes / members          kind
=============================  ==============================================
``PK`` zip with ``*/data.pkl``  ``torch``: ``torch.save`` (zip format, torch >= 1.6)
zip with ``config.json`` and    ``keras``: a Keras 3 ``.keras`` file
``model.weights.h5``
zip of ``.npy`` members only    ``npz`` (or ``sparse-npz`` when the members are
                                ``scipy.sparse.save_npz``'s ``data``,
                                ``indices``, ``indptr``, ``format``, ``shape``:
                                one layer of the reference layout)
any other zip                   ``zip``: an archive of checkpoints
``PK`` but no readable zip      ``broken-zip`` (truncated or corrupt)
``\\x89HDF\\r\\n\\x1a\\n`` at 0,   ``hdf5``: Keras ``.weights.h5`` / legacy ``.h5``
512, 1024, 2048 or 4096
8-byte little-endian length,    ``safetensors`` (the length is checked later,
then ``{``                      against the file size)
pickle protocol 2 whose first   ``torch-legacy``: ``torch.save`` before the zip
object is torch's magic number  format (``_use_new_zipfile_serialization=False``)
any other pickle (``\\x80``       ``pickle``: refused, unpickling can run code
and a protocol 2 to 5)
``ustar`` at 257                ``tar``
gzip, bzip2 or xz magic         ``tar`` (compressed; a tar is expected inside)
anything else                   ``unknown``
=============================  ==============================================

Reading ends at the first bytes (and a zip's central directory): sniffing a
folder of large checkpoints costs a few reads per file.
"""

from __future__ import annotations

import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "ARCHIVE_KINDS",
    "CHECKPOINT_KINDS",
    "CHECKPOINT_SUFFIXES",
    "Detected",
    "FileKind",
    "sniff",
    "suffix_kind",
]

FileKind = Literal[
    "torch",
    "torch-legacy",
    "pickle",
    "safetensors",
    "hdf5",
    "keras",
    "npz",
    "sparse-npz",
    "zip",
    "broken-zip",
    "tar",
    "unknown",
]

#: Kinds that hold one checkpoint each (``pickle`` is one, refused when read).
CHECKPOINT_KINDS: frozenset[str] = frozenset(
    {"torch", "torch-legacy", "pickle", "safetensors", "hdf5", "keras", "npz"}
)
#: Kinds that are archives of checkpoints.
ARCHIVE_KINDS: frozenset[str] = frozenset({"zip", "tar"})

#: File names that announce a checkpoint: used only to say what a file that
#: cannot be sniffed (truncated, corrupt) was meant to be, so that it is
#: reported rather than silently passed over.
CHECKPOINT_SUFFIXES: dict[str, FileKind] = {
    ".pt": "torch",
    ".pth": "torch",
    ".bin": "torch",
    ".ckpt": "torch",
    ".safetensors": "safetensors",
    ".keras": "keras",
    ".weights.h5": "hdf5",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".npz": "npz",
}

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_HDF5_OFFSETS = (0, 512, 1024, 2048, 4096)
#: torch.serialization.MAGIC_NUMBER pickled with protocol 2 (LONG1, 10 bytes).
_TORCH_LEGACY_PREFIX = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
_SPARSE_NPZ_MEMBERS = {"data.npy", "indices.npy", "indptr.npy", "format.npy", "shape.npy"}
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


@dataclass(frozen=True)
class Detected:
    """A file's kind and the evidence for it (shown by ``topograph inspect``)."""

    kind: FileKind
    why: str


def suffix_kind(path: Path) -> FileKind | None:
    """The kind a file's name announces (``.weights.h5`` before ``.h5``), or None."""
    name = path.name.lower()
    for suffix in sorted(CHECKPOINT_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return CHECKPOINT_SUFFIXES[suffix]
    return None


def _zip_kind(path: Path) -> Detected:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return Detected("broken-zip", f"zip signature but no readable zip directory ({exc})")
    tops = {n.split("/", 1)[0] for n in names}
    if any(n.count("/") == 1 and n.endswith("/data.pkl") for n in names) and len(tops) == 1:
        return Detected("torch", "zip holding <name>/data.pkl (torch.save)")
    if "config.json" in names and "model.weights.h5" in names:
        return Detected("keras", "zip holding config.json and model.weights.h5 (Keras 3)")
    if names and all(n.endswith(".npy") and "/" not in n for n in names):
        if set(names) <= _SPARSE_NPZ_MEMBERS and "indptr.npy" in names:
            return Detected("sparse-npz", "zip of data/indices/indptr .npy (scipy.sparse)")
        return Detected("npz", "zip of .npy members (numpy.savez)")
    return Detected("zip", "zip archive")


def sniff(path: str | os.PathLike[str]) -> Detected:
    """The kind of the file at ``path`` from its content (see the module doc)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4096 + 8)
            hdf5 = head[:8] == _HDF5_MAGIC
            for offset in _HDF5_OFFSETS[1:]:
                if hdf5 or offset >= size:
                    break
                fh.seek(offset)
                hdf5 = fh.read(8) == _HDF5_MAGIC
    except OSError as exc:
        return Detected("unknown", f"unreadable ({exc.strerror or exc})")
    if head[:2] == b"PK":
        return _zip_kind(path)
    if hdf5:
        return Detected("hdf5", "HDF5 signature")
    if head.startswith(_TORCH_LEGACY_PREFIX):
        return Detected("torch-legacy", "pickle starting with torch's magic number (legacy format)")
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return Detected("pickle", f"a pickle (protocol {head[1]}) that is not a PyTorch file")
    if len(head) >= 9 and head[8:9] == b"{":
        (n,) = struct.unpack("<Q", head[:8])
        return Detected("safetensors", f"8-byte header length {n} then a JSON header")
    if len(head) > 262 and head[257:262] == b"ustar":
        return Detected("tar", "tar archive")
    if head.startswith(_COMPRESSED_MAGIC):
        return Detected("tar", "compressed stream (gzip, bzip2 or xz): a tar archive expected")
    return Detected("unknown", "no known signature")
