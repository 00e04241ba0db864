"""Loader for the layout of the NNSTD reference code (Liu et al., 2020).

Layout::

    <run>/epoch_<EEE>/weight_l<K>.npz     one scipy.sparse matrix per layer
    <run>/testacc.txt                     optional: test accuracy, one float a line

Each ``weight_l<K>.npz`` (written by ``scipy.sparse.save_npz``) has shape
``(n_in + 1, n_out)``: rows are input neurons and the **last row holds the
biases**. Layers ``K = 0, 1, ...`` must be contiguous; any count is accepted.

The source may be any folder that contains such checkpoints at any depth (a
single ``epoch_<EEE>`` folder, one run, or a folder of runs) or a ``.zip``,
``.tar``, ``.tar.gz`` archive of one (unpacked safely into a temporary folder,
see :mod:`topograph.loaders.archives`). Runs and epochs come from the paths:
the run is the name of the folder holding ``epoch_<EEE>``.

Accuracy mapping: ``testacc.txt`` line ``E + 1`` (1-based) is taken as the
accuracy of checkpoint ``epoch_<E>``, a convention of the published files. In
the published data line 1 ranges from 0.098 (w0) to 0.308 (w3): near chance
(0.10 on 10 classes) for some runs, clearly above it for others, so it is an
accuracy measured early in training rather than the untrained network's.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from topograph.errors import InputError, first_line
from topograph.loaders.archives import extract_archive, is_archive
from topograph.model import Checkpoint, CheckpointKey

__all__ = [
    "ACCURACY_FILE",
    "EPOCH_DIR",
    "LAYER_FILE",
    "ReferenceLayoutSource",
    "load_checkpoint_dir",
    "read_accuracy_curve",
]

#: An epoch folder of the reference layout, and a layer file inside it.
EPOCH_DIR = re.compile(r"^epoch_(\d+)$")
LAYER_FILE = re.compile(r"^weight_l(\d+)\.npz$")
ACCURACY_FILE = "testacc.txt"


def _layer_files(directory: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for entry in os.scandir(directory):
        m = LAYER_FILE.match(entry.name)
        if m and entry.is_file():
            found[int(m.group(1))] = Path(entry.path)
    return found


def _read_layer(path: Path, k: int, where: str) -> tuple[sp.csr_matrix, npt.NDArray[np.float32]]:
    try:
        matrix = sp.load_npz(path)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise InputError(
            f"{where}: layer {k} is not a readable scipy sparse .npz ({first_line(exc)})"
        ) from None
    if matrix.ndim != 2 or matrix.shape[0] < 2 or matrix.shape[1] < 1:
        raise InputError(
            f"{where}: layer {k} has shape {matrix.shape}; expected (inputs + 1 bias row, outputs)"
        )
    csr = sp.csr_matrix(matrix)
    bias = np.asarray(csr[-1].toarray(), dtype=np.float64).ravel()
    return csr[:-1], bias  # type: ignore[return-value]


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
    for k in range(len(files)):
        w, b = _read_layer(files[k], k, f"{where}/{files[k].name}")
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


class ReferenceLayoutSource:
    """Checkpoints in the reference layout, from a folder or an archive.

    Use as a context manager when the path may be an archive: the temporary
    folder it unpacks into is removed on exit. ``run`` renames the run when
    the source holds exactly one (useful for a bare ``epoch_<EEE>`` folder
    whose parent has an unhelpful name).

    Examples
    --------
    >>> with ReferenceLayoutSource(Path("topo.tar.gz")) as src:  # doctest: +SKIP
    ...     ckpt = src.load("e5_s0_w0", 190)
    """

    def __init__(self, path: Path | str, run: str | None = None) -> None:
        self.path = Path(path)
        self._tmp: Path | None = None
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file or folder")
        if self.path.is_dir():
            self.root = self.path
        elif is_archive(self.path):
            self._tmp = Path(tempfile.mkdtemp(prefix="topograph-"))
            self.root = self._tmp
        else:
            raise InputError(
                f"{self.path}: not a folder or a .zip/.tar/.tar.gz archive of checkpoints"
            )
        try:
            if self._tmp is not None:
                extract_archive(self.path, self._tmp)
            self._dirs = self._discover()
            if run is not None:
                runs = {key.run for key in self._dirs}
                if len(runs) != 1:
                    raise InputError(
                        f"{self.path}: --run renames a single run, but {len(runs)} runs were found"
                    )
                self._dirs = {CheckpointKey(run, k.epoch): d for k, d in self._dirs.items()}
        except BaseException:
            self.close()  # nobody else can: the object is never returned
            raise
        self._acc_cache: dict[str, npt.NDArray[np.float64] | None] = {}

    # -- lifetime ---------------------------------------------------------
    def close(self) -> None:
        """Remove the temporary folder of an unpacked archive (idempotent)."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> ReferenceLayoutSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def cache_key(self) -> object:
        """Names the checkpoints behind this source, for the workers' caches."""
        return ("files", str(self.root), tuple(self._dirs))

    # -- discovery --------------------------------------------------------
    def _discover(self) -> dict[CheckpointKey, Path]:
        found: dict[CheckpointKey, Path] = {}
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames.sort()
            here = Path(dirpath)
            m = EPOCH_DIR.match(here.name)
            if not m or not any(LAYER_FILE.match(f) for f in filenames):
                continue
            parent = here.resolve().parent
            if self._tmp is not None and parent == self._tmp.resolve():
                # An archive of bare epoch folders: the archive names the run.
                run = self.path.name.split(".")[0]
            else:
                run = parent.name
            key = CheckpointKey(run, int(m.group(1)))
            if key in found:
                raise InputError(
                    f"{self.path}: checkpoint {key} appears twice ({found[key]} and {here})"
                )
            found[key] = here
        if not found:
            raise InputError(
                f"{self.path}: no checkpoints found (expected <run>/epoch_<EEE>/weight_l<K>.npz)"
            )
        return dict(sorted(found.items()))

    def keys(self) -> list[CheckpointKey]:
        """Every checkpoint, sorted by run then epoch."""
        return list(self._dirs)

    def runs(self) -> list[str]:
        """Run names, sorted."""
        return sorted({k.run for k in self._dirs})

    def epochs(self, run: str | None = None) -> list[int]:
        """Epochs of ``run``, or epochs present in *every* run when ``run`` is None."""
        if run is not None:
            return sorted(k.epoch for k in self._dirs if k.run == run)
        per_run = [set(self.epochs(r)) for r in self.runs()]
        return sorted(set.intersection(*per_run))

    def __contains__(self, key: object) -> bool:
        return key in self._dirs

    def __iter__(self) -> Iterator[Checkpoint]:
        for key in self._dirs:
            yield self.load(*key)

    def __len__(self) -> int:
        return len(self._dirs)

    # -- loading ----------------------------------------------------------
    def accuracy_curve(self, run: str) -> npt.NDArray[np.float64] | None:
        """The run's ``testacc.txt`` as an array indexed by epoch, or None."""
        if run not in self._acc_cache:
            dirs = [d for k, d in self._dirs.items() if k.run == run]
            if not dirs:
                raise InputError(f"{self.path}: no run named {run!r}")
            acc_file = dirs[0].parent / ACCURACY_FILE
            self._acc_cache[run] = read_accuracy_curve(acc_file) if acc_file.is_file() else None
        return self._acc_cache[run]

    def load(self, run: str, epoch: int) -> Checkpoint:
        """Read one checkpoint; its accuracy comes from the run's curve when present."""
        key = CheckpointKey(run, int(epoch))
        if key not in self._dirs:
            raise InputError(f"{self.path}: no checkpoint {key} (runs: {', '.join(self.runs())})")
        curve = self.accuracy_curve(run)
        accuracy = float(curve[key.epoch]) if curve is not None and key.epoch < curve.size else None
        folder = self._dirs[key]
        return load_checkpoint_dir(folder, key.run, key.epoch, accuracy, where=self._where(folder))

    def _where(self, folder: Path) -> str:
        """A folder as users know it: inside an archive, ``archive:member/path``."""
        if self._tmp is None:
            return str(folder)
        return f"{self.path}:{folder.relative_to(self._tmp).as_posix()}"

    def resolve(self, run: str | None = None, epoch: int | None = None) -> CheckpointKey:
        """The one checkpoint matching ``run`` and ``epoch`` (either may be None).

        Raises :class:`InputError` when none or several match, listing them.
        """
        matches = [
            k
            for k in self._dirs
            if (run is None or k.run == run) and (epoch is None or k.epoch == epoch)
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise InputError(
                f"{self.path}: no checkpoint matches run={run} epoch={epoch}"
                f" (runs: {', '.join(self.runs())})"
            )
        shown = ", ".join(str(k) for k in matches[:6])
        more = " ..." if len(matches) > 6 else ""
        raise InputError(
            f"{self.path}: {len(matches)} checkpoints match ({shown}{more}); "
            "name a run and an epoch"
        )
