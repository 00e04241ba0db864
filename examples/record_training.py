"""Record a sparse network's topology while it trains: one call per epoch, no files.

Trains a small MLP on scikit-learn's bundled digits (8x8 images, 10 classes,
no download) with real PyTorch, prunes it by magnitude with
``torch.nn.utils.prune`` after every epoch (so its topology changes), and
records each epoch into the embedded store with ``session.record``. Then it
asks the store how far the topology moved along training and which layers
stopped changing.

Run (needs the ``[torch]`` extra and scikit-learn)::

    pip install -e '.[torch]' scikit-learn
    python examples/record_training.py --db out/record.lbdb --epochs 8
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.nn.utils import prune

import topograph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="out/record.lbdb", help="embedded store (a new file)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--run", default="digits-prune")
    args = parser.parse_args()
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    model = nn.Sequential(
        nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
    )
    linears = [(m, "weight") for m in model if isinstance(m, nn.Linear)]
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    order = np.random.default_rng(0)

    with topograph.connect(args.db) as tg:
        for epoch in range(args.epochs + 1):
            if epoch:
                model.train()
                for idx in torch.from_numpy(order.permutation(len(y_tr))).split(32):
                    opt.zero_grad()
                    F.cross_entropy(model(x_tr[idx]), y_tr[idx]).backward()
                    opt.step()
                # magnitude pruning, 30% more of what is left each epoch (weight_orig + weight_mask)
                prune.global_unstructured(linears, prune.L1Unstructured, amount=0.3)
            model.eval()
            with torch.no_grad():
                acc = (model(x_te).argmax(1) == y_te).float().mean().item()
            tg.record(model, run=args.run, epoch=epoch, metrics={"acc": acc})  # <- the one call
            print(f"epoch {epoch}: test accuracy {acc:.3f}")

        tg.analyze(runs=[args.run], workers=1)
        print(tg.query("evolution_path", run=args.run))
        print(tg.query("layer_density", run=args.run))
        print(tg.query("frozen_layers", threshold=0.05))


if __name__ == "__main__":
    main()
