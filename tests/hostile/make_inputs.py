"""Build the hostile input files that ``inputs.json`` cases name as ``{inputs}/<name>``.

Each builder writes one source (a folder, archive or file) from the in-repo
sample run, altered in one way an adversary or an accident would: file and
folder names that are not what they look like, layer files that declare
more than they hold, archives that repeat a member or unpack to far more
than their size. ``build(folder)`` writes them all; the test suite calls it
once per session (the files are made, not committed: some are links, one is
a megabyte of compressed zeros).
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

SAMPLE_RUN = Path(__file__).resolve().parents[2] / "examples" / "topo-sample" / "e5_s0_w0"


def _run(root: Path, epochs: tuple[str, ...] = ("epoch_000",)) -> Path:
    """``root/r/<epoch>`` copies of the sample's epoch folders; returns ``root/r``."""
    for name in epochs:
        shutil.copytree(SAMPLE_RUN / name, root / "r" / name)
    return root / "r"


def _epoch_named(name: str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        (root / "r").mkdir(parents=True)
        shutil.copytree(SAMPLE_RUN / "epoch_000", root / "r" / name)

    return build


def duplicate_layer_index(root: Path) -> None:
    """``weight_l0.npz`` beside ``weight_l00.npz``: both say layer 0."""
    run = _run(root)
    shutil.copy(run / "epoch_000" / "weight_l0.npz", run / "epoch_000" / "weight_l00.npz")


def missing_last_layer(root: Path) -> None:
    """Epoch 10 lacks the layer file the run's epoch 0 has."""
    run = _run(root, ("epoch_000", "epoch_010"))
    (run / "epoch_010" / "weight_l3.npz").unlink()


def symlinked_run(root: Path) -> None:
    """The run folder is a symbolic link to the sample run."""
    root.mkdir(parents=True)
    os.symlink(SAMPLE_RUN, root / "r")


def symlinked_layer(root: Path) -> None:
    """One layer file is a symbolic link."""
    run = _run(root)
    target = run / "epoch_000" / "weight_l3.npz"
    target.rename(root / "elsewhere.npz")
    os.symlink(root / "elsewhere.npz", target)


def _layer3(root: Path) -> tuple[Path, sp.csr_matrix]:
    run = _run(root)
    path = run / "epoch_000" / "weight_l3.npz"
    return path, sp.load_npz(path).tocsr()


def column_out_of_range(root: Path) -> None:
    """A CSR column index beyond the layer's width (scipy would drop its weight)."""
    path, m = _layer3(root)
    indices = m.indices.copy()
    indices[0] = 1_000_000
    np.savez(path, indices=indices, indptr=m.indptr, format=b"csr", shape=m.shape, data=m.data)


def coo_duplicate_entries(root: Path) -> None:
    """The same (row, column) stored twice in COO (scipy would add the weights up)."""
    path, m = _layer3(root)
    coo = m.tocoo()
    row, col, data = (np.append(a, a[0]) for a in (coo.row, coo.col, coo.data))
    np.savez(path, row=row, col=col, format=b"coo", shape=m.shape, data=data)


def _format(fmt: str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        path, m = _layer3(root)
        np.savez(path, format=fmt.encode(), shape=m.shape, data=np.ones(3))

    return build


def string_weights(root: Path) -> None:
    """Weights stored as strings."""
    path, m = _layer3(root)
    np.savez(
        path, indices=m.indices, indptr=m.indptr, format=b"csr", shape=m.shape,
        data=m.data.astype(str),
    )  # fmt: skip


def huge_declared_layer(root: Path) -> None:
    """A 1 KB file declaring a 10,000,001 x 10 matrix with two weights."""
    path, _ = _layer3(root)
    np.savez_compressed(
        path, row=np.array([0, 1], dtype=np.int32), col=np.array([0, 1], dtype=np.int32),
        format=b"coo", shape=np.array([10_000_001, 10]), data=np.ones(2),
    )  # fmt: skip


def nan_weight(root: Path) -> None:
    """One weight is NaN."""
    path, m = _layer3(root)
    m.data[0] = np.nan
    sp.save_npz(path, m)


def duplicated_tar_member(root: Path) -> None:
    """Two tar members with the same name (tarfile keeps the last one)."""
    root.mkdir(parents=True)
    with tarfile.open(root / "dup.tar", "w") as tf:
        for epoch in ("epoch_000", "epoch_010"):
            tf.add(SAMPLE_RUN / epoch / "weight_l0.npz", arcname="r/epoch_000/weight_l0.npz")
        for k in (1, 2, 3):
            tf.add(SAMPLE_RUN / "epoch_000" / f"weight_l{k}.npz", f"r/epoch_000/weight_l{k}.npz")


def duplicated_zip_member(root: Path) -> None:
    """Two zip members with the same name."""
    root.mkdir(parents=True)
    with zipfile.ZipFile(root / "dup.zip", "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": the point
        for epoch in ("epoch_000", "epoch_010"):
            zf.write(SAMPLE_RUN / epoch / "weight_l0.npz", "r/epoch_000/weight_l0.npz")


class _Zeros(io.RawIOBase):
    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        k = min(len(buf), self.left)
        buf[:k] = b"\0" * k
        self.left -= k
        return k


def tar_bomb(root: Path) -> None:
    """A .tgz of about 250 KB whose one member declares (and holds) 256 MiB of zeros."""
    root.mkdir(parents=True)
    with tarfile.open(root / "bomb.tgz", "w:gz", compresslevel=1) as tf:
        info = tarfile.TarInfo("r/epoch_000/weight_l0.npz")
        info.size = 256 << 20
        tf.addfile(info, io.BufferedReader(_Zeros(info.size), 1 << 20))


def zip_bomb(root: Path) -> None:
    """A zip whose one member inflates 256 MiB of zeros from a few hundred KB."""
    root.mkdir(parents=True)
    with zipfile.ZipFile(root / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("r/epoch_000/weight_l0.npz", "w", force_zip64=True) as out:
            chunk = b"\0" * (1 << 20)
            for _ in range(256):
                out.write(chunk)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "epoch-arabic-digit": _epoch_named("epoch_\u0663"),
    "epoch-fullwidth-digit": _epoch_named("epoch_\uff11"),
    "epoch-trailing-newline": _epoch_named("epoch_1\n"),
    "epoch-too-large": _epoch_named("epoch_99999999999999999999"),
    "duplicate-layer-index": duplicate_layer_index,
    "missing-last-layer": missing_last_layer,
    "symlinked-run": symlinked_run,
    "symlinked-layer": symlinked_layer,
    "column-out-of-range": column_out_of_range,
    "coo-duplicate-entries": coo_duplicate_entries,
    "format-dok": _format("dok"),
    "format-lil": _format("lil"),
    "string-weights": string_weights,
    "huge-declared-layer": huge_declared_layer,
    "nan-weight": nan_weight,
    "duplicated-tar-member": duplicated_tar_member,
    "duplicated-zip-member": duplicated_zip_member,
    "tar-bomb": tar_bomb,
    "zip-bomb": zip_bomb,
}


def build(folder: Path) -> None:
    """Write every input of :data:`BUILDERS` as ``folder/<name>``."""
    for name, make in BUILDERS.items():
        make(folder / name)
