"""Loaders: turn checkpoint files into :class:`topograph.Checkpoint` objects.

One module per format; each knows only the model. Today:
:mod:`~topograph.loaders.reference_layout` (the NNSTD reference code's
``<run>/epoch_<EEE>/weight_l<K>.npz``), from folders or archives.
"""

from topograph.loaders.reference_layout import ReferenceLayoutSource, load_checkpoint_dir

__all__ = ["ReferenceLayoutSource", "load_checkpoint_dir", "open_source"]


def open_source(path: str, run: str | None = None) -> ReferenceLayoutSource:
    """Open a folder or archive of checkpoints (use it as a context manager)."""
    return ReferenceLayoutSource(path, run=run)
