"""The layer-mapping file: which arrays form the chain, in which order.

Auto-detection (:mod:`topograph.loaders.state_dict`) follows the main path of
a network whose Linear/Conv weights chain one after the other. Where it
cannot (branches, residual nets whose shortcuts chain as well, names that say
nothing, a square network whose orientation the format does not settle), a
small TOML file names the layers::

    # mapping.toml: the layers of the chain, in order
    layers = ["encoder.fc1", "encoder.fc2", "head.out"]   # module or array names

    # optional, each:
    orientation = "pytorch"     # "pytorch": [out, in], conv [out, in, kh, kw]
                                # "keras":   [in, out], conv [kh, kw, in, out]
    flatten = "channels_first"  # how a conv's output was flattened into the next
                                # dense layer: "channels_first" (PyTorch) or
                                # "channels_last" (Keras)

An entry may also be a table, to name the bias or the mask explicitly::

    [[layers]]
    weight = "blocks.0.conv.weight"
    bias = "blocks.0.conv.bias"     # false: the layer has no bias
    mask = "blocks.0.conv.mask"     # an array of 0/1 of the weight's shape

A name matches an array by its full name (``fc1.weight``) or by its module
name (``fc1``, meaning ``fc1.weight`` or ``fc1.kernel``), with or without a
``module.``/``_orig_mod.`` prefix. Unknown keys are refused (a typo would
otherwise be ignored).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from topograph.errors import InputError

__all__ = ["FlattenOrder", "LayerMapping", "MappedLayer", "Orientation", "read_mapping"]

#: Storage order of a layer's weight: PyTorch's ``[out, in]`` / ``[out, in, kh, kw]``
#: or Keras's ``[in, out]`` / ``[kh, kw, in, out]``.
Orientation = Literal["pytorch", "keras"]
#: Order of a conv's features after a flatten: ``c*H*W + y*W + x`` (channels
#: first, PyTorch) or ``(y*W + x)*C + c`` (channels last, Keras).
FlattenOrder = Literal["channels_first", "channels_last"]


@dataclass(frozen=True)
class MappedLayer:
    """One layer named by a mapping: its weight, and optionally bias and mask.

    ``bias``: None derives it from the weight's name (``P.bias``); ``False``
    means no bias.
    """

    weight: str
    bias: str | Literal[False] | None = None
    mask: str | None = None


@dataclass(frozen=True)
class LayerMapping:
    """A parsed mapping file (see the module doc); ``source`` names the file."""

    layers: tuple[MappedLayer, ...]
    orientation: Orientation | None = None
    flatten: FlattenOrder | None = None
    source: str = ""


_TOP_KEYS = {"layers", "orientation", "flatten"}
_LAYER_KEYS = {"weight", "bias", "mask"}


def read_mapping(path: str | Path) -> LayerMapping:
    """Parse and check a mapping file; :class:`InputError` names the file and the entry."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the mapping file ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    return parse_mapping(data, str(path))


def parse_mapping(data: dict[str, object], where: str = "mapping") -> LayerMapping:
    """A :class:`LayerMapping` from already-parsed TOML (a dict)."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise InputError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
            f"(expected {', '.join(sorted(_TOP_KEYS))})"
        )
    raw = data.get("layers")
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{where}: 'layers' must be a non-empty list of layer names or tables")
    layers: list[MappedLayer] = []
    for i, item in enumerate(raw):
        if isinstance(item, str) and item:
            layers.append(MappedLayer(item))
            continue
        if not isinstance(item, dict):
            raise InputError(f"{where}: layers[{i}] must be a name or a table, got {item!r}")
        bad = set(item) - _LAYER_KEYS
        if bad:
            raise InputError(
                f"{where}: layers[{i}] has unknown key(s) {', '.join(sorted(bad))} "
                "(expected weight, bias, mask)"
            )
        weight, bias, mask = item.get("weight"), item.get("bias"), item.get("mask")
        if not isinstance(weight, str) or not weight:
            raise InputError(f'{where}: layers[{i}] needs weight = "<array name>"')
        if not (bias is None or bias is False or (isinstance(bias, str) and bias)):
            raise InputError(f"{where}: layers[{i}].bias must be a name or false")
        if not (mask is None or (isinstance(mask, str) and mask)):
            raise InputError(f"{where}: layers[{i}].mask must be a name")
        layers.append(MappedLayer(weight, cast("str | Literal[False] | None", bias), mask))
    names = [m.weight for m in layers]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"{where}: layer(s) named twice: {', '.join(dup)}")
    orientation = data.get("orientation")
    if orientation not in (None, "pytorch", "keras"):
        raise InputError(f'{where}: orientation must be "pytorch" or "keras", got {orientation!r}')
    flatten = data.get("flatten")
    if flatten not in (None, "channels_first", "channels_last"):
        raise InputError(
            f'{where}: flatten must be "channels_first" or "channels_last", got {flatten!r}'
        )
    return LayerMapping(
        tuple(layers),
        cast("Orientation | None", orientation),
        cast("FlattenOrder | None", flatten),
        where,
    )
