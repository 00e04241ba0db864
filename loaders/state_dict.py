"""From named arrays to a :class:`~topograph.model.Checkpoint`: the one converter.

Every format reader (``.pt``, ``.safetensors``, Keras, ``.npz``) ends in a
:class:`TensorSet`: an ordered mapping name -> numpy array, with the masks
found beside it, what the file says about epoch and accuracy, and the
format's usual orientation. :func:`to_checkpoint` turns it into a Checkpoint
and an :class:`Inspection` (what ``topograph inspect`` prints). It is also the
converter for live state dicts (:func:`checkpoint_from_state_dict`).

What it does, in order:

1. **Names.** A ``module.`` (DataParallel/DDP) or ``_orig_mod.``
   (``torch.compile``) prefix shared by every name is removed.
2. **Pruning conventions.** ``P.weight_orig`` + ``P.weight_mask``
   (``torch.nn.utils.prune``) become ``P.weight`` = ``orig * mask``, topology
   from the mask; ``P.parametrizations.weight.original`` (``torch.ao.pruning``)
   becomes ``P.weight`` with the mask from ``P.parametrizations.weight.0.mask``
   or from the masks found beside the state dict (the sparsifier's state);
   RigL-style ``masks`` dicts attach by weight name (``fc1.weight`` or
   ``fc1``). The effective weight is ``weight * mask``: non-zero weights
   outside the mask become 0, and the inspection counts them; mask entries
   over a zero weight are counted too (a Checkpoint keeps non-zero weights
   only, so they cannot be edges).
3. **Candidates.** Arrays named ``*.weight`` / ``*.kernel``: 2-D are dense
   layers, 4-D convolutions. 1-D weights (BatchNorm, LayerNorm scales),
   embeddings (by name) and everything that is neither weight nor bias are
   skipped and reported. A 3-D (Conv1d) or 5-D (Conv3d) weight is refused: an
   unsupported layer kind (leave it out with a mapping file).
4. **Chain.** In the file's order (or natural name order where the format
   keeps none), each candidate that chains onto the previous one joins the
   chain; one that does not but reads the output of an earlier layer (a
   second head, a shortcut) is skipped and reported; one that reads nothing
   the chain gives is an error. Where the names' order does not chain, the
   chain is followed by shapes instead when that is unambiguous. A dense
   layer after a conv of ``C`` channels with ``C * B`` inputs reads a flatten
   of ``C x (B positions)``: ``LayerInfo.block = B``. A mapping file
   (:mod:`topograph.loaders.mapping`) replaces this step.
5. **Orientation.** Both PyTorch's ``[out, in]`` (conv ``[out, in, kh, kw]``)
   and Keras's ``[in, out]`` (conv ``[kh, kw, in, out]``) are tried, biases
   included (a bias has one value per output). The one that chains wins;
   where both chain (square layers) or chain equally far, the format decides
   (:attr:`TensorSet.convention`); a mapping file's ``orientation`` overrides
   both. The rule that applied is in :attr:`Inspection.orientation_rule`.
6. **Flatten order.** A dense layer after a flatten has its rows in channel
   blocks (``c * H*W + p``). Keras flattens channels-last (``p * C + c``), so
   such a layer's rows are reordered into channel blocks (said in the layer's
   notes). Which order applies: the mapping's ``flatten``, else the file's
   own (Keras ``config.json``'s ``data_format``), else channels-last for
   Keras orientation and channels-first for PyTorch.

Size limits (:data:`MAX_TENSOR_BYTES`, :data:`MAX_CHECKPOINT_BYTES`) are
checked by the readers on *declared* shapes, before any array is read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from topograph.errors import InputError
from topograph.loaders.limits import EdgeTally, check_layer_neurons
from topograph.loaders.mapping import FlattenOrder, LayerMapping, MappedLayer, Orientation
from topograph.model import Checkpoint, LayerInfo, LayerKind

__all__ = [
    "MAX_CHECKPOINT_BYTES",
    "MAX_TENSOR_BYTES",
    "Inspection",
    "LayerReport",
    "SizeBudget",
    "TensorSet",
    "checkpoint_from_state_dict",
    "inspect_state_dict",
    "natural_key",
    "tensor_set_from_object",
    "to_checkpoint",
]

#: Largest array a reader accepts, by its declared shape x item size: 4 GiB.
MAX_TENSOR_BYTES = 4 * 1024**3
#: Largest sum of declared array sizes in one checkpoint file: 8 GiB.
MAX_CHECKPOINT_BYTES = 8 * 1024**3

#: Where the order of a TensorSet's arrays came from.
OrderSource = Literal["file", "sorted", "config"]

_ORDER_TEXT = {
    "file": "the file's order",
    "sorted": "names in natural order (the format keeps no order)",
    "config": "the model's order from its config.json",
}
_DENSE_TEXT = {"pytorch": "[out, in]", "keras": "[in, out]"}
_CONV_TEXT = {"pytorch": "[out, in, kh, kw]", "keras": "[kh, kw, in, out]"}
ORIENTATION_TEXT = {
    "pytorch": "[out, in] (PyTorch; conv [out, in, kh, kw])",
    "keras": "[in, out] (Keras; conv [kh, kw, in, out])",
}

#: Keys of a wrapper dict that hold the model's state dict, in order of preference.
WRAPPER_KEYS = (
    "model_state_dict",
    "state_dict",
    "model",
    "model_state",
    "net",
    "network",
    "module",
    "weights",
    "params",
)
#: Keys of a wrapper dict that hold masks by weight name (RigL-style).
MASK_KEYS = ("masks", "mask")
#: Keys holding a torch.ao.pruning sparsifier's state (masks under state[fqn]["mask"]).
SPARSIFIER_KEYS = ("sparsifier_state_dict", "sparsifier")
#: Keys read as the epoch, and as the accuracy, from a checkpoint (first found).
EPOCH_KEYS = ("epoch",)
ACCURACY_KEYS = ("accuracy", "acc", "test_accuracy", "test_acc", "val_accuracy", "val_acc")

_PREFIXES = {"module.": "DataParallel/DDP", "_orig_mod.": "torch.compile"}
_UNSUPPORTED = {3: "Conv1d", 5: "Conv3d"}
_PRUNE = "weight_mask, torch.nn.utils.prune"
_BATCHNORM = "BatchNorm (running statistics beside it): normalisation, not topology"
_BRANCH = "reads {} but is not on the main chain (a second head or a shortcut)"
_EMBEDDING = re.compile(r"(?i)(^|[._])(\w*embed\w*|wte|wpe)$")


# -- size limits -----------------------------------------------------------------
class SizeBudget:
    """Checks declared array sizes against the limits before anything is read.

    A file can declare a shape far larger than itself (HDF5 fill values,
    safetensors offsets, ``.npy`` headers); reading it would exhaust memory.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self.total = 0

    def check(self, name: str, shape: tuple[int, ...], itemsize: int) -> None:
        """Refuse one array over :data:`MAX_TENSOR_BYTES` or a file over the total."""
        if any(int(d) < 0 for d in shape):
            raise InputError(f"{self.where}: {name} declares a negative dimension {shape}")
        nbytes = math.prod(int(d) for d in shape) * int(itemsize)  # Python ints: no overflow
        if nbytes > MAX_TENSOR_BYTES:
            raise InputError(
                f"{self.where}: {name} declares shape {tuple(int(d) for d in shape)} "
                f"({nbytes:,} bytes), over the {MAX_TENSOR_BYTES:,}-byte limit per array; "
                "refused before reading"
            )
        self.total += nbytes
        if self.total > MAX_CHECKPOINT_BYTES:
            raise InputError(
                f"{self.where}: arrays declare {self.total:,} bytes in all, over the "
                f"{MAX_CHECKPOINT_BYTES:,}-byte limit per checkpoint; refused before reading"
            )


# -- what readers give ---------------------------------------------------------------
@dataclass
class TensorSet:
    """What a format reader found in one file, before any layer is chosen.

    ``arrays``: name -> array in ``order``; ``convention``: the orientation
    the format usually stores (decides only when chaining cannot);
    ``masks``: masks found beside the state dict, by weight name;
    ``flatten``: the flatten order the file declares (Keras config), if any;
    ``epoch``/``accuracy``: values stored inside the file; ``skipped``:
    (name, why) of what the reader saw and did not read; ``notes``: anything
    else worth saying in the inspection.
    """

    arrays: dict[str, npt.NDArray[Any]]
    fmt: str
    convention: Orientation
    order: OrderSource = "file"
    masks: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    flatten: FlattenOrder | None = None
    epoch: int | None = None
    accuracy: float | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LayerReport:
    """One layer of the chain as ``topograph inspect`` shows it.

    ``shape``: as stored in the file; ``orientation``: how that shape was
    read; ``inputs``/``outputs``: neurons (channels for convs); ``block``:
    matrix rows per input neuron; ``nnz``/``density``: non-zero weights and
    their fraction of the layer's matrix; ``topology``: ``mask`` or
    ``zeros``, with where the mask came from.
    """

    position: int
    name: str
    kind: str
    shape: tuple[int, ...]
    orientation: str
    inputs: int
    outputs: int
    block: int
    nnz: int
    density: float
    topology: str
    bias: str | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inspection:
    """What a loader found in one checkpoint and what it did with it."""

    source: str
    format: str
    run: str
    epoch: int
    accuracy: float | None
    orientation: Orientation
    orientation_rule: str
    order_rule: str
    layers: tuple[LayerReport, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    epoch_from: str = ""
    accuracy_from: str = ""
    detected: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``topograph inspect --format json``)."""
        out = asdict(self)
        out["skipped"] = [{"name": n, "why": w} for n, w in self.skipped]
        return out

    def to_text(self) -> str:
        """The human-readable report, one block per checkpoint."""
        acc = "unknown" if self.accuracy is None else repr(self.accuracy)
        lines = [
            f"{self.source}",
            f"  format       {self.format}" + (f"  [{self.detected}]" if self.detected else ""),
            f"  checkpoint   run {self.run!r}, epoch {self.epoch}"
            + (f" ({self.epoch_from})" if self.epoch_from else "")
            + f", accuracy {acc}"
            + (f" ({self.accuracy_from})" if self.accuracy_from else ""),
            f"  orientation  {ORIENTATION_TEXT[self.orientation]}: {self.orientation_rule}",
            f"  order        {self.order_rule}",
            "  layers",
        ]
        head = (
            "#", "name", "kind", "shape", "orientation", "in -> out", "nnz", "density", "topology",
        )  # fmt: skip
        rows = [
            (
                str(r.position),
                r.name,
                r.kind,
                "x".join(map(str, r.shape)),
                r.orientation,
                f"{r.inputs} -> {r.outputs}",
                str(r.nnz),
                f"{r.density:.4f}",
                r.topology,
            )
            for r in self.layers
        ]
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]

        def fmt_row(row: tuple[str, ...]) -> str:
            return "    " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

        lines.append(fmt_row(head))
        for r, row in zip(self.layers, rows, strict=True):
            lines.append(fmt_row(row))
            bias = f"bias {r.bias}" if r.bias else "no bias"
            lines.extend(f"       {note}" for note in (bias, *r.notes))
        lines.append("  skipped" + ("" if self.skipped else "      nothing"))
        lines.extend(f"    {name}: {why}" for name, why in self.skipped)
        if self.notes:
            lines.append("  notes")
            lines.extend(f"    {n}" for n in self.notes)
        return "\n".join(lines)


# -- from Python objects (torch.load results, live state dicts) ----------------------------
def _is_tensor(x: object) -> bool:
    return isinstance(x, np.ndarray) or (
        hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "detach")
    )


def default_as_array(x: Any) -> npt.NDArray[Any]:
    """A numpy array from a numpy array or a torch tensor (duck-typed: no torch import).

    Half precision (float16, bfloat16) is widened to float32 exactly; sparse
    and quantized tensors are refused (their dense values would be a guess).
    """
    if isinstance(x, np.ndarray):
        return x
    t = x.detach()
    if getattr(t, "is_quantized", False):
        raise ValueError("a quantized tensor (dequantize it before saving)")
    layout = str(getattr(t, "layout", "torch.strided"))
    if layout != "torch.strided":
        raise ValueError(f"a sparse tensor ({layout}); save it dense (tensor.to_dense())")
    t = t.cpu()
    if str(t.dtype) in ("torch.bfloat16", "torch.float16"):
        t = t.float()
    return np.asarray(t.numpy())


def _scalar(x: object) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int | float | np.integer | np.floating):
        return float(x)
    if _is_tensor(x) and tuple(getattr(x, "shape", (1,))) == ():
        try:
            value = x.item()  # type: ignore[attr-defined]
        except (AttributeError, TypeError, ValueError, RuntimeError):
            return None
        return None if isinstance(value, bool) else float(value)
    return None


def _tensors(m: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): v for k, v in m.items() if _is_tensor(v)}


def _find_state(obj: Mapping[Any, Any]) -> tuple[dict[str, Any], str] | None:
    for key in WRAPPER_KEYS:
        value = obj.get(key)
        if isinstance(value, Mapping):
            found = _find_state(value)
            if found is not None:
                return found[0], key + ("/" + found[1] if found[1] else "")
    tensors = _tensors(obj)
    return (tensors, "") if any(tuple(t.shape) != () for t in tensors.values()) else None


def tensor_set_from_object(
    obj: object,
    *,
    fmt: str,
    convention: Orientation,
    where: str,
    as_array: Callable[[Any], npt.NDArray[Any]] = default_as_array,
) -> TensorSet:
    """A :class:`TensorSet` from a loaded checkpoint object (nested dicts of tensors).

    The state dict is the dict itself when it holds tensors, else the first
    of :data:`WRAPPER_KEYS` that does (looked for again inside it: a
    ``{"model": {"state_dict": ...}}`` is found). Masks come from
    :data:`MASK_KEYS` and a sparsifier's state (:data:`SPARSIFIER_KEYS`);
    epoch and accuracy from :data:`EPOCH_KEYS` and :data:`ACCURACY_KEYS` at
    the top level. Every other top-level entry is reported as skipped.
    """
    if not isinstance(obj, Mapping):
        raise InputError(
            f"{where}: holds a {type(obj).__name__}, not a dict of tensors (a state dict)"
        )
    found = _find_state(obj)
    if found is None:
        raise InputError(
            f"{where}: no tensors found, neither at the top level nor under "
            f"{', '.join(WRAPPER_KEYS)}"
        )
    state, path = found

    def convert(name: str, t: Any) -> npt.NDArray[Any]:
        try:
            return as_array(t)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise InputError(f"{where}: {name} is {exc}") from None

    ts = TensorSet({}, fmt, convention)
    ts.arrays = {name: convert(name, t) for name, t in state.items()}
    if path:
        ts.notes.append(f"state dict found under {path!r}")
    used = {path.split("/", 1)[0]} if path else set(state)
    for key in MASK_KEYS:
        value = obj.get(key)
        if isinstance(value, Mapping) and _tensors(value):
            ts.masks.update({n: convert(f"{key}/{n}", t) for n, t in _tensors(value).items()})
            used.add(key)
    for key in SPARSIFIER_KEYS:
        value = obj.get(key)
        if not isinstance(value, Mapping):
            continue
        per_tensor = value.get("state")
        if isinstance(per_tensor, Mapping):
            for fqn, st in per_tensor.items():
                if isinstance(st, Mapping) and _is_tensor(st.get("mask")):
                    ts.masks[str(fqn)] = convert(f"{key}/state/{fqn}/mask", st["mask"])
            used.add(key)
    for key in EPOCH_KEYS:
        value = _scalar(obj.get(key))
        if value is not None and value == int(value):
            ts.epoch = int(value)
            used.add(key)
            ts.arrays.pop(key, None)
            break
    for key in ACCURACY_KEYS:
        value = _scalar(obj.get(key))
        if value is not None:
            ts.accuracy = value
            used.add(key)
            ts.arrays.pop(key, None)
            break
    for key, value in obj.items():
        key = str(key)
        if key in used:
            continue
        if "optim" in key.lower():
            ts.skipped.append((key, "optimizer state, not the model: not read"))
        elif _is_tensor(value):
            ts.skipped.append((key, f"a tensor beside the state dict (found under {path!r})"))
        elif isinstance(value, Mapping | list | tuple):
            what = type(value).__name__
            ts.skipped.append((key, f"a {what} that is not the state dict: not read"))
    return ts


# -- names -------------------------------------------------------------------------------
def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts ``fc2`` before ``fc10`` and ``dense_2`` before ``dense_10``."""
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", name) if t)


def _strip_prefixes(names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Old name -> new name with shared wrapper prefixes removed, and notes saying so."""
    mapping = {n: n for n in names}
    notes: list[str] = []
    changed = True
    while changed and names:
        changed = False
        for prefix, why in _PREFIXES.items():
            if all(new.startswith(prefix) for new in mapping.values()):
                mapping = {old: new[len(prefix) :] for old, new in mapping.items()}
                notes.append(f"prefix {prefix!r} ({why}) removed from every name")
                changed = True
    return mapping, notes


def _unprefixed(name: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if name.startswith(prefix):
                name, changed = name[len(prefix) :], True
    return name


def _split(name: str) -> tuple[str, str]:
    base, _, last = name.rpartition(".")
    return base, last


# -- the converter -----------------------------------------------------------------------------
@dataclass
class _Entry:
    """One resolved array: its values as stored and, when the format has one, its mask."""

    name: str
    array: npt.NDArray[Any]
    mask: npt.NDArray[Any] | None = None
    mask_from: str = ""
    origin: str = ""  # the file's own name(s), when resolving changed it

    def masked(self) -> npt.NDArray[Any]:
        """The effective values: ``array * mask`` (a pruned bias, ``bias_orig * bias_mask``)."""
        if self.mask is None:
            return self.array
        return np.where(self.mask.astype(bool), self.array, np.zeros((), self.array.dtype))


@dataclass(frozen=True)
class _Parsed:
    """A candidate weight read under one orientation."""

    entry: _Entry
    kind: LayerKind
    n_in: int
    n_out: int
    kernel: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def shape(self) -> str:
        return "x".join(map(str, self.entry.array.shape))

    def first_block(self) -> int:
        return math.prod(self.kernel) if self.kind == "conv" else 1


def _parse(entry: _Entry, orientation: Orientation) -> _Parsed:
    a = entry.array
    if a.ndim == 2:
        out, inp = a.shape if orientation == "pytorch" else a.shape[::-1]
        return _Parsed(entry, "dense", int(inp), int(out), ())
    if orientation == "pytorch":
        out, inp, kh, kw = a.shape
    else:
        kh, kw, inp, out = a.shape
    return _Parsed(entry, "conv", int(inp), int(out), (int(kh), int(kw)))


def _block(prev: _Parsed, nxt: _Parsed) -> int | None:
    """Rows per input neuron when ``nxt`` reads ``prev``'s output, else None."""
    if nxt.kind == "conv":
        return math.prod(nxt.kernel) if nxt.n_in == prev.n_out else None
    if nxt.n_in == prev.n_out:
        return 1
    if prev.kind == "conv" and nxt.n_in % prev.n_out == 0:
        return nxt.n_in // prev.n_out  # a flatten of n_out channels x block positions
    return None


@dataclass
class _Chain:
    layers: list[tuple[_Parsed, int]]
    skipped: list[tuple[_Parsed, str]]
    error: str | None
    order_rule: str


def _feeds(c: _Parsed, chain: list[tuple[_Parsed, int]]) -> str | None:
    """What on the chain ``c`` could read from (it branches off there), or None."""
    source = None
    for p, _ in chain:
        if _block(p, c) is not None:
            source = p.name
    return source


def _no_chain_message(c: _Parsed, chain: list[tuple[_Parsed, int]]) -> str:
    last = chain[-1][0]
    hint = (
        " (a grouped or depthwise convolution? those are not supported)"
        if c.kind == "conv" and c.n_in == 1
        else ""
    )
    return (
        f"{c.name} [{c.shape}] takes {c.n_in} inputs, but no layer before it gives "
        f"{c.n_in} outputs (the chain so far ends with {last.name}, {last.n_out} outputs)"
        f"{hint}: the shapes do not chain"
    )


def _greedy(cands: list[_Parsed], order_rule: str) -> _Chain:
    chain = [(cands[0], cands[0].first_block())]
    aside: list[_Parsed] = []
    for c in cands[1:]:
        block = _block(chain[-1][0], c)
        if block is None:
            aside.append(c)
        else:
            chain.append((c, block))
    skipped = []
    for c in aside:
        source = _feeds(c, chain)
        if source is None:
            return _Chain(chain, [], _no_chain_message(c, chain), order_rule)
        skipped.append((c, _BRANCH.format(source)))
    return _Chain(chain, skipped, None, order_rule)


def _by_shapes(cands: list[_Parsed]) -> _Chain | None:
    """Follow the chain by shapes alone, where each step has exactly one way on."""
    n = len(cands)
    succ = {i: [j for j in range(n) if j != i and _block(cands[i], cands[j])] for i in range(n)}
    has_pred = {j for js in succ.values() for j in js}
    starts = [i for i in range(n) if i not in has_pred]
    if len(starts) != 1:
        return None
    path, seen = [starts[0]], {starts[0]}
    while True:
        nxt = [j for j in succ[path[-1]] if j not in seen]
        if not nxt:
            break
        if len(nxt) > 1:
            return None
        path.append(nxt[0])
        seen.add(nxt[0])
    chain = [(cands[path[0]], cands[path[0]].first_block())]
    for i in path[1:]:
        block = _block(chain[-1][0], cands[i])
        assert block is not None
        chain.append((cands[i], block))
    skipped = []
    for i in range(n):
        if i in seen:
            continue
        source = _feeds(cands[i], chain)
        if source is None:
            return None
        skipped.append((cands[i], _BRANCH.format(source)))
    return _Chain(chain, skipped, None, "chained by shapes (the names' order does not chain)")


def _mapped_chain(cands: list[_Parsed]) -> _Chain:
    chain = [(cands[0], cands[0].first_block())]
    for c in cands[1:]:
        prev = chain[-1][0]
        block = _block(prev, c)
        if block is None:
            return _Chain(
                chain,
                [],
                f"{c.name} [{c.shape}] does not chain after {prev.name} [{prev.shape}]: it takes "
                f"{c.n_in} inputs, {prev.name} gives {prev.n_out} outputs",
                "mapping file",
            )
        chain.append((c, block))
    return _Chain(chain, [], None, "mapping file")


def _check_mask(entry: _Entry, mask: npt.NDArray[Any], where: str, what: str) -> None:
    if mask.shape != entry.array.shape:
        raise InputError(
            f"{where}: {what} has shape {mask.shape}, its weight {entry.name} {entry.array.shape}"
        )
    if mask.dtype != np.bool_:
        if not np.issubdtype(mask.dtype, np.number) or not np.isin(mask, (0, 1)).all():
            raise InputError(f"{where}: {what} holds values other than 0 and 1: not a mask")


class _Resolved:
    """The arrays of a TensorSet after prefixes, pruning conventions and masks."""

    def __init__(self, ts: TensorSet, where: str) -> None:
        self.where = where
        self.notes: list[str] = []
        self.skipped: list[tuple[str, str]] = list(ts.skipped)
        names = list(ts.arrays)
        if ts.order == "sorted":
            names.sort(key=natural_key)
        rename, notes = _strip_prefixes(names)
        self.notes += notes
        arrays = {rename[n]: ts.arrays[n] for n in names}
        mask_rename, _ = _strip_prefixes(list(ts.masks))
        self.masks = {_unprefixed(mask_rename[n]): m for n, m in ts.masks.items()}
        self.arrays = arrays
        self.entries: dict[str, _Entry] = {}
        self.used_masks: set[str] = set()
        # torch.nn.utils.prune's masks, whatever the order (safetensors sorts them first)
        consumed: set[str] = {
            n[: -len("_orig")] + "_mask"
            for n in arrays
            if n.endswith("_orig") and n[: -len("_orig")] + "_mask" in arrays
        }
        for name, array in arrays.items():
            if name in consumed:
                continue
            if name.endswith("_orig") and (
                name.endswith((".weight_orig", ".bias_orig")) or name[:-5] + "_mask" in arrays
            ):
                target, mask_name = name[: -len("_orig")], name[: -len("_orig")] + "_mask"
                if mask_name not in arrays:
                    raise InputError(
                        f"{where}: {name} has no {mask_name} beside it "
                        "(torch.nn.utils.prune saves both)"
                    )
                entry = _Entry(target, array, arrays[mask_name], _PRUNE)
                entry.origin = f"{name} * {mask_name}"
                _check_mask(entry, arrays[mask_name], where, mask_name)
                self.entries[target] = entry
                consumed |= {name, mask_name}
                continue
            m = re.fullmatch(r"(.*)\.parametrizations\.(\w+)\.(original\d*)", name)
            if m:
                target = f"{m.group(1)}.{m.group(2)}"
                if m.group(3) != "original":
                    raise InputError(
                        f"{where}: {name}: a parametrization of several tensors (weight_norm?) "
                        "is not a mask; the weight cannot be computed from the file"
                    )
                inline = f"{m.group(1)}.parametrizations.{m.group(2)}.0.mask"
                if inline in arrays:
                    mask, source = arrays[inline], inline
                    consumed.add(inline)
                elif target in self.masks:
                    mask, source = self.masks[target], "the sparsifier's state, torch.ao.pruning"
                    self.used_masks.add(target)
                else:
                    raise InputError(
                        f"{where}: {name} has no mask: torch.ao.pruning keeps the masks in the "
                        "sparsifier's state_dict(), not the model's; save it beside the model "
                        "(as 'sparsifier_state_dict') or squash_mask() before saving"
                    )
                entry = _Entry(target, array, mask, source, origin=name)
                _check_mask(entry, mask, where, f"the mask of {name}")
                self.entries[target] = entry
                consumed.add(name)
                continue
            if re.fullmatch(r".*\.parametrizations\.\w+\.0\.mask", name):
                continue  # attached to its `original` (or reported below when alone)
            self.entries[name] = _Entry(name, array)
        for name in arrays:
            if name not in consumed and name not in self.entries:
                self.skipped.append((name, "a parametrization's mask without its `original`"))

    def attach_masks(self, weights: list[_Entry]) -> None:
        """Masks kept beside the weights (RigL-style dicts, ``P.mask`` arrays)."""
        for e in weights:
            if e.mask is not None:
                continue
            base, _ = _split(e.name)
            for key in (e.name, base):
                if key and key in self.masks:
                    _check_mask(e, self.masks[key], self.where, f"the mask of {e.name}")
                    e.mask, e.mask_from = self.masks[key], "masks dict beside the state dict"
                    self.used_masks.add(key)
                    break
            else:
                for key in (f"{e.name}_mask", f"{base}.mask"):
                    other = self.entries.get(key)
                    if other is not None and other.array.shape == e.array.shape:
                        _check_mask(e, other.array, self.where, key)
                        e.mask, e.mask_from = other.array, key
                        del self.entries[key]
                        break

    def unused_masks(self) -> list[tuple[str, str]]:
        return [
            (f"masks/{k}", "a mask for a weight that is not in the chain")
            for k in self.masks
            if k not in self.used_masks
        ]


def _why_not_a_weight(name: str, entries: dict[str, _Entry]) -> str:
    base, last = _split(name)
    if f"{base}.running_mean" in entries or f"{base}.running_var" in entries:
        return _BATCHNORM
    return "not a weight or a bias" if last not in ("weight", "kernel") else ""


def _orient_label(p: _Parsed, orientation: Orientation) -> str:
    return (_CONV_TEXT if p.kind == "conv" else _DENSE_TEXT)[orientation]


@dataclass
class _Plan:
    chain: _Chain
    biases: dict[str, tuple[str, npt.NDArray[Any]]]


def _find_entry(name: str, entries: dict[str, _Entry], suffixes: tuple[str, ...]) -> str | None:
    name = _unprefixed(name)
    for candidate in (name, *(f"{name}.{s}" for s in suffixes)):
        if candidate in entries:
            return candidate
    return None


def to_checkpoint(
    ts: TensorSet,
    *,
    run: str,
    epoch: int,
    source: str,
    accuracy: float | None = None,
    mapping: LayerMapping | None = None,
) -> tuple[Checkpoint, Inspection]:
    """Turn a :class:`TensorSet` into a Checkpoint and its :class:`Inspection`.

    ``source`` names the file in messages and in ``Checkpoint.source``.
    Raises :class:`InputError` (one line naming the file and the layer) when
    no chain can be found, a layer kind is unsupported, a mask is not 0/1 or
    of the wrong shape, or the Checkpoint's own checks fail.
    """
    where = source
    res = _Resolved(ts, where)
    entries = res.entries
    skipped: list[tuple[str, str]] = list(res.skipped)
    weights: list[_Entry] = []
    biases: dict[str, tuple[str, npt.NDArray[Any]]] = {}
    if mapping is not None:
        weights, biases, skipped = _mapped_entries(mapping, res, skipped)
    else:
        res.attach_masks([e for n, e in entries.items() if _split(n)[1] in ("weight", "kernel")])
        for name, e in list(entries.items()):
            base, last = _split(name)
            if last == "bias":
                biases[base] = (name, e.masked())
                continue
            why = _why_not_a_weight(name, entries)
            if why:
                skipped.append((name, why))
            elif _EMBEDDING.search(base):
                skipped.append((name, "an embedding: a lookup table, not a layer of the chain"))
            elif e.array.ndim in _UNSUPPORTED or e.array.ndim > 5:
                kind = _UNSUPPORTED.get(e.array.ndim, f"{e.array.ndim}-D")
                raise InputError(
                    f"{where}: {name} {tuple(e.array.shape)} is a {e.array.ndim}-D weight "
                    f"({kind}): an unsupported layer kind (topograph reads 2-D Linear/Dense and "
                    "4-D Conv2d weights); name the supported layers in a --mapping file to "
                    "leave it out"
                )
            elif e.array.ndim in (2, 4):
                weights.append(e)
            else:
                skipped.append(
                    (
                        name,
                        "1-D: a normalisation scale (BatchNorm, LayerNorm), not a layer"
                        if e.array.ndim == 1
                        else "a scalar, not a layer",
                    )
                )
        if not weights:
            raise InputError(
                f"{where}: no Linear/Dense or Conv2d weights found (arrays named *.weight or "
                "*.kernel, 2-D or 4-D); name the layers in a --mapping file"
            )
    skipped += res.unused_masks()

    orientations: list[Orientation] = (
        [mapping.orientation]
        if mapping is not None and mapping.orientation is not None
        else [ts.convention, "keras" if ts.convention == "pytorch" else "pytorch"]
    )
    plans: dict[Orientation, _Plan] = {}
    for o in orientations:
        plans[o] = _plan(weights, biases, o, ts, mapping)
    ok = {o: p for o, p in plans.items() if p.chain.error is None}
    if not ok:
        err = plans[orientations[0]].chain.error
        hint = "" if mapping is not None else "; name the layers in order in a --mapping file"
        raise InputError(f"{where}: {err}{hint}")
    if mapping is not None and mapping.orientation is not None:
        orientation = mapping.orientation
        rule = "the mapping file says so"
    elif len(ok) == 1:
        orientation = next(iter(ok))
        rule = "chaining: the other orientation does not fit the shapes and biases"
        if orientation != ts.convention:
            rule += f" (although {ts.fmt} usually stores {ORIENTATION_TEXT[ts.convention]})"
    else:
        a, b = (len(ok[o].chain.layers) for o in orientations)
        if a != b:
            orientation = orientations[0] if a > b else orientations[1]
            rule = f"chaining: it chains {max(a, b)} layers, the other orientation {min(a, b)}"
        else:
            orientation = ts.convention
            rule = f"format: both orientations chain (square layers), and {ts.fmt} stores this one"
    plan = ok[orientation]
    chain = plan.chain

    flatten: FlattenOrder = (
        (mapping.flatten if mapping is not None else None)
        or ts.flatten
        or ("channels_last" if orientation == "keras" else "channels_first")
    )
    flatten_rule = (
        "the mapping file"
        if mapping is not None and mapping.flatten
        else "the file's config"
        if ts.flatten
        else f"{'Keras' if orientation == 'keras' else 'PyTorch'} orientation"
    )
    layers: list[sp.csr_matrix] = []
    layer_biases: list[npt.NDArray[Any] | None] = []
    infos: list[LayerInfo] = []
    extra_notes: list[list[str]] = []
    bias_names: list[str | None] = []
    used_bias: set[str] = set()
    tally = EdgeTally(where)
    for k, (p, block) in enumerate(chain.layers):
        e = p.entry
        notes: list[str] = []
        if e.origin:
            notes.append(f"from {e.origin}")
        values = e.array
        if e.mask is not None:
            keep = e.mask.astype(bool)
            outside = int(np.count_nonzero(values[~keep]))
            hollow = int(np.count_nonzero(keep & (values == 0)))
            values = np.where(keep, values, np.zeros((), dtype=values.dtype))
            if outside:
                notes.append(
                    f"{outside} non-zero weights outside the mask set to 0 (weight * mask)"
                )
            if hollow:
                notes.append(
                    f"{hollow} mask entries hold a zero weight: not edges (only non-zero "
                    "weights are stored)"
                )
        if values.dtype == np.float16:
            values = values.astype(np.float32)
        if p.kind == "dense":
            matrix = values.T if orientation == "pytorch" else values
            if block > 1 and flatten == "channels_last":
                channels = chain.layers[k - 1][0].n_out
                positions, chans = np.arange(block)[None, :], np.arange(channels)[:, None]
                order = (positions * channels + chans).ravel()
                matrix = matrix[order]
                notes.append(
                    "rows reordered from a channels-last flatten ((y*W + x)*C + c, "
                    f"C = {channels}) into channel blocks of {block} (rule: {flatten_rule})"
                )
            elif block > 1:
                notes.append(
                    f"reads a channels-first flatten: c*{block} + position (rule: {flatten_rule})"
                )
        else:
            oihw = values if orientation == "pytorch" else values.transpose(3, 2, 0, 1)
            matrix = oihw.reshape(p.n_out, -1).T
        check_layer_neurons(f"{where}: {e.name}", *matrix.shape)
        layers.append(sp.csr_matrix(matrix))
        tally.add(layers[-1].nnz)
        bias = plan.biases.get(e.name)
        layer_biases.append(None if bias is None else bias[1])
        bias_names.append(None if bias is None else bias[0])
        if bias is not None:
            used_bias.add(bias[0])
        infos.append(
            LayerInfo(
                name=e.name,
                kind=p.kind,
                kernel=p.kernel,
                block=block,
                topology="mask" if e.mask is not None else "zeros",
            )
        )
        extra_notes.append(notes)
    for c, why in chain.skipped:
        skipped.append((f"{c.name} [{c.shape}]", why))
    for base, (name, _arr) in biases.items():
        if name in used_bias:
            continue
        owner = f"{base}.weight" if f"{base}.weight" in entries else f"{base}.kernel"
        if f"{base}.running_mean" in entries:
            why = _BATCHNORM
        elif any(c.name == owner for c, _ in chain.skipped):
            why = f"bias of {owner}, which is skipped"
        else:
            why = "a bias without a layer in the chain"
        skipped.append((name, why))

    ckpt = Checkpoint(
        run=run,
        epoch=epoch,
        layers=tuple(layers),
        biases=tuple(layer_biases),
        source=source,
        accuracy=accuracy,
        info=tuple(infos),
    )
    reports = []
    for k, ((p, block), info) in enumerate(zip(chain.layers, ckpt.info, strict=True)):
        w = ckpt.layers[k]
        reports.append(
            LayerReport(
                position=k,
                name=p.name,
                kind=info.describe(),
                shape=tuple(int(d) for d in p.entry.array.shape),
                orientation=_orient_label(p, orientation),
                inputs=w.shape[0] // block,
                outputs=w.shape[1],
                block=block,
                nnz=int(w.nnz),
                density=w.nnz / (w.shape[0] * w.shape[1]) if w.shape[0] * w.shape[1] else 0.0,
                topology="zeros" if p.entry.mask is None else f"mask ({p.entry.mask_from})",
                bias=bias_names[k],
                notes=tuple(extra_notes[k]),
            )
        )
    order_rule = chain.order_rule
    inspection = Inspection(
        source=source,
        format=ts.fmt,
        run=run,
        epoch=epoch,
        accuracy=accuracy,
        orientation=orientation,
        orientation_rule=rule,
        order_rule=order_rule,
        layers=tuple(reports),
        skipped=tuple(_group_batchnorm(skipped)),
        notes=tuple(ts.notes + res.notes),
    )
    return ckpt, inspection


def _group_batchnorm(skipped: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One line per BatchNorm module (``bn1.{weight, bias, running_mean, ...}``)."""
    members: dict[str, list[str]] = {}
    out: list[tuple[str, str]] = []
    for name, why in skipped:
        if why != _BATCHNORM:
            out.append((name, why))
            continue
        base, last = _split(name)
        if base not in members:
            members[base] = []
            out.append((base, ""))
        members[base].append(last)
    return [(f"{n}.{{{', '.join(members[n])}}}", _BATCHNORM) if not w else (n, w) for n, w in out]


def _plan(
    weights: list[_Entry],
    biases: dict[str, tuple[str, npt.NDArray[Any]]],
    orientation: Orientation,
    ts: TensorSet,
    mapping: LayerMapping | None,
) -> _Plan:
    """The chain under one orientation, with its biases checked against the outputs."""
    cands = [_parse(e, orientation) for e in weights]
    if mapping is not None:
        chain = _mapped_chain(cands)
    else:
        chain = _greedy(cands, _ORDER_TEXT[ts.order])
        if ts.order == "sorted" and (chain.error or chain.skipped):
            alt = _by_shapes(cands)
            if alt is not None and len(alt.skipped) < len(chain.skipped or cands):
                chain = alt
    plan_biases: dict[str, tuple[str, npt.NDArray[Any]]] = {}
    if chain.error is None:
        for p, _ in chain.layers:
            base, _last = _split(p.name)
            bias = biases.get(p.name) or biases.get(base)
            if bias is None:
                continue
            if bias[1].ndim != 1 or bias[1].shape[0] != p.n_out:
                chain.error = (
                    f"{bias[0]} has shape {tuple(bias[1].shape)}, but {p.name} [{p.shape}] read "
                    f"as {_orient_label(p, orientation)} has {p.n_out} outputs"
                )
                break
            plan_biases[p.name] = bias
    return _Plan(chain, plan_biases)


def _mapped_entries(
    mapping: LayerMapping, res: _Resolved, skipped: list[tuple[str, str]]
) -> tuple[list[_Entry], dict[str, tuple[str, npt.NDArray[Any]]], list[tuple[str, str]]]:
    """The weights a mapping names, their biases (keyed by weight name) and what is left."""
    entries = res.entries
    where = f"{res.where} (mapping {mapping.source})" if mapping.source else res.where
    weights: list[_Entry] = []
    biases: dict[str, tuple[str, npt.NDArray[Any]]] = {}
    used: set[str] = set()
    for item in mapping.layers:
        name = _find_entry(item.weight, entries, ("weight", "kernel"))
        if name is None:
            raise InputError(f"{where}: no array named {item.weight!r} (or {item.weight}.weight)")
        e = entries[name]
        if e.array.ndim not in (2, 4):
            kind = _UNSUPPORTED.get(e.array.ndim, f"{e.array.ndim}-D array")
            raise InputError(
                f"{where}: {name} {tuple(e.array.shape)} is a {e.array.ndim}-D weight ({kind}): "
                "an unsupported layer kind (2-D Linear/Dense and 4-D Conv2d only)"
            )
        used.add(name)
        if item.mask is not None:
            _attach_named_mask(e, item, res, used, where)
        weights.append(e)
        bias_name = _mapped_bias(item, name, entries, where)
        if bias_name is not None:
            biases[name] = (bias_name, entries[bias_name].masked())
            used.add(bias_name)
    res.attach_masks(weights)
    for name in entries:
        if name not in used:
            skipped.append((name, "not in the mapping file"))
    return weights, biases, skipped


def _mapped_bias(
    item: MappedLayer, weight: str, entries: dict[str, _Entry], where: str
) -> str | None:
    if item.bias is False:
        return None
    if isinstance(item.bias, str):
        found = _find_entry(item.bias, entries, ())
        if found is None:
            raise InputError(f"{where}: no bias array named {item.bias!r}")
        return found
    base, _ = _split(weight)
    return f"{base}.bias" if f"{base}.bias" in entries else None


def _attach_named_mask(
    e: _Entry, item: MappedLayer, res: _Resolved, used: set[str], where: str
) -> None:
    assert item.mask is not None
    key = _unprefixed(item.mask)
    if key in res.entries:
        mask, used_key = res.entries[key].array, key
        used.add(key)
    elif key in res.masks:
        mask, used_key = res.masks[key], f"masks/{key}"
        res.used_masks.add(key)
    else:
        raise InputError(f"{where}: no mask array named {item.mask!r}")
    _check_mask(e, mask, where, used_key)
    e.mask, e.mask_from = mask, f"{used_key} (mapping file)"


# -- live state dicts ----------------------------------------------------------------------
def _state_tensor_set(
    state: Mapping[str, Any],
    masks: Mapping[str, Any] | None,
    where: str,
    orientation: Orientation,
) -> TensorSet:
    ts = tensor_set_from_object(state, fmt="state dict", convention=orientation, where=where)
    for name, m in (masks or {}).items():
        try:
            ts.masks[str(name)] = default_as_array(m)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise InputError(f"{where}: mask {name} is {exc}") from None
    return ts


def checkpoint_from_state_dict(
    state: Mapping[str, Any],
    *,
    run: str,
    epoch: int,
    accuracy: float | None = None,
    masks: Mapping[str, Any] | None = None,
    mapping: LayerMapping | None = None,
    orientation: Orientation = "pytorch",
    source: str = "",
) -> Checkpoint:
    """A Checkpoint from a live state dict (``model.state_dict()``), as a file's would be.

    ``state``: name -> numpy array or torch tensor (or a wrapper dict, as
    saved by training scripts); ``masks``: name -> 0/1 mask beside it;
    ``orientation``: what decides where the shapes cannot (PyTorch's by
    default). Every rule of :func:`to_checkpoint` applies.
    """
    where = source or f"state dict {run}@{epoch}"
    ts = _state_tensor_set(state, masks, where, orientation)
    ckpt, _ = to_checkpoint(
        ts,
        run=run,
        epoch=epoch,
        source=source or where,
        accuracy=accuracy if accuracy is not None else ts.accuracy,
        mapping=mapping,
    )
    return ckpt


def inspect_state_dict(
    state: Mapping[str, Any],
    *,
    run: str = "state",
    epoch: int = 0,
    masks: Mapping[str, Any] | None = None,
    mapping: LayerMapping | None = None,
    orientation: Orientation = "pytorch",
) -> Inspection:
    """What :func:`checkpoint_from_state_dict` finds in ``state``, as ``inspect`` prints it."""
    where = f"state dict {run}@{epoch}"
    ts = _state_tensor_set(state, masks, where, orientation)
    return to_checkpoint(ts, run=run, epoch=epoch, source=where, mapping=mapping)[1]
