#!/usr/bin/env python3
"""Train small sparse networks on scikit-learn's digits and save real checkpoints.

Why: topograph's loaders must read the checkpoints that PyTorch and Keras users
really have on disk, written by the real libraries, not files we imagine. This
script makes them: every network below is trained for real on the digits data
bundled with scikit-learn (1797 images of 8x8 = 64 inputs, 10 classes; no
download), on the CPU, deterministically from ``--seed``.

Networks (``--which`` picks kinds; each kind makes the networks listed):

``set``   ``set-mlp``: 64-H-H-10 MLP, SET (Mocanu et al. 2018). Hidden layers
          start from an Erdős–Rényi mask of density ε(n_in + n_out)/(n_in·n_out);
          after each epoch the ζ fraction of the smallest positive weights and
          the ζ fraction of the negative weights closest to zero are removed,
          and as many connections regrow at random empty positions. The output
          layer is dense (as in the NNSTD reference data). Saved as dense
          tensors with zeros; also with a RigL-style ``masks`` dict, and in the
          NNSTD reference layout (``epoch_<EEE>/weight_l<K>.npz``).
``prune`` ``prune-mlp``: 64-H-H-10 MLP, ``torch.nn.utils.prune.global_unstructured``
          with ``L1Unstructured`` over all three weights, 50% -> 90% sparsity
          (``prune.remove`` is never called: ``weight_orig`` + ``weight_mask``).
``ao``    ``ao-mlp``: 64-H-H-10 MLP, ``torch.ao.pruning.WeightNormSparsifier``
          (unstructured: 1x1 blocks), per-layer sparsity on the cubic schedule to
          80%; the model state dict holds ``parametrizations.weight.original``
          and the masks live in the sparsifier's state dict.
``cnn``   ``cnn``: conv(1->8, 3x3) -> ReLU -> conv(8->16, 3x3) -> ReLU -> flatten
          (16x4x4) -> linear(256 -> 10), per-layer magnitude pruning (dense
          tensors with zeros); ``cnn-bn``: the same with BatchNorm after each
          conv (convs without bias), trained inside ``nn.DataParallel`` so its
          keys start with ``module.``.
``keras`` ``keras-mlp`` and ``keras-cnn``: Keras 3 on its torch backend (no
          TensorFlow), the same shapes, magnitude-pruned by zeroing kernels in a
          callback; ``.keras`` and ``.weights.h5`` each epoch via
          ``ModelCheckpoint`` (epoch 0, before training, via ``model.save``).

Epoch 0 is the network before any training (the initial topology); epoch ``e``
is the network after ``e`` epochs of training, with the topology that produced
the accuracy recorded for ``e``.

Usage::

    python scripts/train_digits.py --out out/digits --epochs 20 --seed 0
    python scripts/train_digits.py --which set,cnn --epochs 5
    python scripts/train_digits.py --fixtures      # tests/data/checkpoints/, 3 epochs
    python scripts/train_digits.py --fixtures --out /tmp/again   # the same bytes elsewhere

Needs ``torch``, ``safetensors``, ``scikit-learn`` and, for ``keras``, ``keras>=3``
and ``h5py`` (see the ``[torch]`` and ``[keras]`` extras).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import datetime
import hashlib
import os
import shutil
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

os.environ["KERAS_BACKEND"] = "torch"  # before any import of keras: no TensorFlow

import torch
import torch.nn.functional as F
from safetensors.numpy import load_file as load_safetensors
from safetensors.torch import save_file as save_safetensors
from torch import nn
from torch.ao.pruning import WeightNormSparsifier
from torch.nn.utils import prune

REPO = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO / "tests" / "data" / "checkpoints"
KINDS = ("set", "prune", "ao", "cnn", "keras")
NETWORKS = {
    "set": ("set-mlp",),
    "prune": ("prune-mlp",),
    "ao": ("ao-mlp",),
    "cnn": ("cnn", "cnn-bn"),
    "keras": ("keras-mlp", "keras-cnn"),
}
# How users name their .pt files differs; the loaders must read each of these.
PT_NAME = {
    "set-mlp": "epoch={e}.pt",
    "prune-mlp": "checkpoint_epoch{e}.pt",
    "ao-mlp": "model_epoch_{e:02d}.pt",
    "cnn": "epoch={e}.pt",
    "cnn-bn": "epoch-{e}.pt",
}
SAFETENSORS_NAME = "ckpt_{e:04d}.safetensors"
NPZ_NAME = "epoch_{e:03d}.npz"
# 1980-01-01T00:00:00Z, the earliest time a zip member can carry.
FIXTURE_SOURCE_DATE_EPOCH = 315532800

N_INPUTS, N_CLASSES = 64, 10
BATCH_SIZE = 16
LR, MOMENTUM = 0.05, 0.9

Array = npt.NDArray[Any]


# ---------------------------------------------------------------------------
# data, schedules, small helpers


@dataclass(frozen=True)
class Digits:
    """The digits split: inputs scaled to [0, 1], float32 ``(n, 64)``; labels int64."""

    x_train: Array
    y_train: Array
    x_test: Array
    y_test: Array


def load_digits_split() -> Digits:
    """scikit-learn's bundled digits, 80/20 stratified split with a fixed seed (0).

    The split does not depend on ``--seed``: every run is tested on the same 360
    images, so accuracies of runs compare.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return Digits(x_tr, y_tr, x_te, y_te)


def cubic_sparsity(epoch: int, epochs: int, final: float) -> float:
    """Gradual pruning schedule of Zhu & Gupta (2017): 0 at epoch 0, ``final`` at the end."""
    return final * (1.0 - (1.0 - min(epoch, epochs) / epochs) ** 3)


def linear_sparsity(epoch: int, epochs: int, first: float, last: float) -> float:
    """``first`` at epoch 1 rising linearly to ``last`` at the final epoch."""
    if epochs <= 1:
        return last
    return first + (last - first) * (epoch - 1) / (epochs - 1)


def magnitude_mask(w: Array, sparsity: float) -> Array:
    """Keep the ``(1 - sparsity)`` fraction of entries of largest ``|w|`` (bool, same shape).

    Ties are broken by position (stable sort), so the mask is deterministic.
    Entries already zero have the smallest magnitude: a mask never regrows.
    """
    flat = np.abs(w).ravel()
    n_keep = round((1.0 - sparsity) * flat.size)
    order = np.argsort(-flat, kind="stable")
    keep = np.zeros(flat.size, dtype=bool)
    keep[order[:n_keep]] = True
    return keep.reshape(w.shape)


def density(weights: list[Array]) -> float:
    """Fraction of non-zero entries over all the given weight tensors."""
    nnz = sum(int(np.count_nonzero(w)) for w in weights)
    return nnz / sum(w.size for w in weights)


@contextlib.contextmanager
def reproducible_writers(source_date_epoch: int | None) -> Iterator[None]:
    """Make the writers' output depend on the data only, not on the clock or memory.

    Three things besides the data reach the files written here:

    - ``zipfile`` stamps each member written with ``ZipFile.writestr`` with
      the current time (Keras puts ``model.weights.h5`` into a ``.keras`` that
      way): the clock reads ``source_date_epoch`` instead, in UTC, so the
      machine's time zone does not matter either;
    - Keras writes ``date_saved`` into the ``.keras``'s ``metadata.json``: the
      same fixed time;
    - Keras marks an object serialised twice in ``config.json`` (the layers'
      shared float32 ``DTypePolicy``) with ``"shared_object_id": id(obj)``, a
      memory address: objects are numbered 1, 2, ... by first sight instead
      (the loader uses the number only to pair the occurrences).

    The writers themselves run unchanged. ``None``: change nothing (the real
    clock and addresses).
    """
    if source_date_epoch is None:
        yield
        return
    fixed = float(source_date_epoch)

    class _Time:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        def time(self) -> float:
            return fixed

        def localtime(self, secs: float | None = None) -> time.struct_time:
            return time.gmtime(fixed if secs is None else secs)

    class _Datetime(datetime.datetime):
        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> _Datetime:  # type: ignore[override]
            utc = datetime.datetime.fromtimestamp(fixed, datetime.UTC)
            moment = utc if tz is not None else utc.replace(tzinfo=None)
            return cls.fromisoformat(moment.isoformat())

    class _DatetimeModule:
        datetime = _Datetime

        def __getattr__(self, name: str) -> Any:
            return getattr(datetime, name)

    seen: dict[int, tuple[int, object]] = {}  # id -> (number, the object, kept alive)

    def stable_id(obj: object) -> int:
        if id(obj) not in seen:
            seen[id(obj)] = (len(seen) + 1, obj)
        return seen[id(obj)][0]

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(zipfile, "time", _Time()))
        with contextlib.suppress(ImportError):
            from keras.src.saving import saving_lib, serialization_lib

            stack.enter_context(mock.patch.object(saving_lib, "datetime", _DatetimeModule()))
            stack.enter_context(mock.patch.object(serialization_lib, "id", stable_id, create=True))
        yield


class MetricsLog:
    """``metrics.csv`` beside a run's checkpoints: epoch, accuracy, test_loss, density.

    ``accuracy`` is the test accuracy (fraction of the 360 test images) of the
    checkpoint saved for that epoch, written with ``repr`` so it reads back
    equal to the ``acc`` inside a ``.pt``; ``density`` the fraction of non-zero
    entries of the weights that carry the topology (Linear/Conv/Dense kernels,
    not biases or BatchNorm).
    """

    HEADER = ("epoch", "accuracy", "test_loss", "density")

    def __init__(self) -> None:
        self.rows: list[tuple[int, float, float, float]] = []

    def add(self, epoch: int, accuracy: float, loss: float, dens: float) -> None:
        self.rows.append((epoch, accuracy, loss, dens))

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "metrics.csv", "w", newline="") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(self.HEADER)
            for e, acc, loss, dens in self.rows:
                out.writerow([e, repr(acc), f"{loss:.6f}", f"{dens:.6f}"])


def report(net: str, epoch: int, acc: float, loss: float, dens: float) -> None:
    print(
        f"{net:<10} epoch {epoch:3d}  test acc {acc:.4f}  test loss {loss:.4f}  density {dens:.3f}"
    )


# ---------------------------------------------------------------------------
# torch: networks, training, saving


class SetMLP(nn.Module):
    """64-H-H-10 MLP with ReLU; keys ``fc1``, ``fc2``, ``fc3``."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(N_INPUTS, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class AoMLP(nn.Module):
    """64-H-H-10 MLP in a ``layers`` Sequential: keys ``layers.0``, ``layers.2``, ``layers.4``."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.layers = sequential_mlp(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def sequential_mlp(hidden: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(N_INPUTS, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, N_CLASSES),
    )


class SmallCNN(nn.Module):
    """conv(1->8, 3x3) -> ReLU -> conv(8->16, 3x3) -> ReLU -> flatten -> linear(256 -> 10).

    On 8x8 inputs without padding the maps are 6x6 then 4x4, so the flatten
    gives 16x4x4 = 256 features in PyTorch's (channel, y, x) order: input row
    ``c*16 + y*4 + x`` of ``fc``. With ``batchnorm`` a BatchNorm2d follows each
    conv and the convs have no bias (the usual pairing).
    """

    def __init__(self, batchnorm: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=not batchnorm)
        self.bn1 = nn.BatchNorm2d(8) if batchnorm else nn.Identity()
        self.conv2 = nn.Conv2d(8, 16, 3, bias=not batchnorm)
        self.bn2 = nn.BatchNorm2d(16) if batchnorm else nn.Identity()
        self.fc = nn.Linear(16 * 4 * 4, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, 1, 8, 8)
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


def train_epoch(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    data: Digits,
    rng: np.random.Generator,
    masks: dict[torch.Tensor, torch.Tensor] | None = None,
) -> None:
    """One epoch of minibatch SGD, batches shuffled by ``rng``.

    ``masks`` (parameter -> bool mask) keeps masked weights at exactly zero:
    their gradients are zeroed before the step and the weights after it (the
    momentum buffer could otherwise move them).
    """
    model.train()
    order = rng.permutation(len(data.y_train))
    x_all = torch.from_numpy(data.x_train)
    y_all = torch.from_numpy(data.y_train)
    for start in range(0, len(order), BATCH_SIZE):
        idx = torch.from_numpy(order[start : start + BATCH_SIZE])
        opt.zero_grad()
        loss = F.cross_entropy(model(x_all[idx]), y_all[idx])
        loss.backward()
        if masks:
            for param, mask in masks.items():
                assert param.grad is not None
                param.grad.mul_(mask)
        opt.step()
        if masks:
            with torch.no_grad():
                for param, mask in masks.items():
                    param.mul_(mask)


@torch.no_grad()
def evaluate(model: nn.Module, data: Digits) -> tuple[float, float]:
    """Test accuracy (fraction correct) and mean cross-entropy, in eval mode."""
    model.eval()
    logits = model(torch.from_numpy(data.x_test))
    y = torch.from_numpy(data.y_test)
    acc = float((logits.argmax(1) == y).double().mean())
    return acc, float(F.cross_entropy(logits, y))


def sgd(model: nn.Module) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)


def arrays_of(state: dict[str, torch.Tensor]) -> dict[str, Array]:
    return {k: v.detach().cpu().numpy() for k, v in state.items()}


class TorchRunWriter:
    """Writes one run's checkpoints as ``.pt``, ``.safetensors`` and ``.npz``.

    Layout under ``root/<net>/``: ``pt/<run>/<PT_NAME>``,
    ``safetensors/<run>/ckpt_<EEEE>.safetensors``,
    ``npz/<run>/epoch_<EEE>.npz``, each folder with its ``metrics.csv``.
    The ``.pt`` holds ``pt_payload`` (a plain state dict or a wrapper dict);
    ``.safetensors`` and ``.npz`` hold ``flat_state`` (tensors by state-dict
    key; ``.safetensors`` with the metadata ``{"format": "pt"}`` that most
    writers add).
    Each file is read back and compared, so a writer that loses or changes a
    tensor fails here, not in a test.
    """

    def __init__(self, root: Path, net: str, run: str) -> None:
        self.net = net
        self.run = run
        self.dirs = {fmt: root / net / fmt / self.run for fmt in ("pt", "safetensors", "npz")}
        for d in self.dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        self.metrics = MetricsLog()

    def save(
        self,
        epoch: int,
        pt_payload: dict[str, Any],
        flat_state: dict[str, torch.Tensor],
    ) -> None:
        pt_path = self.dirs["pt"] / PT_NAME[self.net].format(e=epoch)
        torch.save(pt_payload, pt_path)
        tensors = {k: v.detach().contiguous() for k, v in flat_state.items()}
        st_path = self.dirs["safetensors"] / SAFETENSORS_NAME.format(e=epoch)
        save_safetensors(
            # One key only: safetensors writes its metadata map in a random order.
            tensors,
            st_path,
            metadata={"format": "pt"},
        )
        npz_path = self.dirs["npz"] / NPZ_NAME.format(e=epoch)
        np.savez(npz_path, **arrays_of(tensors))
        expected = arrays_of(tensors)
        for path, got in (
            (st_path, load_safetensors(str(st_path))),
            (npz_path, dict(np.load(npz_path))),
        ):
            if sorted(got) != sorted(expected):
                raise RuntimeError(f"{path}: keys {sorted(got)} != {sorted(expected)}")
            for k, v in expected.items():
                if not np.array_equal(got[k], v):
                    raise RuntimeError(f"{path}: tensor {k} differs after reading back")
        torch.load(pt_path, weights_only=True)  # what a careful loader does: must work

    def close(self) -> None:
        for d in self.dirs.values():
            self.metrics.write(d)


def check_dense_with_zeros(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """The topology is the zeros: every weight is non-zero exactly where its mask is set."""
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        nonzero = params[name].detach() != 0
        if not torch.equal(nonzero, mask):
            bad = int((nonzero != mask).sum())
            raise RuntimeError(f"{name}: {bad} weight(s) disagree with the mask (exact zeros?)")


# -- SET ---------------------------------------------------------------------


def erdos_renyi_mask(n_out: int, n_in: int, epsilon: float, rng: np.random.Generator) -> Array:
    """SET's initial mask, ``(n_out, n_in)`` bool: each connection kept with probability
    ``min(1, ε(n_in + n_out)/(n_in·n_out))`` (Mocanu et al. 2018, Bernoulli per entry)."""
    p = min(1.0, epsilon * (n_in + n_out) / (n_in * n_out))
    return rng.random((n_out, n_in)) < p


def set_prune_regrow(
    layer: nn.Linear,
    mask: torch.Tensor,
    zeta: float,
    rng: np.random.Generator,
    opt: torch.optim.SGD,
) -> None:
    """One SET topology step on ``layer`` (in place), as in Mocanu et al.'s code.

    Removes ``floor(ζ·P)`` of the P positive weights, the smallest ones, and
    ``floor(ζ·N)`` of the N negative weights, those closest to zero (not simply
    the smallest ``|w|``); then regrows as many connections at positions drawn
    uniformly among all empty ones (a just-removed position may come back),
    with weights from ``U(-1/sqrt(n_in), 1/sqrt(n_in))``, PyTorch's own Linear
    initialisation range. Momentum of every changed position is reset.
    """
    w = layer.weight.detach().numpy()  # shares memory with the parameter
    m = mask.numpy()
    flat_w, flat_m = w.ravel(), m.ravel()
    pos = np.flatnonzero(flat_m & (flat_w > 0))
    neg = np.flatnonzero(flat_m & (flat_w < 0))
    drop_pos = pos[np.argsort(flat_w[pos], kind="stable")[: int(zeta * pos.size)]]
    drop_neg = neg[np.argsort(-flat_w[neg], kind="stable")[: int(zeta * neg.size)]]
    dropped = np.concatenate([drop_pos, drop_neg])
    flat_m[dropped] = False
    empty = np.flatnonzero(~flat_m)
    grown = rng.choice(empty, size=dropped.size, replace=False)
    flat_m[grown] = True
    bound = 1.0 / np.sqrt(w.shape[1])
    with torch.no_grad():
        flat_w[dropped] = 0.0
        flat_w[grown] = rng.uniform(-bound, bound, size=grown.size).astype(np.float32)
    buf = opt.state[layer.weight].get("momentum_buffer")
    if buf is not None:
        changed = torch.from_numpy(np.concatenate([dropped, grown]))
        buf.view(-1)[changed] = 0.0


def reference_layout(model: SetMLP) -> list[sp.csr_matrix]:
    """Layers as the NNSTD reference stores them: CSR ``(n_in + 1, n_out)``, rows =
    inputs, last row = bias (weight.T stacked on the bias)."""
    out = []
    for layer in (model.fc1, model.fc2, model.fc3):
        w = layer.weight.detach().numpy().T
        b = layer.bias.detach().numpy()[None, :]
        out.append(sp.csr_matrix(np.vstack([w, b])))
    return out


def run_set(
    root: Path,
    run: str,
    data: Digits,
    epochs: int,
    seed: int,
    hidden: int,
    epsilon: float,
    zeta: float,
) -> None:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = SetMLP(hidden)
    sparse = {"fc1.weight": model.fc1, "fc2.weight": model.fc2}
    masks = {
        name: torch.from_numpy(
            erdos_renyi_mask(layer.out_features, layer.in_features, epsilon, rng)
        )
        for name, layer in sparse.items()
    }
    with torch.no_grad():
        for name, layer in sparse.items():
            layer.weight.mul_(masks[name])
    opt = sgd(model)
    writer = TorchRunWriter(root, "set-mlp", run)
    masks_dir = root / "set-mlp" / "pt-masks" / writer.run
    ref_dir = root / "set-mlp" / "reference" / writer.run
    masks_dir.mkdir(parents=True, exist_ok=True)
    accuracies = []
    for epoch in range(epochs + 1):
        if epoch > 0:
            train_epoch(model, opt, data, rng, {sparse[n].weight: m for n, m in masks.items()})
        acc, loss = evaluate(model, data)
        check_dense_with_zeros(model, masks)
        dens = density([p.detach().numpy() for n, p in model.named_parameters() if "weight" in n])
        report("set-mlp", epoch, acc, loss, dens)
        state = model.state_dict()
        writer.save(epoch, state, state)
        # RigL-style: weights and masks side by side, under their own keys.
        torch.save(
            {
                "epoch": epoch,
                "state_dict": state,
                "masks": {n: m.clone() for n, m in masks.items()},
                "acc": acc,
            },
            masks_dir / PT_NAME["set-mlp"].format(e=epoch),
        )
        epoch_dir = ref_dir / f"epoch_{epoch:03d}"
        epoch_dir.mkdir(parents=True, exist_ok=True)
        for k, layer in enumerate(reference_layout(model)):
            sp.save_npz(epoch_dir / f"weight_l{k}.npz", layer)
        accuracies.append(acc)
        writer.metrics.add(epoch, acc, loss, dens)
        if 0 < epoch < epochs:
            for name, layer in sparse.items():
                set_prune_regrow(layer, masks[name], zeta, rng, opt)
    writer.close()
    writer.metrics.write(masks_dir)
    (ref_dir / "testacc.txt").write_text("".join(f"{a!r}\n" for a in accuracies))


# -- torch.nn.utils.prune ------------------------------------------------------


def run_prune(root: Path, run: str, data: Digits, epochs: int, seed: int, hidden: int) -> None:
    """Global L1 magnitude pruning with ``torch.nn.utils.prune``, never ``prune.remove``d.

    Epoch 0: ``prune.identity`` (masks of ones), so every checkpoint has the
    same keys. Before training epoch ``e`` the three weights are pruned
    globally to sparsity 50% (e = 1) rising linearly to 90% (last epoch); the
    ``amount`` passed is the integer count of further weights to prune.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = sequential_mlp(hidden)
    targets = [(model[i], "weight") for i in (0, 2, 4)]
    for module, name in targets:
        prune.identity(module, name)
    opt = sgd(model)
    writer = TorchRunWriter(root, "prune-mlp", run)
    total = sum(m.weight_orig.numel() for m, _ in targets)
    for epoch in range(epochs + 1):
        if epoch > 0:
            goal = round(linear_sparsity(epoch, epochs, 0.5, 0.9) * total)
            pruned = sum(int((m.weight_mask == 0).sum()) for m, _ in targets)
            prune.global_unstructured(
                targets, pruning_method=prune.L1Unstructured, amount=goal - pruned
            )
            train_epoch(model, opt, data, rng)
        acc, loss = evaluate(model, data)
        dens = density([m.weight.detach().numpy() for m, _ in targets])
        report("prune-mlp", epoch, acc, loss, dens)
        state = model.state_dict()
        payload = {
            "epoch": epoch,
            "model_state_dict": state,
            "optimizer_state_dict": opt.state_dict(),
            "acc": acc,
        }
        writer.save(epoch, payload, state)
        writer.metrics.add(epoch, acc, loss, dens)
    writer.close()


# -- torch.ao.pruning ------------------------------------------------------------


def squashed_state(
    model: AoMLP, sparsifier: WeightNormSparsifier, hidden: int, fqns: list[str]
) -> dict[str, torch.Tensor]:
    """The state dict ``squash_mask`` gives, made on a fresh copy as a user would.

    Not by ``copy.deepcopy``: parametrize gives each module its own class, which
    a deep copy shares, so squashing the copy would strip the original's
    ``weight`` property too.
    """
    with torch.random.fork_rng(devices=[]):  # leave the training's generator alone
        fresh = AoMLP(hidden)
    fresh_sparsifier = WeightNormSparsifier(sparse_block_shape=(1, 1), zeros_per_block=1)
    fresh_sparsifier.prepare(fresh, [{"tensor_fqn": f} for f in fqns])
    # The prepared model expects its masks as `...parametrizations.weight.0.mask`,
    # but FakeSparsity leaves them out of state_dict(): they come from the sparsifier.
    result = fresh.load_state_dict(model.state_dict(), strict=False)
    if result.unexpected_keys or any(not k.endswith(".0.mask") for k in result.missing_keys):
        raise RuntimeError(f"ao-mlp: unexpected state-dict mismatch {result}")
    # A copy: load_state_dict pops each "mask" out of the dict it is given, and
    # state_dict() returns the sparsifier's live state, not a copy.
    fresh_sparsifier.load_state_dict(copy.deepcopy(sparsifier.state_dict()))
    fresh_sparsifier.squash_mask()
    return fresh.state_dict()


def run_ao(root: Path, run: str, data: Digits, epochs: int, seed: int, hidden: int) -> None:
    """``torch.ao.pruning.WeightNormSparsifier`` with 1x1 blocks: unstructured magnitude.

    The model's state dict holds ``layers.K.parametrizations.weight.original``
    (the unmasked weight, non-zero where pruned) and no mask: ``FakeSparsity``
    leaves its mask out of the state dict on purpose. The masks are in
    ``sparsifier.state_dict()["state"][fqn]["mask"]``, which the ``.pt``
    wrapper carries as ``sparsifier_state_dict``, with ``state`` converted
    from the ``collections.defaultdict`` torch returns to a plain dict, since
    ``torch.load(weights_only=True)`` cannot read a defaultdict. One extra
    file of the last epoch keeps the defaultdict, as a user who saved it
    as-is has it (``pt-defaultdict/``). ``.safetensors`` and ``.npz`` hold the
    squashed state dict (``squash_mask`` on a fresh copy): ``layers.K.weight`` dense
    with zeros.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = AoMLP(hidden)
    fqns = ["layers.0.weight", "layers.2.weight", "layers.4.weight"]
    sparsifier = WeightNormSparsifier(
        sparsity_level=0.0, sparse_block_shape=(1, 1), zeros_per_block=1
    )
    sparsifier.prepare(model, [{"tensor_fqn": f} for f in fqns])
    opt = sgd(model)  # after prepare: the parameters are now the `original`s
    writer = TorchRunWriter(root, "ao-mlp", run)
    raw_dir = root / "ao-mlp" / "pt-defaultdict" / writer.run
    for epoch in range(epochs + 1):
        if epoch > 0:
            for group in sparsifier.groups:
                group["sparsity_level"] = cubic_sparsity(epoch, epochs, 0.8)
            sparsifier.step()
            train_epoch(model, opt, data, rng)
        acc, loss = evaluate(model, data)
        squashed = squashed_state(model, sparsifier, hidden, fqns)
        dens = density([squashed[f].numpy() for f in fqns])
        report("ao-mlp", epoch, acc, loss, dens)
        sparsifier_state = sparsifier.state_dict()
        payload = {
            "epoch": epoch,
            "model_state_dict": model.state_dict(),
            "optimizer_state_dict": opt.state_dict(),
            "sparsifier_state_dict": {
                "state": dict(sparsifier_state["state"]),
                "groups": sparsifier_state["groups"],
            },
            "acc": acc,
        }
        writer.save(epoch, payload, squashed)
        writer.metrics.add(epoch, acc, loss, dens)
        if epoch == epochs:
            raw_dir.mkdir(parents=True, exist_ok=True)
            torch.save(
                {**payload, "sparsifier_state_dict": sparsifier_state},
                raw_dir / PT_NAME["ao-mlp"].format(e=epoch),
            )
    writer.close()
    writer.metrics.write(raw_dir)


# -- CNN -------------------------------------------------------------------------

CNN_FINAL_SPARSITY = {"conv1.weight": 0.5, "conv2.weight": 0.8, "fc.weight": 0.8}


def run_cnn(root: Path, run: str, data: Digits, epochs: int, seed: int, batchnorm: bool) -> None:
    """Per-layer magnitude pruning on the cubic schedule (conv1 to 50%, conv2 and fc
    to 80%), applied before each training epoch; weights are dense with zeros.
    ``cnn-bn`` trains inside ``nn.DataParallel`` (which on a CPU-only machine
    just calls the module), so its state dict keys start with ``module.``.
    """
    net = "cnn-bn" if batchnorm else "cnn"
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    inner = SmallCNN(batchnorm)
    model: nn.Module = nn.DataParallel(inner) if batchnorm else inner
    params = dict(inner.named_parameters())
    masks = {n: torch.ones_like(params[n], dtype=torch.bool) for n in CNN_FINAL_SPARSITY}
    opt = sgd(model)
    writer = TorchRunWriter(root, net, run)
    for epoch in range(epochs + 1):
        if epoch > 0:
            with torch.no_grad():
                for n, final in CNN_FINAL_SPARSITY.items():
                    s = cubic_sparsity(epoch, epochs, final)
                    keep = magnitude_mask(params[n].numpy(), s)
                    masks[n] = torch.from_numpy(keep)
                    params[n].mul_(masks[n])
            train_epoch(model, opt, data, rng, {params[n]: m for n, m in masks.items()})
        acc, loss = evaluate(model, data)
        check_dense_with_zeros(inner, masks)
        dens = density([params[n].detach().numpy() for n in CNN_FINAL_SPARSITY])
        report(net, epoch, acc, loss, dens)
        state = model.state_dict()
        writer.save(epoch, state, state)
        writer.metrics.add(epoch, acc, loss, dens)
    writer.close()


# ---------------------------------------------------------------------------
# Keras 3 on the torch backend


def run_keras(root: Path, run: str, data: Digits, epochs: int, seed: int, hidden: int) -> None:
    """``keras-mlp`` and ``keras-cnn``: Sequential models, Adam, pruned by zeroing kernels.

    A callback prunes every kernel by magnitude before each epoch (cubic
    schedule: MLP kernels and conv2/fc to 80%, conv1 to 50%) and re-zeroes the
    pruned entries after every batch, so the saved kernels are dense with
    zeros. ``ModelCheckpoint`` saves ``epoch_<e>.keras`` (``model.save``) and
    ``epoch_<e>.weights.h5`` (``model.save_weights``) after each epoch, with
    Keras's 1-based epoch numbers; epoch 0 is saved by hand before ``fit``.
    The test accuracy is Keras's ``val_accuracy`` on the test split.
    """
    import keras

    if keras.backend.backend() != "torch":
        raise RuntimeError(f"Keras runs on {keras.backend.backend()!r}, expected 'torch'")
    layers = keras.layers

    def mlp() -> keras.Model:
        return keras.Sequential(
            [
                keras.Input(shape=(N_INPUTS,)),
                layers.Dense(hidden, activation="relu", name="fc1"),
                layers.Dense(hidden, activation="relu", name="fc2"),
                layers.Dense(N_CLASSES, name="fc3"),
            ],
            name="keras_mlp",
        )

    def cnn() -> keras.Model:
        return keras.Sequential(
            [
                keras.Input(shape=(8, 8, 1)),
                layers.Conv2D(8, 3, activation="relu", name="conv1"),
                layers.Conv2D(16, 3, activation="relu", name="conv2"),
                layers.Flatten(name="flatten"),
                layers.Dense(N_CLASSES, name="fc"),
            ],
            name="keras_cnn",
        )

    class MagnitudePruning(keras.callbacks.Callback):
        def __init__(self, final: dict[str, float], epochs: int, log: MetricsLog) -> None:
            super().__init__()
            self.final, self.epochs, self.log = final, epochs, log
            self.masks: dict[str, Any] = {}

        def _kernel(self, name: str) -> Any:
            return self.model.get_layer(name).kernel

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            for name, final in self.final.items():
                w = keras.ops.convert_to_numpy(self._kernel(name))
                keep = magnitude_mask(w, cubic_sparsity(epoch + 1, self.epochs, final))
                self.masks[name] = keras.ops.convert_to_tensor(keep.astype(np.float32))
                self._kernel(name).assign(w * keep)

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            for name, mask in self.masks.items():
                kernel = self._kernel(name)
                kernel.assign(keras.ops.multiply(kernel.value, mask))

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            assert logs is not None
            kernels = [keras.ops.convert_to_numpy(self._kernel(n)) for n in self.final]
            acc, loss, dens = float(logs["val_accuracy"]), float(logs["val_loss"]), density(kernels)
            self.log.add(epoch + 1, acc, loss, dens)
            report(self.model.name.replace("_", "-"), epoch + 1, acc, loss, dens)

    specs: list[tuple[str, Callable[[], keras.Model], dict[str, float], Array, Array]] = [
        (
            "keras-mlp",
            mlp,
            {"fc1": 0.8, "fc2": 0.8, "fc3": 0.8},
            data.x_train,
            data.x_test,
        ),
        (
            "keras-cnn",
            cnn,
            {"conv1": 0.5, "conv2": 0.8, "fc": 0.8},
            data.x_train.reshape(-1, 8, 8, 1),  # channels-last, as Keras wants
            data.x_test.reshape(-1, 8, 8, 1),
        ),
    ]
    for i, (net, build, final, x_train, x_test) in enumerate(specs):
        # Keras's own way to seed: Python, NumPy's global and torch's generators.
        keras.utils.set_random_seed(seed + i)
        model = build()
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=0.01),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        keras_dir = root / net / "keras" / run
        h5_dir = root / net / "weights-h5" / run
        keras_dir.mkdir(parents=True, exist_ok=True)
        h5_dir.mkdir(parents=True, exist_ok=True)
        log = MetricsLog()
        loss0, acc0 = model.evaluate(x_test, data.y_test, verbose=0)
        kernels = [keras.ops.convert_to_numpy(model.get_layer(n).kernel) for n in final]
        log.add(0, float(acc0), float(loss0), density(kernels))
        report(net, 0, float(acc0), float(loss0), density(kernels))
        model.save(keras_dir / "epoch_0.keras")
        model.save_weights(h5_dir / "epoch_0.weights.h5")
        model.fit(
            x_train,
            data.y_train,
            batch_size=BATCH_SIZE,
            epochs=epochs,
            validation_data=(x_test, data.y_test),
            shuffle=True,
            verbose=0,
            callbacks=[  # in this order: prune, then save the pruned model
                MagnitudePruning(final, epochs, log),
                keras.callbacks.ModelCheckpoint(str(keras_dir / "epoch_{epoch}.keras")),
                keras.callbacks.ModelCheckpoint(
                    str(h5_dir / "epoch_{epoch}.weights.h5"), save_weights_only=True
                ),
            ],
        )
        log.write(keras_dir)
        log.write(h5_dir)


# ---------------------------------------------------------------------------
# driver


def sha256sums(root: Path) -> str:
    """``sha256sum``-compatible lines for every generated file under ``root``, sorted."""
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel in ("README.md", "SHA256SUMS"):
            continue
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {rel}\n")
    return "".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: out/digits; with --fixtures: the fixtures folder)",
    )
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (>= 1)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every network's weights, masks, batches"
    )
    parser.add_argument(
        "--which",
        default=",".join(KINDS),
        help=f"comma-separated kinds to train, of {','.join(KINDS)} (default: all)",
    )
    parser.add_argument("--hidden", type=int, default=32, help="hidden width H of the MLPs")
    parser.add_argument(
        "--epsilon", type=float, default=5.0, help="SET's ε of the Erdős–Rényi density"
    )
    parser.add_argument(
        "--zeta", type=float, default=0.3, help="SET's ζ: fraction pruned and regrown"
    )
    parser.add_argument(
        "--fixtures",
        action="store_true",
        help="write the committed test fixtures: all kinds, 3 epochs, seed 0, default sizes "
        "(other options ignored except --out), into "
        f"{FIXTURES_DIR.relative_to(REPO)}/ unless --out names another folder (its network "
        "folders are replaced), archive times fixed at SOURCE_DATE_EPOCH (default "
        "1980-01-01), plus SHA256SUMS",
    )
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.which.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        named = ", ".join(unknown) or "(none)"
        parser.error(f"--which: unknown kind(s) {named}; choose from {', '.join(KINDS)}")
    args.kinds = [k for k in KINDS if k in kinds]
    if args.fixtures:
        args.out = args.out or FIXTURES_DIR
        args.epochs, args.seed, args.kinds = 3, 0, list(KINDS)
        args.hidden, args.epsilon, args.zeta = 32, 5.0, 0.3
    args.out = args.out or Path("out/digits")
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # same float reductions whatever the machine
    env_epoch = os.environ.get("SOURCE_DATE_EPOCH")
    clock = int(env_epoch) if env_epoch else (FIXTURE_SOURCE_DATE_EPOCH if args.fixtures else None)
    root: Path = args.out
    if args.fixtures:  # only the folders this script owns; README.md stays
        for nets in NETWORKS.values():
            for net in nets:
                shutil.rmtree(root / net, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    # One seed per kind, drawn from one parent generator in a fixed order, so
    # a kind's networks do not depend on which other kinds --which selects.
    parent = np.random.default_rng(args.seed)
    seeds = dict(
        zip(KINDS, (int(s) for s in parent.integers(0, 2**31 - 1, size=len(KINDS))), strict=True)
    )
    run = f"run-{args.seed}"
    data = load_digits_split()
    print(f"digits: {len(data.y_train)} train, {len(data.y_test)} test images; out: {root}")
    started = time.perf_counter()
    with reproducible_writers(clock):
        for kind in args.kinds:
            s = seeds[kind]
            if kind == "set":
                run_set(root, run, data, args.epochs, s, args.hidden, args.epsilon, args.zeta)
            elif kind == "prune":
                run_prune(root, run, data, args.epochs, s, args.hidden)
            elif kind == "ao":
                run_ao(root, run, data, args.epochs, s, args.hidden)
            elif kind == "cnn":
                run_cnn(root, run, data, args.epochs, s, batchnorm=False)
                run_cnn(root, run, data, args.epochs, s, batchnorm=True)
            elif kind == "keras":
                run_keras(root, run, data, args.epochs, s, args.hidden)
    if args.fixtures:
        (root / "SHA256SUMS").write_text(sha256sums(root))
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
