"""Loader for the layout of the NNSTD reference code (Liu et al., 2020).

Layout::

    <run>/epoch_<EEE>/weight_l<K>.npz     one scipy.sparse matrix per layer
    <run>/testacc.txt                     optional: test accuracy, one float a line

Each ``weight_l<K>.npz`` (written by ``scipy.sparse.save_npz``) has shape
``(n_in + 1, n_out)``: rows are input neurons and the **last row holds the
biases**. Layers ``K = 0, 1, ...`` must be contiguous; any count is accepted.

This module reads one epoch folder; :class:`~topograph.loaders.files.FilesSource`
finds them in any folder or archive (at any depth, beside checkpoints of
other formats), naming the run after the folder holding ``epoch_<EEE>``.

Accuracy mapping: ``testacc.txt`` line ``E + 1`` (1-based) is taken as the
accuracy of checkpoint ``epoch_<E>``, a convention of the published files. In
the published data line 1 ranges from 0.098 (w0) to 0.308 (w3): near chance
(0.10 on 10 classes) for some runs, clearly above it for others, so it is an
accuracy measured early in training rather than the untrained network's.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from topograph.errors import InputError, first_line
from topograph.loaders.limits import (
    FREE_NEURONS,
    EdgeTally,
    check_layer_neurons,
    neurons_per_byte,
)
from topograph.loaders.npz_dict import check_npz_members
from topograph.model import Checkpoint

__all__ = [
    "ACCURACY_FILE",
    "EPOCH_DIR",
    "LAYER_FILE",
    "MAX_EPOCH",
    "SPARSE_FORMATS",
    "epoch_number",
    "load_checkpoint_dir",
    "read_accuracy_curve",
    "read_sparse_layer",
]

#: An epoch folder of the reference layout, and a layer file inside it.
#: Both are used with ``fullmatch`` and ASCII digits only: ``epoch_\u0663`` (an
#: Arabic-Indic three) or ``epoch_1\\n`` is not an epoch folder.
EPOCH_DIR = re.compile(r"epoch_([0-9]+)", re.ASCII)
LAYER_FILE = re.compile(r"weight_l([0-9]+)\.npz", re.ASCII)
ACCURACY_FILE = "testacc.txt"


#: Largest epoch (or step) number: the stores keep epochs as signed 64-bit integers.
MAX_EPOCH = 2**63 - 1


def epoch_number(digits: str, where: str) -> int:
    """An epoch from its ASCII digits, refused when a store could not hold it."""
    if len(digits) > 19 or int(digits) > MAX_EPOCH:
        raise InputError(f"{where}: epoch {digits[:30]} is larger than {MAX_EPOCH:,}")
    return int(digits)


def _layer_files(directory: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for entry in os.scandir(directory):
        m = LAYER_FILE.fullmatch(entry.name)
        if m and entry.is_file(follow_symlinks=False):
            k = int(m.group(1))
            if k in found:
                raise InputError(
                    f"{directory}: {found[k].name} and {entry.name} both name layer {k}"
                )
            found[k] = Path(entry.path)
    return found


#: Formats ``scipy.sparse.save_npz`` writes, and so the ones a layer file may hold.
SPARSE_FORMATS = ("csr", "csc", "coo", "bsr", "dia")


def read_sparse_layer(path: Path, where: str) -> sp.csr_matrix:
    """One ``scipy.sparse.save_npz`` matrix, refused unless it is exactly what it declares.

    Checked before the matrix is built: the members' ``.npy`` headers (sizes,
    no Python objects), a format ``save_npz`` writes, a 2-D ``shape`` within
    the neuron limits (:mod:`topograph.loaders.limits`), numeric data. Checked
    after: every index inside the shape and no (row, column) stored twice,
    since scipy would otherwise drop the one or add up the other, silently
    changing the topology. Returns the matrix as canonical CSR.
    """
    try:
        declared = check_npz_members(path, where)
        if "format" not in declared or "shape" not in declared:
            raise InputError(f"{where}: not a scipy.sparse .npz (no 'format' and 'shape' arrays)")
        with np.load(path, allow_pickle=False) as npz:
            fmt = npz["format"].item()
            shape_arr = npz["shape"]
        fmt = fmt.decode("ascii", "replace") if isinstance(fmt, bytes) else str(fmt)
        if fmt not in SPARSE_FORMATS:
            raise InputError(
                f"{where}: sparse format {fmt[:20]!r} is not one scipy.sparse.save_npz writes "
                f"({', '.join(SPARSE_FORMATS)})"
            )
        if shape_arr.shape != (2,) or shape_arr.dtype.kind not in "iu":
            raise InputError(f"{where}: 'shape' must be two whole numbers, not {shape_arr!r:.60}")
        rows, cols = (int(x) for x in shape_arr)
        _check_neurons(path, where, rows, cols)
        data = declared.get("data")
        if data is None or data[1].kind not in "biuf":
            kind = "missing" if data is None else f"of dtype {data[1]}"
            raise InputError(f"{where}: weights are {kind}; expected numbers")
        matrix = sp.load_npz(path)
        _check_indices(matrix, fmt)
        stored = matrix.nnz
        csr = sp.csr_matrix(matrix)
        csr.sum_duplicates()
    except InputError:
        raise
    except (OSError, ValueError, KeyError, EOFError, IndexError, TypeError,
            NotImplementedError, zipfile.BadZipFile, zlib.error) as exc:  # fmt: skip
        raise InputError(f"{where}: not a readable scipy sparse .npz ({first_line(exc)})") from None
    if fmt in ("csr", "csc", "coo") and csr.nnz != stored:
        raise InputError(
            f"{where}: {stored - csr.nnz} (row, column) positions are stored twice; "
            "scipy would add their weights up"
        )
    return csr


def _check_neurons(path: Path, where: str, rows: int, cols: int) -> None:
    if rows < 0 or cols < 0:
        raise InputError(f"{where}: declares a negative shape ({rows}, {cols})")
    check_layer_neurons(where, max(rows - 1, 0), cols)  # the last row is the bias
    per_byte = neurons_per_byte()
    size = path.stat().st_size
    if rows + cols > max(FREE_NEURONS, per_byte * size):
        raise InputError(
            f"{where}: declares {rows + cols:,} neurons in a {size:,}-byte file, over "
            f"{per_byte} per byte (TOPOGRAPH_NEURONS_PER_BYTE); refused before reading"
        )


def _check_indices(matrix: sp.spmatrix, fmt: str) -> None:
    """Raise ValueError for an index outside the shape (scipy checks only some)."""
    if fmt in ("csr", "csc", "bsr"):
        matrix.check_format(full_check=True)
    elif fmt == "coo":
        n_rows, n_cols = matrix.shape
        for name, idx, bound in (("row", matrix.row, n_rows), ("column", matrix.col, n_cols)):
            if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= bound):
                raise ValueError(f"a {name} index lies outside the shape {matrix.shape}")


def _read_layer(path: Path, k: int, where: str) -> tuple[sp.csr_matrix, npt.NDArray[np.float32]]:
    matrix = read_sparse_layer(path, where)
    if matrix.ndim != 2 or matrix.shape[0] < 2 or matrix.shape[1] < 1:
        raise InputError(
            f"{where}: layer {k} has shape {matrix.shape}; expected (inputs + 1 bias row, outputs)"
        )
    bias = np.asarray(matrix[-1].toarray(), dtype=np.float64).ravel()
    return matrix[:-1], bias  # type: ignore[return-value]


def read_accuracy_curve(path: Path) -> npt.NDArray[np.float64]:
    """Parse a ``testacc.txt``: one float a line; index ``E`` is epoch ``E``'s accuracy."""
    try:
        values = [float(line) for line in path.read_text().split()]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a list of accuracies, one float a line ({exc})") from None
    arr = np.asarray(values, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise InputError(f"{path}: accuracy values must be finite numbers")
    return arr


def load_checkpoint_dir(
    directory: Path,
    run: str,
    epoch: int,
    accuracy: float | None = None,
    where: str | None = None,
) -> Checkpoint:
    """Read one ``epoch_<EEE>`` folder into a :class:`Checkpoint`.

    Raises :class:`InputError` naming the file for a missing layer (a gap in
    ``K``), an unreadable or mis-shaped ``.npz``, NaN weights, or layers that
    do not chain. ``where`` names the folder in messages and provenance (for
    an archive, ``archive:member``); default: the folder itself.
    """
    where = where or str(directory)
    files = _layer_files(directory)
    if not files:
        raise InputError(f"{where}: no weight_l<K>.npz files")
    for k in range(max(files) + 1):
        if k not in files:
            raise InputError(f"{where}: missing layer file weight_l{k}.npz")
    layers: list[sp.csr_matrix] = []
    biases: list[npt.NDArray[np.float32]] = []
    tally = EdgeTally(where)
    for k in range(len(files)):
        w, b = _read_layer(files[k], k, f"{where}/{files[k].name}")
        tally.add(w.nnz)
        layers.append(w)
        biases.append(b)
    return Checkpoint(
        run=run,
        epoch=epoch,
        layers=tuple(layers),
        biases=tuple(biases),
        source=where,
        accuracy=accuracy,
    )
