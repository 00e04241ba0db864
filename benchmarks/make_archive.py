"""A synthetic archive of SET-like training runs, for scale and memory benchmarks.

Run: ``python benchmarks/make_archive.py OUT [--runs 4] [--epochs 250] [--epsilon 11]``

Writes ``runs x epochs`` checkpoints in the NNSTD reference layout
(``OUT/<run>/epoch_<EEE>/weight_l<K>.npz``, scipy sparse ``(n_in + 1, n_out)``,
last row the biases, plus a ``testacc.txt`` per run) of a 784-784-784-784-10
MLP: the three hidden layers start Erdős–Rényi at SET's density for
``--epsilon`` and each epoch runs one SET step (the ζ = 0.3 smallest
weights pruned and regrown at random), the output layer dense. The
defaults give 1,000 checkpoints and about 51 M edges (about 1.2 GB on disk).

Deterministic from ``--seed``: run ``r``'s epoch ``e`` is the same whatever
``--epochs`` says, so ``--epochs 25`` and ``--epochs 125`` write the first
10 % and 50 % of the full archive (the memory benchmark ingests those three).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from topograph.constructions import erdos_renyi_layer, set_evolve_layer

WIDTHS = (784, 784, 784, 784, 10)


def write_checkpoint(folder: Path, layers: list[sp.csr_matrix], rng: np.random.Generator) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, w in enumerate(layers):
        bias = sp.csr_matrix(rng.standard_normal((1, w.shape[1])).astype(np.float32))
        sp.save_npz(folder / f"weight_l{k}.npz", sp.vstack([w, bias], format="csr"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=250)
    parser.add_argument("--epsilon", type=float, default=11.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    edges = 0
    for r in range(args.runs):
        rng = np.random.default_rng([args.seed, r])
        layers = [
            erdos_renyi_layer(n_in, n_out, rng=rng, epsilon=args.epsilon)
            for n_in, n_out in itertools.pairwise(WIDTHS[:-1])
        ]
        layers.append(sp.csr_matrix(rng.standard_normal(WIDTHS[-2:]).astype(np.float32)))
        acc = []
        run_dir = args.out / f"synthetic_r{r}"
        for e in range(args.epochs):
            if e:
                layers[:-1] = [set_evolve_layer(w, 0.3, rng=rng) for w in layers[:-1]]
            write_checkpoint(run_dir / f"epoch_{e:03d}", layers, rng)
            edges += sum(w.nnz for w in layers)
            acc.append(0.1 + 0.8 * (1 - np.exp(-e / 30)))
        (run_dir / "testacc.txt").write_text("".join(f"{float(a)!r}\n" for a in acc))
    print(
        f"wrote {args.runs * args.epochs} checkpoints, {edges:,} edges, to {args.out} "
        f"in {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
