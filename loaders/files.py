"""Checkpoint files from a folder, an archive, or one file: runs, epochs, accuracy.

:class:`FilesSource` is what :func:`topograph.loaders.open_source` returns.
It finds, at any depth:

* checkpoint files of every format (:mod:`~topograph.loaders.detect` decides
  by content: ``.pt``/``.pth``/``.bin``/``.ckpt``, ``.safetensors``,
  ``.keras``, ``.weights.h5``/``.h5``, ``.npz``); a file whose name promises
  a checkpoint but whose content is unreadable is kept, so that loading it
  reports the damage instead of passing over it;
* folders of the NNSTD reference layout (``<run>/epoch_<EEE>/weight_l<K>.npz``,
  :mod:`~topograph.loaders.reference_layout`), named as that layout names them.

**Epochs**, from the path relative to the source, first rule that applies:

1. ``--pattern REGEX``: ``re.search`` on the relative path (``/``-separated);
   the named groups ``run`` and ``epoch`` give the run and the epoch. Files
   it does not match are left out (listed in :attr:`FilesSource.ignored`).
2. The file name (suffixes removed): ``epoch`` followed by a number
   (``epoch=12``, ``epoch-3``, ``epoch_003``, ``checkpoint_epoch3``,
   ``model_epoch_03``, ``epoch=3-step=100``); else ``ckpt``, ``checkpoint``,
   ``ep``, ``step``, ``iter``, ``model`` or ``weights`` followed by a number
   (``ckpt_0012``, ``weights.03-0.45``); else a name that is only digits
   (``0012.pt``).
3. The folder holding the file, by the same rules (``epoch_003/model.pt``,
   ``checkpoint-500/model.safetensors``); the run is then the folder above.
4. An ``epoch`` stored inside the file (a ``.pt`` wrapper, safetensors
   metadata, a 0-d ``epoch`` array in an ``.npz``).
5. Otherwise epoch 0 (two such files in one run collide: use ``--pattern``).

**Runs**: the path of the run's folder (the file's folder, or the one above
under rule 3) relative to the source, ``/``-separated, so that
``set-mlp/pt/run-0`` and ``cnn/pt/run-0`` stay apart; a file directly in the
source folder takes the folder's name, and a single file its parent folder's
name (an archive: its name without suffixes). The reference layout keeps its
own rule: the name of the folder holding ``epoch_<EEE>``.

**Accuracy**: a value stored in the checkpoint (``accuracy``, ``acc``,
``test_accuracy``, ``test_acc``, ``val_accuracy``, ``val_acc``); else a
side file ``metrics.csv`` or ``metrics.json`` beside the checkpoint or in its
run's folder, with an ``epoch`` column and one of those accuracy columns
(JSON: a list of records, or a dict of columns); else unknown. The reference
layout's ``testacc.txt`` as before.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np
import numpy.typing as npt

from topograph.errors import InputError
from topograph.loaders.archives import extract_archive
from topograph.loaders.detect import (
    ARCHIVE_KINDS,
    CHECKPOINT_KINDS,
    CHECKPOINT_SUFFIXES,
    Detected,
    sniff,
    suffix_kind,
)
from topograph.loaders.mapping import LayerMapping, read_mapping
from topograph.loaders.reference_layout import (
    ACCURACY_FILE,
    EPOCH_DIR,
    LAYER_FILE,
    MAX_EPOCH,
    epoch_number,
    load_checkpoint_dir,
    read_accuracy_curve,
)
from topograph.loaders.state_dict import (
    ACCURACY_KEYS,
    Inspection,
    LayerReport,
    TensorSet,
    to_checkpoint,
)
from topograph.model import Checkpoint, CheckpointKey

__all__ = [
    "METRICS_FILES",
    "FilesSource",
    "SourceOptions",
    "epoch_from_name",
    "read_checkpoint_file",
    "read_metrics",
]

#: Side files read for accuracy, in this order.
METRICS_FILES = ("metrics.csv", "metrics.json")

# ASCII digits only (re.ASCII, [0-9]): "epoch_\u0663" or a full-width "\uff11" is
# not an epoch number, and "\Z" (not "$") so that "0012\n" is not "0012".
_EPOCH_WORD = re.compile(r"(?i)(?<![a-z])epochs?[=_\-. ]?([0-9]+)", re.ASCII)
_NUMBER_WORD = re.compile(
    r"(?i)(?<![a-z])(?:ckpt|checkpoint|ep|step|iter|model|weights)[=_\-. ]?([0-9]+)", re.ASCII
)
_DIGITS = re.compile(r"([0-9]+)\Z", re.ASCII)
#: A folder name that means an epoch but is not one topograph reads.
_EPOCHISH = re.compile(r"(?i)epoch")


@dataclass(frozen=True)
class SourceOptions:
    """How a source names and reads its checkpoints (one object passed through).

    ``pattern``: a regex searched on each file's path relative to the source,
    with named groups ``run`` and/or ``epoch``; ``mapping``: a TOML layer
    mapping (:mod:`topograph.loaders.mapping`) applied to every file;
    ``follow_links``: read through symbolic links inside a source folder
    (without it, a link is refused: skipping it would drop data silently).
    """

    pattern: str | None = None
    mapping: str | Path | None = None
    follow_links: bool = False


def epoch_from_name(name: str, where: str | None = None) -> int | None:
    """The epoch a file or folder name gives (rule 2 of the module doc), or None.

    Raises :class:`InputError` (naming ``where``, default the name) for a
    number too large for a store (:data:`MAX_EPOCH`).
    """
    for rx in (_EPOCH_WORD, _NUMBER_WORD):
        m = rx.search(name)
        if m:
            return epoch_number(m.group(1), where or name)
    m = _DIGITS.fullmatch(name)
    return epoch_number(m.group(1), where or name) if m else None


def _stem(name: str) -> str:
    lower = name.lower()
    for suffix in sorted(CHECKPOINT_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name.rsplit(".", 1)[0] if "." in name[1:] else name


# -- reading one file ---------------------------------------------------------------
def read_checkpoint_file(path: Path, where: str, detected: Detected | None = None) -> TensorSet:
    """The :class:`TensorSet` of one checkpoint file, by its detected kind.

    A file whose content is not recognised but whose name promises a format
    goes to that format's reader, which reports the damage (truncated,
    corrupt) in one line.
    """
    from topograph.loaders import keras_file, npz_dict, safetensors_file, torch_file

    detected = detected or sniff(path)
    kind = detected.kind
    if kind == "broken-zip":
        raise InputError(f"{where}: corrupt or truncated zip container ({detected.why})")
    if kind == "unknown":
        expected = suffix_kind(path)
        if expected in ("safetensors", "hdf5"):
            kind = expected  # its reader says what is wrong (too short, no valid header)
        elif expected is not None:
            raise InputError(
                f"{where}: corrupt or not a {expected} file: neither a zip nor a pickle "
                f"({detected.why})"
            )
    if kind == "pickle":
        raise InputError(
            f"{where}: a pickle that is not a PyTorch file; refused without unpickling "
            "(unpickling can run code)"
        )
    if kind in ("torch", "torch-legacy"):
        return torch_file.read_torch(path, where)
    if kind == "safetensors":
        return safetensors_file.read_safetensors(path, where)
    if kind == "keras":
        return keras_file.read_keras(path, where)
    if kind == "hdf5":
        return keras_file.read_h5(path, where)
    if kind == "npz":
        return npz_dict.read_npz(path, where)
    if kind == "sparse-npz":
        raise InputError(
            f"{where}: a scipy.sparse matrix (one layer file of the reference layout), not a "
            "checkpoint; give the folder holding epoch_<EEE>/weight_l<K>.npz"
        )
    raise InputError(f"{where}: {detected.why}: not a checkpoint file")


# -- metrics side files -------------------------------------------------------------------
def _accuracy_column(columns: list[str]) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for key in ACCURACY_KEYS:
        if key in lower:
            return lower[key]
    return None


def _records_to_curve(records: list[dict[str, object]], path: Path) -> dict[int, float]:
    if not records:
        return {}
    columns = list(records[0])
    epoch_col = next((c for c in columns if c.strip().lower() == "epoch"), None)
    acc_col = _accuracy_column(columns)
    if epoch_col is None or acc_col is None:
        raise InputError(
            f"{path}: needs an 'epoch' column and an accuracy column "
            f"({', '.join(ACCURACY_KEYS)}); found {', '.join(columns)}"
        )
    curve: dict[int, float] = {}
    for i, row in enumerate(records):
        raw_epoch, raw_acc = row.get(epoch_col), row.get(acc_col)
        if raw_acc in (None, ""):
            continue
        try:
            epoch = int(str(raw_epoch))
            acc = float(str(raw_acc))
        except ValueError:
            raise InputError(
                f"{path}: row {i + 1}: epoch {raw_epoch!r} or accuracy {raw_acc!r} is not a number"
            ) from None
        if not math.isfinite(acc):
            raise InputError(f"{path}: row {i + 1}: accuracy {raw_acc!r} is not finite")
        curve[epoch] = acc
    return curve


def read_metrics(path: Path) -> dict[int, float]:
    """Epoch -> accuracy from a ``metrics.csv`` or ``metrics.json`` (see the module doc)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: unreadable metrics file ({exc})") from None
    if path.suffix == ".csv":
        return _records_to_curve(list(csv.DictReader(text.splitlines())), path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()) and data:
        lengths = {len(v) for v in data.values()}
        if len(lengths) != 1:
            raise InputError(f"{path}: columns of different lengths")
        n = lengths.pop()
        data = [{k: v[i] for k, v in data.items()} for i in range(n)]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path}: expected a list of records or a dict of columns")
    return _records_to_curve(data, path)


# -- the source ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Item:
    """One checkpoint found: a file, or a reference-layout epoch folder."""

    kind: Literal["file", "refdir"]
    path: Path
    run_dir: Path
    epoch_from: str
    detected: Detected | None = None


class FilesSource:
    """Checkpoints in a folder, an archive, or a single file (see the module doc).

    Use as a context manager when the path may be an archive: the temporary
    folder it unpacks into is removed on exit. ``run`` renames the run of a
    source holding exactly one. ``options``: :class:`SourceOptions`.

    Examples
    --------
    >>> with FilesSource("runs/") as src:  # doctest: +SKIP
    ...     ckpt = src.load("set-mlp/run-0", 3)
    ...     print(src.inspect("set-mlp/run-0", 3).to_text())
    """

    def __init__(
        self,
        path: str | Path,
        run: str | None = None,
        options: SourceOptions | None = None,
    ) -> None:
        self.path = Path(path)
        self.options = options or SourceOptions()
        self.mapping: LayerMapping | None = (
            read_mapping(self.options.mapping) if self.options.mapping is not None else None
        )
        self._pattern: re.Pattern[str] | None = None
        if self.options.pattern is not None:
            try:
                self._pattern = re.compile(self.options.pattern)
            except re.error as exc:
                raise InputError(
                    f"--pattern {self.options.pattern!r}: not a regex ({exc})"
                ) from None
            if not {"run", "epoch"} & set(self._pattern.groupindex):
                raise InputError(
                    f"--pattern {self.options.pattern!r}: needs a named group (?P<epoch>...) "
                    "and/or (?P<run>...)"
                )
        self._tmp: Path | None = None
        self.ignored: list[tuple[str, str]] = []
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file or folder")
        self._single: Path | None = None
        if self.path.is_dir():
            self.root = self.path
        else:
            detected = sniff(self.path)
            if detected.kind in ARCHIVE_KINDS or (
                detected.kind in ("unknown", "broken-zip")
                and self.path.name.lower().endswith((".zip", ".tar", ".tar.gz", ".tgz"))
            ):
                self._tmp = Path(tempfile.mkdtemp(prefix="topograph-"))
                self.root = self._tmp
            elif detected.kind in CHECKPOINT_KINDS or suffix_kind(self.path) is not None:
                self._single = self.path
                self.root = self.path.parent
            else:
                raise InputError(
                    f"{self.path}: not a checkpoint file, a folder or an archive of checkpoints "
                    f"({detected.why})"
                )
        try:
            if self._tmp is not None:
                extract_archive(self.path, self._tmp)
            self._items = self._discover()
            if run is not None:
                runs = {key.run for key in self._items}
                if len(runs) != 1:
                    raise InputError(
                        f"{self.path}: --run renames a single run, but {len(runs)} runs were found"
                    )
                self._items = {CheckpointKey(run, k.epoch): v for k, v in self._items.items()}
        except BaseException:
            self.close()  # nobody else can: the object is never returned
            raise
        self._metrics: dict[Path, tuple[dict[int, float], Path] | None] = {}
        self._curves: dict[Path, npt.NDArray[np.float64] | None] = {}

    # -- lifetime -----------------------------------------------------------------
    def close(self) -> None:
        """Remove the temporary folder of an unpacked archive (idempotent)."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> FilesSource:
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
        return ("files", str(self.root), tuple(self._items), self.options)

    # -- discovery ------------------------------------------------------------------
    def _root_name(self) -> str:
        if self._tmp is not None:
            return self.path.name.split(".")[0] or "run"
        return self.root.resolve().name or "run"

    def _run_name(self, run_dir: Path) -> str:
        try:
            rel = run_dir.relative_to(self.root)
        except ValueError:  # above the source: a single file, or a bare epoch folder
            return self._root_name() if self._tmp is not None else run_dir.resolve().name or "run"
        return rel.as_posix() if rel.parts else self._root_name()

    def _where(self, path: Path) -> str:
        """A path as users know it: inside an archive, ``archive:member/path``."""
        if self._tmp is None:
            return str(path)
        return f"{self.path}:{path.relative_to(self._tmp).as_posix()}"

    def _walk(self) -> Iterator[tuple[Path, list[str]]]:
        """Every folder under the source with its file names, sorted.

        A symbolic link inside the source (to a folder or a file) is refused
        unless ``follow_links`` is set: passing over it would drop its runs
        silently, following it unasked may read far outside the source. When
        followed, a folder reached twice (a link cycle) is read once.
        """
        if self._single is not None:
            yield self.root, [self._single.name]
            return
        follow = self.options.follow_links
        seen: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=follow):
            here = Path(dirpath)
            real = os.path.realpath(here)
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            if not follow:
                for name in [*dirnames, *filenames]:
                    if (here / name).is_symlink():
                        raise InputError(
                            f"{self._where(here / name)}: a symbolic link; topograph does not "
                            "follow links unless asked (--follow-links)"
                        )
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            yield here, sorted(filenames)

    def _discover(self) -> dict[CheckpointKey, _Item]:
        found: dict[CheckpointKey, _Item] = {}

        def add(key: CheckpointKey, item: _Item) -> None:
            if key in found:
                raise InputError(
                    f"{self.path}: checkpoint {key} appears twice ({self._where(found[key].path)} "
                    f"and {self._where(item.path)}); name runs and epochs with --pattern"
                )
            found[key] = item

        layer_counts: dict[Path, dict[Path, int]] = {}
        for here, filenames in self._walk():
            m = EPOCH_DIR.fullmatch(here.name)
            layer_files = [f for f in filenames if LAYER_FILE.fullmatch(f)]
            if self._single is None and layer_files and m is None and _EPOCHISH.search(here.name):
                raise InputError(
                    f"{self._where(here)}: holds weight_l<K>.npz files but its name is not "
                    "epoch_ followed by ASCII digits"
                )
            if self._single is None and m and layer_files:
                parent = here.parent
                run = (
                    self._root_name()
                    if self._tmp is not None and parent.resolve() == self._tmp.resolve()
                    else parent.resolve().name
                )
                add(
                    CheckpointKey(run, epoch_number(m.group(1), self._where(here))),
                    _Item("refdir", here, parent, "reference layout folder name"),
                )
                indices = [int(LAYER_FILE.fullmatch(f).group(1)) for f in layer_files]
                layer_counts.setdefault(parent, {})[here] = max(indices) + 1
                filenames = [f for f in filenames if not LAYER_FILE.fullmatch(f)]
            for name in filenames:
                path = here / name
                if not path.is_file():
                    continue
                self._add_file(path, add)
        self._check_layer_counts(layer_counts)
        if not found:
            patterned = " matching --pattern" if self._pattern is not None else ""
            raise InputError(
                f"{self.path}: no checkpoints found{patterned} (checkpoint files such as .pt, "
                ".safetensors, .keras, .weights.h5, .npz, or <run>/epoch_<EEE>/weight_l<K>.npz)"
            )
        return dict(sorted(found.items()))

    def _check_layer_counts(self, counts: dict[Path, dict[Path, int]]) -> None:
        """Refuse an epoch folder with fewer layer files than its run's others.

        A missing last layer file would otherwise be read as a shorter network
        (the gap check inside one folder cannot see it).
        """
        for folders in counts.values():
            most = max(folders.values())
            for folder, n in folders.items():
                if n < most:
                    raise InputError(
                        f"{self._where(folder)}: {n} layer files (weight_l0..{n - 1}.npz) where "
                        f"the run's other epochs have {most}; is weight_l{n}.npz missing?"
                    )

    def _add_file(self, path: Path, add: object) -> None:
        detected = sniff(path)
        rel = path.relative_to(self.root).as_posix()
        if detected.kind not in CHECKPOINT_KINDS and self._single is None:
            if suffix_kind(path) is None or detected.kind in ARCHIVE_KINDS | {"sparse-npz"}:
                if detected.kind in ARCHIVE_KINDS:
                    self.ignored.append((rel, "an archive inside the source: not unpacked"))
                return
        run: str | None = None
        epoch: int | None = None
        epoch_from = ""
        run_dir = path.parent
        if self._pattern is not None:
            m = self._pattern.search(rel)
            if m is None:
                self.ignored.append((rel, "does not match --pattern"))
                return
            groups = m.groupdict()
            if groups.get("run"):
                run = groups["run"]
            if groups.get("epoch") is not None:
                if not re.fullmatch("[0-9]+", groups["epoch"], re.ASCII):
                    raise InputError(
                        f"{self._where(path)}: --pattern gives epoch {groups['epoch']!r}, "
                        "not a number (ASCII digits)"
                    )
                epoch = epoch_number(groups["epoch"], self._where(path))
                epoch_from = "--pattern"
        if epoch is None:
            epoch = epoch_from_name(_stem(path.name), self._where(path))
            epoch_from = "file name" if epoch is not None else ""
        if epoch is None:
            folder_epoch = epoch_from_name(path.parent.resolve().name, self._where(path))
            if folder_epoch is not None:
                epoch, epoch_from, run_dir = folder_epoch, "folder name", path.parent.parent
        if epoch is None:
            try:
                inner = read_checkpoint_file(path, self._where(path), detected).epoch
            except InputError:
                inner = None  # reported when it is loaded
            if inner is not None and not -MAX_EPOCH <= inner <= MAX_EPOCH:
                raise InputError(f"{self._where(path)}: stored epoch {inner} is out of range")
            epoch, epoch_from = (
                (inner, "stored in the file")
                if inner is not None
                else (0, "none in the name or the file: 0")
            )
        key = CheckpointKey(run if run is not None else self._run_name(run_dir), epoch)
        add(key, _Item("file", path, run_dir, epoch_from, detected))  # type: ignore[operator]

    # -- what is here -------------------------------------------------------------
    def keys(self) -> list[CheckpointKey]:
        """Every checkpoint, sorted by run then epoch."""
        return list(self._items)

    def runs(self) -> list[str]:
        """Run names, sorted."""
        return sorted({k.run for k in self._items})

    def epochs(self, run: str | None = None) -> list[int]:
        """Epochs of ``run``, or epochs present in *every* run when ``run`` is None."""
        if run is not None:
            return sorted(k.epoch for k in self._items if k.run == run)
        per_run = [set(self.epochs(r)) for r in self.runs()]
        return sorted(set.intersection(*per_run))

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[Checkpoint]:
        for key in self._items:
            yield self.load(*key)

    def __len__(self) -> int:
        return len(self._items)

    def accuracy_curve(self, run: str) -> npt.NDArray[np.float64] | None:
        """A reference-layout run's ``testacc.txt`` indexed by epoch, or None."""
        dirs = [v.run_dir for k, v in self._items.items() if k.run == run]
        if not dirs:
            raise InputError(f"{self.path}: no run named {run!r}")
        return self._testacc(dirs[0])

    def _testacc(self, run_dir: Path) -> npt.NDArray[np.float64] | None:
        if run_dir not in self._curves:
            f = run_dir / ACCURACY_FILE
            self._curves[run_dir] = read_accuracy_curve(f) if f.is_file() else None
        return self._curves[run_dir]

    def _side_accuracy(self, item: _Item, epoch: int) -> tuple[float | None, str]:
        """Accuracy of ``epoch`` from the first metrics file beside the file or in its run."""
        for folder in dict.fromkeys((item.path.parent, item.run_dir)):
            if folder not in self._metrics:
                self._metrics[folder] = None
                for name in METRICS_FILES:
                    if (folder / name).is_file():
                        self._metrics[folder] = (read_metrics(folder / name), folder / name)
                        break
            found = self._metrics[folder]
            if found is not None:
                curve, path = found
                return curve.get(epoch), self._where(path)
        return None, ""

    # -- loading --------------------------------------------------------------------
    def _item(self, run: str, epoch: int) -> tuple[CheckpointKey, _Item]:
        key = CheckpointKey(run, int(epoch))
        if key not in self._items:
            raise InputError(f"{self.path}: no checkpoint {key} (runs: {', '.join(self.runs())})")
        return key, self._items[key]

    def read(self, run: str, epoch: int) -> tuple[Checkpoint, Inspection]:
        """One checkpoint and the inspection of how it was read."""
        key, item = self._item(run, epoch)
        where = self._where(item.path)
        if item.kind == "refdir":
            curve = self._testacc(item.run_dir)
            acc = float(curve[key.epoch]) if curve is not None and key.epoch < curve.size else None
            ckpt = load_checkpoint_dir(item.path, key.run, key.epoch, acc, where=where)
            return ckpt, _reference_inspection(ckpt, item, acc is not None)
        ts = read_checkpoint_file(item.path, where, item.detected)
        accuracy, acc_from = ts.accuracy, "stored in the file" if ts.accuracy is not None else ""
        if accuracy is None:
            accuracy, acc_from = self._side_accuracy(item, key.epoch)
            if accuracy is None:
                acc_from = ""
        ckpt, inspection = to_checkpoint(
            ts, run=key.run, epoch=key.epoch, source=where, accuracy=accuracy, mapping=self.mapping
        )
        epoch_from = item.epoch_from
        inner = ts.epoch
        if inner is not None and inner != key.epoch and item.epoch_from != "stored in the file":
            epoch_from += f"; the file itself says epoch {ts.epoch}"
        detected = item.detected.why if item.detected is not None else ""
        return ckpt, replace(
            inspection, epoch_from=epoch_from, accuracy_from=acc_from, detected=detected
        )

    def load(self, run: str, epoch: int) -> Checkpoint:
        """Read one checkpoint (accuracy as the module doc says)."""
        return self.read(run, epoch)[0]

    def inspect(self, run: str, epoch: int) -> Inspection:
        """What ``topograph inspect`` shows for one checkpoint."""
        return self.read(run, epoch)[1]

    def resolve(self, run: str | None = None, epoch: int | None = None) -> CheckpointKey:
        """The one checkpoint matching ``run`` and ``epoch`` (either may be None).

        Raises :class:`InputError` when none or several match, listing them.
        """
        matches = [
            k
            for k in self._items
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


def _reference_inspection(ckpt: Checkpoint, item: _Item, has_acc: bool) -> Inspection:
    reports = []
    for k, (w, b) in enumerate(zip(ckpt.layers, ckpt.biases, strict=True)):
        reports.append(
            LayerReport(
                position=k,
                name=f"weight_l{k}.npz",
                kind="dense",
                shape=(w.shape[0] + 1, w.shape[1]),
                orientation="[in + 1, out]",
                inputs=w.shape[0],
                outputs=w.shape[1],
                block=1,
                nnz=int(w.nnz),
                density=w.nnz / (w.shape[0] * w.shape[1]),
                topology="zeros",
                bias=f"last row of weight_l{k}.npz" if b is not None else None,
            )
        )
    return Inspection(
        source=ckpt.source,
        format="NNSTD reference layout (scipy.sparse .npz per layer, last row bias)",
        run=ckpt.run,
        epoch=ckpt.epoch,
        accuracy=ckpt.accuracy,
        orientation="keras",
        orientation_rule="format: the reference layout stores [in + 1, out]",
        order_rule="weight_l<K>.npz, K = 0, 1, ...",
        layers=tuple(reports),
        epoch_from=item.epoch_from,
        accuracy_from=f"{ACCURACY_FILE} line E + 1" if has_acc else "",
    )
