"""Loaders: turn checkpoint files into :class:`topograph.Checkpoint` objects.

One module per format; each knows only the model. Today:
:mod:`~topograph.loaders.reference_layout` (the NNSTD reference code's
``<run>/epoch_<EEE>/weight_l<K>.npz``), from folders or archives.
"""

from __future__ import annotations

from pathlib import Path

from topograph.loaders.reference_layout import ReferenceLayoutSource, load_checkpoint_dir
from topograph.model import Checkpoint

__all__ = ["ReferenceLayoutSource", "load", "load_checkpoint_dir", "open_source"]


def open_source(path: str | Path, run: str | None = None) -> ReferenceLayoutSource:
    """Open a folder or archive of checkpoints (use it as a context manager).

    ``run`` renames the run of a source that holds exactly one.
    """
    return ReferenceLayoutSource(path, run=run)


def load(path: str | Path, run: str | None = None, epoch: int | None = None) -> Checkpoint:
    """One checkpoint from a file, folder or archive.

    A source holding several checkpoints needs ``run`` and/or ``epoch`` to
    pick one (a one-line error lists what matches).
    """
    with open_source(path) as src:
        return src.load(*src.resolve(run, epoch))
