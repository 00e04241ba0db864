"""record() overhead during training: a sparse MLP and a small CNN on scikit-learn's digits.

Run: ``python benchmarks/record.py [--epochs 10] [--repeats 3]`` (needs the
``[torch]`` extra and scikit-learn; uses the networks of
``scripts/train_digits.py``).

For each network, the same training (same seed) runs twice per repeat: once
plain, once calling ``session.record(model, run=..., epoch=...)`` after every
epoch into a fresh embedded store. Printed per network, medians over the
repeats:

* epoch: seconds of one training epoch (plain run);
* call: seconds inside ``record()`` in the training thread (the conversion;
  the write happens in the background);
* first: the first ``record()`` call, which opens the store and creates its
  schema (once per session, before the loop in practice);
* wall overhead: (wall time with recording, the final flush included - wall
  time plain) / wall time plain, over epochs 2..N (after the first call).
  This is the figure the target (under 5 % of training time) is about: it
  includes the background writes competing for the 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import torch
import train_digits as td

import topograph


def mlp(rng: np.random.Generator) -> tuple[torch.nn.Module, dict]:
    model = td.SetMLP(64)
    masks = {}
    for layer in (model.fc1, model.fc2):
        mask = torch.from_numpy(td.erdos_renyi_mask(layer.out_features, layer.in_features, 5, rng))
        with torch.no_grad():
            layer.weight.mul_(mask)
        masks[layer.weight] = mask
    return model, masks


def cnn(rng: np.random.Generator) -> tuple[torch.nn.Module, dict]:
    model = td.SmallCNN()
    masks = {}
    for p in (model.conv1.weight, model.conv2.weight, model.fc.weight):
        mask = torch.from_numpy(td.magnitude_mask(p.detach().numpy(), 0.5))
        with torch.no_grad():
            p.mul_(mask)
        masks[p] = mask
    return model, masks


def one(kind: str, data: td.Digits, epochs: int, db: str | None) -> tuple[float, list, list]:
    """Wall seconds of epochs 2..N, per-epoch training seconds, per-epoch record() seconds."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model, masks = (mlp if kind == "mlp" else cnn)(rng)
    opt = td.sgd(model)
    session = topograph.connect(db) if db else None
    train_s, call_s = [], []
    start = 0.0
    for epoch in range(1, epochs + 1):
        if epoch == 2:
            start = time.perf_counter()
        t = time.perf_counter()
        td.train_epoch(model, opt, data, rng, masks)
        train_s.append(time.perf_counter() - t)
        if session is not None:
            t = time.perf_counter()
            session.record(model, run=kind, epoch=epoch, metrics={"acc": 0.0})
            call_s.append(time.perf_counter() - t)
    if session is not None:
        session.close()  # waits for the last writes
    return time.perf_counter() - start, train_s, call_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = td.load_digits_split()
    print(f"# record() benchmark ({time.strftime('%Y-%m-%d %H:%M')}), torch {torch.__version__}")
    print(f"{args.epochs} epochs, {args.repeats} repeats, embedded store, 1 torch thread")
    print(f"{'network':>8} {'epoch':>9} {'call':>9} {'call/epoch':>10} {'first':>8} "
          f"{'wall plain':>11} {'wall rec':>9} {'overhead':>9}")  # fmt: skip
    for kind in ("mlp", "cnn"):
        plain, rec, epoch_s, call_s, first = [], [], [], [], []
        for _ in range(args.repeats):
            wall, tr, _ = one(kind, data, args.epochs, None)
            plain.append(wall)
            epoch_s += tr
            with tempfile.TemporaryDirectory() as tmp:
                wall, _, calls = one(kind, data, args.epochs, str(Path(tmp) / "r.lbdb"))
            rec.append(wall)
            first.append(calls[0])
            call_s += calls[1:]
        e, c = statistics.median(epoch_s), statistics.median(call_s)
        p, r = statistics.median(plain), statistics.median(rec)
        f = statistics.median(first)
        print(f"{kind:>8} {e * 1e3:7.1f}ms {c * 1e3:7.2f}ms {c / e:10.2%} {f:7.2f}s "
              f"{p:10.2f}s {r:8.2f}s {(r - p) / p:9.2%}")  # fmt: skip


if __name__ == "__main__":
    main()
