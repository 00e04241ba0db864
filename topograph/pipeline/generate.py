"""Generate networks from the topology constructions and write them as checkpoints.

Why: to study a construction with the same tools as trained networks
(ingest, analyze, query, report), its networks must exist as checkpoints
that the loaders read. :func:`generate_checkpoints` builds them from
:mod:`topograph.constructions`, deterministically from one seed;
:func:`write_reference_layout` writes them in the NNSTD reference layout
(``<run>/epoch_<EEE>/weight_l<K>.npz``: scipy sparse CSR ``(n_in + 1,
n_out)``, last row the bias), with an optional ``testacc.txt`` per run, which
which the loaders read; :func:`write_state_dicts` writes them instead as one
state-dict file per checkpoint (``<run>/epoch_<EEE>.npz``, ``.safetensors``
or ``.pt``: ``layers.<K>.weight`` dense ``(n_out, n_in)`` with zeros where no
connection is, PyTorch's orientation, and ``layers.<K>.bias``), the way a
PyTorch user saves a sparse network. :func:`generate` does both.

Determinism: run ``i`` draws from its own Generator,
``SeedSequence(seed, spawn_key=(i,))``, so a run is the same whatever the
number of runs asked for; the Figure-4 recipe is one chain (each network is
the previous one with 1% of its connections moved), drawn from one
Generator. The same spec gives the same checkpoints (same content hash); the
``.npz`` bytes differ only by the zip members' time stamps.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from topograph.constructions import (
    CONSTRUCTIONS,
    FIGURE4_DENSITY,
    FIGURE4_WIDTHS,
    complete_layer,
    erdos_renyi_layer,
    figure4_networks,
    make_network,
    set_evolution,
)
from topograph.errors import InputError
from topograph.model import Checkpoint, CheckpointKey

__all__ = [
    "FORMATS",
    "GENERATORS",
    "GenerateReport",
    "GenerateSpec",
    "generate",
    "generate_checkpoints",
    "write_reference_layout",
    "write_state_dicts",
]

#: What ``topograph generate`` can build: every layer family, and the Figure-4 recipe.
GENERATORS: tuple[str, ...] = (*CONSTRUCTIONS, "figure4")

#: How checkpoints are written: the NNSTD reference layout, or a state-dict file per checkpoint.
Format = Literal["reference", "npz", "safetensors", "pt"]
FORMATS: tuple[str, ...] = get_args(Format)

#: Largest dense tensor a state-dict format writes (the loaders refuse larger ones anyway).
MAX_DENSE_BYTES = 1024**3


@dataclass(frozen=True)
class GenerateSpec:
    """What to generate.

    ``construction``: a layer family of :data:`topograph.constructions.CONSTRUCTIONS`
    (one per layer of the network) or ``figure4`` (the NNSTD paper's start
    networks: Erdős–Rényi at 0.6 % density, each next network with ``change``
    = 1 % of its connections moved). ``widths``: neurons per position,
    ``(n_0, ..., n_L)``; default the SET networks' 784-784-784-784-10.
    Exactly one of ``degree`` (outputs per input neuron, every family),
    ``density`` (fraction of positions, ``erdos_renyi`` and ``figure4``) or
    ``epsilon`` (SET's rule, density ε(n_in + n_out)/(n_in·n_out) per layer,
    ``erdos_renyi`` only); ``figure4`` defaults to density 0.006.
    ``dense_last``: a dense output layer, as SET keeps it. ``runs``: how many
    networks (runs ``{prefix}_w0 ..``). ``epochs``: SET evolution steps
    after epoch 0 (prune ζ = ``zeta`` of the smallest weights and regrow as
    many at random; no training in between), one checkpoint per epoch.
    ``seed``: the parent of every run's seed.
    """

    construction: str
    widths: tuple[int, ...] = FIGURE4_WIDTHS
    degree: int | None = None
    density: float | None = None
    epsilon: float | None = None
    dense_last: bool = False
    runs: int = 1
    epochs: int = 0
    zeta: float = 0.3
    change: float = 0.01
    seed: int = 0
    prefix: str | None = None

    def __post_init__(self) -> None:
        if self.construction not in GENERATORS:
            raise InputError(
                f"unknown construction {self.construction!r}; known: {', '.join(GENERATORS)}"
            )
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if len(self.widths) < 2 or any(w < 1 for w in self.widths):
            raise InputError(f"widths must be two or more positive ints, got {self.widths}")
        given = [n for n in ("degree", "density", "epsilon") if getattr(self, n) is not None]
        if self.construction == "figure4":
            if self.degree is not None or self.epsilon is not None:
                raise InputError("figure4 takes a density (default 0.006), not a degree or epsilon")
        elif len(given) != 1:
            raise InputError(
                f"{self.construction}: give exactly one of --degree, --density, --epsilon"
            )
        elif self.construction != "erdos_renyi" and given != ["degree"]:
            raise InputError(f"{self.construction}: takes a --degree (outputs per input neuron)")
        for name in ("runs", "epochs", "seed"):
            value = getattr(self, name)
            low = 1 if name == "runs" else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(f"{name} must be an integer of at least {low}, got {value!r}")
        if self.prefix is not None and (not self.prefix or "/" in self.prefix):
            raise InputError(f"prefix must be a non-empty name without '/', got {self.prefix!r}")

    @property
    def run_prefix(self) -> str:
        return self.prefix or f"{self.construction}_s{self.seed}"

    def run_names(self) -> list[str]:
        return [f"{self.run_prefix}_w{i}" for i in range(self.runs)]


def _run_rng(seed: int, i: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))


def _epsilon_network(spec: GenerateSpec, run: str, rng: np.random.Generator) -> Checkpoint:
    assert spec.epsilon is not None
    layers: list[sp.csr_matrix] = []
    pairs = list(zip(spec.widths[:-1], spec.widths[1:], strict=True))
    for k, (n_in, n_out) in enumerate(pairs):
        if spec.dense_last and k == len(pairs) - 1:
            layers.append(complete_layer(n_in, n_out, rng=rng))
        else:
            layers.append(erdos_renyi_layer(n_in, n_out, epsilon=spec.epsilon, rng=rng))
    return Checkpoint(
        run=run, epoch=0, layers=tuple(layers),
        source=f"generate erdos_renyi epsilon={spec.epsilon} seed={spec.seed}",
    )  # fmt: skip


def generate_checkpoints(spec: GenerateSpec) -> list[Checkpoint]:
    """Every checkpoint of ``spec``, by run then epoch (a function of the spec alone)."""
    starts: list[tuple[Checkpoint, np.random.Generator]] = []
    if spec.construction == "figure4":
        chain_rng = np.random.default_rng(spec.seed)
        nets = figure4_networks(
            spec.widths, rng=chain_rng, density=spec.density or FIGURE4_DENSITY,
            change=spec.change, count=spec.runs, dense_last=spec.dense_last,
            prefix=spec.run_prefix,
        )  # fmt: skip
        # evolution after the chain: each run its own Generator again
        starts = [(ck, _run_rng(spec.seed, i)) for i, ck in enumerate(nets)]
    else:
        for i, run in enumerate(spec.run_names()):
            rng = _run_rng(spec.seed, i)
            if spec.epsilon is not None:
                ck = _epsilon_network(spec, run, rng)
            else:
                ck = make_network(
                    spec.construction, spec.widths, rng=rng, degree=spec.degree,
                    density=spec.density, dense_last=spec.dense_last, run=run,
                )  # fmt: skip
            starts.append((ck, rng))
    out: list[Checkpoint] = []
    for ck, rng in starts:
        out.append(ck)
        if spec.epochs:
            out += set_evolution(ck, spec.epochs, rng=rng, zeta=spec.zeta)
    return out


def write_reference_layout(
    checkpoints: Sequence[Checkpoint],
    root: Path,
    accuracy: Mapping[str, Sequence[float]] | None = None,
) -> list[Path]:
    """Write checkpoints as ``root/<run>/epoch_<EEE>/weight_l<K>.npz`` (the NNSTD reference layout).

    Each layer is saved with ``scipy.sparse.save_npz`` as CSR ``(n_in + 1,
    n_out)``: the weights (float32, rows are input neurons) with the bias as
    the last row (zeros where the checkpoint has no bias: the loaders then
    read a zero bias). ``accuracy``: per run, the test accuracy after each
    epoch, index ``E`` for epoch ``E``, written as the run's ``testacc.txt``
    (one value a line, ``repr`` so it reads back equal), the loaders'
    convention. Existing files of the same checkpoints are replaced.
    Returns the checkpoint folders written.
    """
    root = Path(root)
    written: list[Path] = []
    try:
        root.mkdir(parents=True, exist_ok=True)
        for ck in checkpoints:
            if ck.epoch < 0:
                raise InputError(f"{ck.key}: the reference layout has no negative epochs")
            folder = root / ck.run / f"epoch_{ck.epoch:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            for k, w in enumerate(ck.layers):
                if ck.info[k].block != 1:
                    raise InputError(
                        f"{ck.key}: layer {k} is a conv; the reference layout is dense"
                    )
                bias = ck.biases[k]
                last = sp.csr_matrix(
                    np.zeros((1, w.shape[1]), np.float32) if bias is None else bias[None, :]
                )
                stacked = sp.vstack([w, last], format="csr").astype(np.float32)
                sp.save_npz(folder / f"weight_l{k}.npz", stacked, compressed=True)
            written.append(folder)
        for run, curve in (accuracy or {}).items():
            values = [float(v) for v in curve]
            if not all(np.isfinite(values)):
                raise InputError(f"{run}: accuracies must be finite numbers")
            (root / run).mkdir(parents=True, exist_ok=True)
            (root / run / "testacc.txt").write_text("".join(f"{v!r}\n" for v in values))
    except OSError as exc:
        raise InputError(f"{root}: cannot write ({exc.strerror or exc})") from None
    return written


@dataclass
class GenerateReport:
    """What :func:`generate` wrote: the folder, the checkpoints (by key) and the wall time."""

    root: Path
    keys: list[CheckpointKey] = field(default_factory=list)
    edges: int = 0
    seconds: float = 0.0


def _state_dict(ck: Checkpoint) -> dict[str, npt.NDArray[np.float32]]:
    """``layers.<K>.weight`` (n_out, n_in) dense with zeros, ``layers.<K>.bias`` (n_out,)."""
    tensors: dict[str, npt.NDArray[np.float32]] = {}
    for k, w in enumerate(ck.layers):
        if ck.info[k].block != 1:
            raise InputError(f"{ck.key}: layer {k} is a conv; generated networks are dense chains")
        if w.shape[0] * w.shape[1] * 4 > MAX_DENSE_BYTES:
            raise InputError(
                f"{ck.key}: layer {k} ({w.shape[0]} x {w.shape[1]}) is over "
                f"{MAX_DENSE_BYTES // 1024**3} GiB as a dense tensor; use --format reference"
            )
        bias = ck.biases[k]
        tensors[f"layers.{k}.weight"] = np.ascontiguousarray(w.T.toarray(), dtype=np.float32)
        tensors[f"layers.{k}.bias"] = (
            np.zeros(w.shape[1], np.float32) if bias is None else bias.astype(np.float32)
        )
    return tensors


def write_state_dicts(checkpoints: Sequence[Checkpoint], root: Path, fmt: Format) -> list[Path]:
    """Write each checkpoint as one state-dict file ``root/<run>/epoch_<EEE>.<fmt>``.

    ``fmt``: ``npz`` (``numpy.savez``), ``safetensors`` (metadata
    ``{"format": "pt"}``) or ``pt`` (``torch.save`` of a dict of tensors; needs
    torch). Weights are dense ``(n_out, n_in)`` float32 tensors with zeros
    where no connection is (PyTorch's ``nn.Linear`` layout), so a file costs
    ``4 n_in n_out`` bytes per layer whatever the density: O(n^2), unlike
    the sparse reference layout. Read back, each gives the same Checkpoint
    (content hash) as the reference layout. Returns the files written.
    """
    if fmt not in ("npz", "safetensors", "pt"):
        raise InputError(f"unknown state-dict format {fmt!r}; known: npz, safetensors, pt")
    torch: Any = None
    if fmt == "pt":
        try:
            import torch
        except ImportError:
            raise InputError("--format pt needs torch: pip install 'topograph[torch]'") from None
    root = Path(root)
    written: list[Path] = []
    try:
        for ck in checkpoints:
            if ck.epoch < 0:
                raise InputError(f"{ck.key}: file names carry no negative epochs")
            tensors = _state_dict(ck)
            path = root / ck.run / f"epoch_{ck.epoch:03d}.{fmt}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "npz":
                with path.open("wb") as fh:
                    np.savez(fh, **tensors)  # type: ignore[arg-type]  # numpy stubs: allow_pickle
            elif fmt == "safetensors":
                from safetensors.numpy import save_file

                save_file(tensors, str(path), metadata={"format": "pt"})
            else:
                torch.save({k: torch.from_numpy(v) for k, v in tensors.items()}, path)
            written.append(path)
    except OSError as exc:
        raise InputError(f"{root}: cannot write ({exc.strerror or exc})") from None
    return written


def generate(spec: GenerateSpec, out: Path, fmt: Format = "reference") -> GenerateReport:
    """Generate ``spec``'s checkpoints and write them under ``out`` in format ``fmt``.

    ``reference``: the NNSTD reference layout (sparse, the default);
    ``npz``, ``safetensors``, ``pt``: one state-dict file per checkpoint
    (see :func:`write_state_dicts`).
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    started = time.perf_counter()
    checkpoints = generate_checkpoints(spec)
    if fmt == "reference":
        write_reference_layout(checkpoints, Path(out))
    else:
        write_state_dicts(checkpoints, Path(out), fmt)
    return GenerateReport(
        root=Path(out),
        keys=[ck.key for ck in checkpoints],
        edges=sum(ck.nnz for ck in checkpoints),
        seconds=time.perf_counter() - started,
    )
