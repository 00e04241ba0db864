"""Loaders: turn checkpoint files into :class:`topograph.Checkpoint` objects.

One module per format, each knowing only the model (and each other):

* :mod:`~topograph.loaders.torch_file`: PyTorch ``torch.save`` files, read
  with ``weights_only=True`` (needs the ``[torch]`` extra);
* :mod:`~topograph.loaders.safetensors_file`: ``.safetensors`` (numpy API);
* :mod:`~topograph.loaders.keras_file`: ``.keras``, ``.weights.h5``, legacy ``.h5``;
* :mod:`~topograph.loaders.npz_dict`: ``.npz`` dicts of named arrays;
* :mod:`~topograph.loaders.reference_layout`: the NNSTD reference code's
  ``<run>/epoch_<EEE>/weight_l<K>.npz``;

behind :mod:`~topograph.loaders.detect` (which format a file is, by
content), :mod:`~topograph.loaders.state_dict` (named arrays -> Checkpoint,
and what ``inspect`` shows), :mod:`~topograph.loaders.mapping` (the layer
mapping file) and :mod:`~topograph.loaders.files` (folders, archives and
single files of checkpoints: runs, epochs, accuracy).
"""

from __future__ import annotations

from pathlib import Path

from topograph.loaders.files import FilesSource, SourceOptions
from topograph.loaders.reference_layout import load_checkpoint_dir
from topograph.loaders.state_dict import (
    Inspection,
    checkpoint_from_state_dict,
    inspect_state_dict,
)
from topograph.model import Checkpoint

__all__ = [
    "FilesSource",
    "Inspection",
    "SourceOptions",
    "checkpoint_from_state_dict",
    "inspect",
    "inspect_state_dict",
    "load",
    "load_checkpoint_dir",
    "open_source",
]


def open_source(
    path: str | Path, run: str | None = None, options: SourceOptions | None = None
) -> FilesSource:
    """Open a checkpoint file, or a folder or archive of them (use it as a context manager).

    ``run`` renames the run of a source that holds exactly one; ``options``
    carries ``--pattern`` and ``--mapping`` (:class:`SourceOptions`).
    """
    return FilesSource(path, run=run, options=options)


def load(
    path: str | Path,
    run: str | None = None,
    epoch: int | None = None,
    pattern: str | None = None,
    mapping: str | Path | None = None,
    follow_links: bool = False,
) -> Checkpoint:
    """One checkpoint from a file, folder or archive.

    A source holding several checkpoints needs ``run`` and/or ``epoch`` to
    pick one (a one-line error lists what matches). ``pattern`` and
    ``mapping`` and ``follow_links`` as for :class:`SourceOptions`.
    """
    with open_source(path, options=SourceOptions(pattern, mapping, follow_links)) as src:
        return src.load(*src.resolve(run, epoch))


def inspect(
    path: str | Path,
    run: str | None = None,
    epoch: int | None = None,
    pattern: str | None = None,
    mapping: str | Path | None = None,
    follow_links: bool = False,
) -> list[Inspection]:
    """What the loaders find in every checkpoint of ``path`` (``run``/``epoch`` filter)."""
    with open_source(path, options=SourceOptions(pattern, mapping, follow_links)) as src:
        keys = [
            k
            for k in src.keys()
            if (run is None or k.run == run) and (epoch is None or k.epoch == epoch)
        ]
        if not keys:
            src.resolve(run, epoch)  # raises, listing the runs
        return [src.inspect(*k) for k in keys]
