"""Recording during training: a model's topology into the store, every epoch, without a file.

``session.record(model, run="r0", epoch=e, metrics={"acc": a})`` turns the
model (a ``torch.nn.Module``, a state dict of tensors or arrays, or a
:class:`~topograph.Checkpoint`) into a checkpoint in the training thread —
what must happen before the next optimiser step changes the weights — and
hands it to a background writer, so the training loop never waits for the
database. Checkpoints are validated before they are queued: a bad one raises
at once, in the caller's thread. A write that fails later raises at the next
``record``, ``flush`` or ``close``.

Idempotent per run and epoch: recording the same topology and weights again
does nothing; recording different content under a run and epoch already
stored is refused (name the run differently).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from topograph.errors import InputError
from topograph.model import Checkpoint, CheckpointKey
from topograph.stores import GraphStore

__all__ = ["ACCURACY_KEYS", "Recorder", "accuracy_from", "state_and_masks"]

#: Metric names read as the checkpoint's test accuracy, first match wins.
ACCURACY_KEYS = ("accuracy", "acc", "test_accuracy", "test_acc", "val_accuracy", "val_acc")


def accuracy_from(metrics: Mapping[str, Any] | None) -> float | None:
    """The accuracy among ``metrics`` (see :data:`ACCURACY_KEYS`), as a float."""
    for key in ACCURACY_KEYS:
        if metrics and key in metrics:
            value = metrics[key]
            try:
                return float(value.item() if hasattr(value, "item") else value)
            except (TypeError, ValueError):
                raise InputError(f"metric {key!r} is not a number: {value!r}") from None
    return None


def state_and_masks(model: Any) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """A model's state dict and the masks kept outside it.

    A ``torch.nn.Module`` gives its ``state_dict()``; ``torch.ao.pruning``
    keeps each mask in the module's parametrization and leaves it out of the
    state dict, so those masks are collected from the modules (by the name of
    the weight they mask). A mapping (a state dict of tensors or arrays) is
    taken as it is.
    """
    masks: dict[str, Any] = {}
    if hasattr(model, "state_dict") and callable(model.state_dict):
        for name, module in getattr(model, "named_modules", lambda: [])():
            params = getattr(module, "parametrizations", None)
            if params is None:
                continue
            for pname in list(params.keys()):
                for p in params[pname]:
                    if getattr(p, "mask", None) is not None:
                        masks[f"{name}.{pname}" if name else pname] = p.mask
        state = model.state_dict()
    else:
        state = model
    if not isinstance(state, Mapping):
        kind = type(model).__name__
        raise InputError(f"record() takes a torch module, a state dict or a Checkpoint, not {kind}")
    return state, masks


@dataclass(frozen=True)
class _Job:
    checkpoint: Checkpoint


class Recorder:
    """A background writer of recorded checkpoints into one store.

    ``store``: the (writable) store; nothing else may use its connection
    until :meth:`flush` returns. ``known`` maps every checkpoint key already
    stored whole to its content hash, for idempotence.
    """

    def __init__(self, store: GraphStore, known: dict[CheckpointKey, str]) -> None:
        self.store = store
        self.known = dict(known)
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="topograph-recorder", daemon=True)
        self._thread.start()

    def submit(self, ck: Checkpoint) -> bool:
        """Queue ``ck`` for writing; False when it is stored already (same content)."""
        self.raise_failure()
        have = self.known.get(ck.key)
        if have is not None:
            if have != ck.content_hash:
                raise InputError(
                    f"{ck.key} is already recorded with different content; "
                    "record this training run under another run name"
                )
            return False
        self.known[ck.key] = ck.content_hash
        self._queue.put(_Job(ck))
        return True

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                self._queue.task_done()
                return
            batch = [job.checkpoint]
            stop = False
            # Whatever else is waiting goes in the same write (one COPY per batch).
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more.checkpoint)
            try:
                if self._error is None:
                    self.store.write_checkpoints(batch)
            except BaseException as exc:  # surfaced in the caller's thread
                self._error = exc
            finally:
                for _ in range(len(batch) + stop):
                    self._queue.task_done()
            if stop:
                return

    def raise_failure(self) -> None:
        """Raise the first write failure, if any, in the caller's thread."""
        if self._error is not None:
            exc, self._error = self._error, None
            raise exc

    def flush(self) -> None:
        """Wait until everything queued is written; raise a write failure."""
        self._queue.join()
        self.raise_failure()

    def close(self) -> None:
        """Write what is queued, stop the thread; raise a write failure."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self.raise_failure()
