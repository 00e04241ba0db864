"""Keras checkpoints through h5py: ``.keras``, ``.weights.h5`` and legacy ``.h5``.

Three layouts:

* **Keras 3 weights** (``model.save_weights("x.weights.h5")``, and
  ``model.weights.h5`` inside a ``.keras``): ``layers/<group>/vars/<i>``,
  where ``<group>`` is named after the layer's *class* (``dense``,
  ``dense_1``, ``conv2d``) and the user's name is the attribute ``name`` of
  ``vars``; groups are stored alphabetically, not in model order; nested
  models add ``layers/<model>/layers/...``. Var 0 of a ``Dense``/``Conv2D``
  is the kernel, var 1 the bias.
* **A ``.keras`` file**: a zip of ``config.json`` (the model: layer classes,
  names, ``data_format``), ``metadata.json`` and ``model.weights.h5``. The
  layer order and the flatten order come from ``config.json``.
* **Legacy Keras 2 HDF5** (``model.save("x.h5")``, ``save_weights("x.h5")``):
  the root (or ``model_weights``) lists ``layer_names`` in model order; each
  layer group lists its ``weight_names`` (``dense/kernel:0``, ...).

Without a config (a bare ``.weights.h5``), groups are taken in natural name
order, then ordered by chaining; channels-last (Keras's default) is assumed
for a flatten, and the inspection says so.

Keras stores a Dense kernel ``[in, out]`` and a Conv2D kernel
``[kh, kw, in, out]`` (the format's convention; chaining decides first).
Layers of other classes are reported and not read: BatchNormalization,
LayerNormalization, Dropout, Flatten, pooling (no topology), Embedding (a
lookup table); Conv1D, Conv3D, DepthwiseConv2D, SeparableConv2D are
unsupported layer kinds and refused.

Every dataset's declared shape x item size is checked against the limits of
:mod:`topograph.loaders.state_dict` *before* it is read (an HDF5 dataset can
declare far more elements than the file holds).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from topograph.errors import InputError, first_line
from topograph.loaders.mapping import FlattenOrder
from topograph.loaders.state_dict import SizeBudget, TensorSet, natural_key

__all__ = ["MAX_CONFIG_BYTES", "read_h5", "read_keras"]

#: Largest ``config.json`` read from a ``.keras`` file: 64 MB.
MAX_CONFIG_BYTES = 64 * 1024**2

#: Keras layer classes (lower-case, as group names spell them) read as layers.
_KERNEL_CLASSES = {"dense", "conv2d", "conv1d", "conv3d"}
#: Classes refused as unsupported layer kinds.
_UNSUPPORTED = {
    "depthwiseconv2d": "DepthwiseConv2D",
    "separableconv2d": "SeparableConv2D",
    "conv2dtranspose": "Conv2DTranspose",
    "depthwise_conv2d": "DepthwiseConv2D",
    "separable_conv2d": "SeparableConv2D",
    "conv2d_transpose": "Conv2DTranspose",
}


def _snake(class_name: str) -> str:
    """``Conv2D`` -> ``conv2d``, ``BatchNormalization`` -> ``batch_normalization``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", class_name).lower()


def _class_of_group(group: str) -> str:
    """``dense_1`` -> ``dense``: Keras numbers auto-named groups of one class."""
    return re.sub(r"_\d+$", "", group)


def _why_skipped(cls: str) -> str:
    if "norm" in cls:
        return "normalisation, not topology"
    if "embedding" in cls:
        return "an embedding: a lookup table, not a layer of the chain"
    return "not a Dense or Conv2D layer: not read"


def _read(ds: Any, name: str, budget: SizeBudget) -> npt.NDArray[Any]:
    if ds.dtype.kind not in "biuf":
        raise InputError(f"{budget.where}: {name} has dtype {ds.dtype}, not numbers")
    budget.check(name, tuple(ds.shape), ds.dtype.itemsize)
    arr = np.asarray(ds[()])
    return arr.astype(np.float32) if arr.dtype == np.float16 else arr


def _config_layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Every layer of a model config, nested models flattened, in model order."""
    out: list[dict[str, Any]] = []
    inner = config.get("config", {})
    for layer in inner.get("layers", []) if isinstance(inner, dict) else []:
        if not isinstance(layer, dict):
            continue
        cfg = layer.get("config", {})
        if isinstance(cfg, dict) and isinstance(cfg.get("layers"), list):
            out.extend(_config_layers(layer))
        else:
            out.append(layer)
    return out


def _keras3(h5: Any, where: str, config: dict[str, Any] | None) -> TensorSet:
    budget = SizeBudget(where)
    groups: list[tuple[str, Any]] = []  # (path, vars group) under layers/

    def walk(prefix: str, g: Any) -> None:
        for key in g:
            sub = g[key]
            if not hasattr(sub, "keys"):
                continue
            if "vars" in sub:
                groups.append((f"{prefix}{key}", sub["vars"]))
            if "layers" in sub:
                walk(f"{prefix}{key}/layers/", sub["layers"])

    walk("", h5["layers"])
    groups.sort(key=lambda item: natural_key(item[0]))
    classes: dict[str, str] = {}
    data_formats: set[str] = set()
    order: list[str] | None = None
    if config is not None:
        layers = _config_layers(config)
        order = []
        for layer in layers:
            cfg = layer.get("config", {})
            name = cfg.get("name") if isinstance(cfg, dict) else None
            if isinstance(name, str):
                order.append(name)
                classes[name] = _snake(str(layer.get("class_name", "")))
                if isinstance(cfg.get("data_format"), str):
                    data_formats.add(cfg["data_format"])
    ts = TensorSet({}, "", "keras", order="config" if order is not None else "sorted")
    found: dict[str, tuple[str, Any]] = {}
    for path, vars_group in groups:
        raw = vars_group.attrs.get("name", path.rsplit("/", 1)[-1])
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        found[name] = (path, vars_group)
    names = list(found)
    if order is not None:
        missing = [n for n in names if n not in order]
        names = [n for n in order if n in found] + missing
    for name in names:
        path, vars_group = found[name]
        cls = classes.get(name) or _class_of_group(path.rsplit("/", 1)[-1])
        keys = sorted(vars_group.keys(), key=int) if all(k.isdigit() for k in vars_group) else []
        if cls in _UNSUPPORTED:
            raise InputError(
                f"{where}: layer {name} is a {_UNSUPPORTED[cls]}: an unsupported layer kind "
                "(topograph reads Dense and Conv2D kernels)"
            )
        label = f"layers/{path}" + (f" ({name})" if name != path.rsplit("/", 1)[-1] else "")
        if not keys:
            ts.skipped.append((label, f"{cls}: no weights"))
            continue
        if cls not in _KERNEL_CLASSES:
            ts.skipped.append((label, f"{cls}: {_why_skipped(cls)}"))
            continue
        ts.arrays[f"{name}.kernel"] = _read(vars_group[keys[0]], f"{path}/vars/{keys[0]}", budget)
        if len(keys) > 1:
            ts.arrays[f"{name}.bias"] = _read(vars_group[keys[1]], f"{path}/vars/{keys[1]}", budget)
        for extra in keys[2:]:
            ts.skipped.append((f"{path}/vars/{extra}", f"extra variable of {name}: not read"))
    if "channels_first" in data_formats:
        ts.flatten = "channels_first"
    elif data_formats:
        ts.flatten = "channels_last"
    if "optimizer" in h5:
        ts.skipped.append(("optimizer", "optimizer state, not the model: not read"))
    return ts


def _legacy(root: Any, where: str) -> TensorSet:
    budget = SizeBudget(where)
    ts = TensorSet({}, "", "keras", order="file")
    config_text = root.file.attrs.get("model_config")
    classes: dict[str, str] = {}
    if config_text is not None:
        try:
            config = json.loads(
                config_text.decode() if isinstance(config_text, bytes) else config_text
            )
            for spec in _config_layers(config):
                cfg = spec.get("config", {})
                if isinstance(cfg, dict) and isinstance(cfg.get("name"), str):
                    classes[cfg["name"]] = _snake(str(spec.get("class_name", "")))
                    if cfg.get("data_format") == "channels_first":
                        ts.flatten = "channels_first"
                    elif cfg.get("data_format") == "channels_last" and ts.flatten is None:
                        ts.flatten = "channels_last"
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            ts.notes.append("model_config is not readable JSON: classes from weight names")
    for raw in root.attrs["layer_names"]:
        layer = raw.decode() if isinstance(raw, bytes) else str(raw)
        g = root[layer]
        weight_names = [
            w.decode() if isinstance(w, bytes) else str(w) for w in g.attrs.get("weight_names", [])
        ]
        short = [w.rsplit("/", 1)[-1].split(":", 1)[0] for w in weight_names]
        cls = classes.get(layer) or _class_of_group(layer)
        if cls in _UNSUPPORTED:
            raise InputError(
                f"{where}: layer {layer} is a {_UNSUPPORTED[cls]}: an unsupported layer kind"
            )
        if not weight_names:
            continue
        if "kernel" not in short or (classes and cls not in _KERNEL_CLASSES):
            ts.skipped.append((layer, f"{cls}: {_why_skipped(cls)}"))
            continue
        for w, s in zip(weight_names, short, strict=True):
            if s in ("kernel", "bias"):
                ts.arrays[f"{layer}.{s}"] = _read(g[w], f"{layer}/{w}", budget)
            else:
                ts.skipped.append((f"{layer}/{w}", f"variable {s!r} of {layer}: not read"))
    return ts


def _open_h5(source: str | io.BytesIO, where: str) -> Any:
    import h5py

    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as exc:
        raise InputError(f"{where}: corrupt or truncated HDF5 file ({first_line(exc)})") from None


def _from_h5(h5: Any, where: str, config: dict[str, Any] | None) -> TensorSet:
    try:
        if "layers" in h5:
            ts = _keras3(h5, where, config)
            ts.fmt = "Keras 3 .keras" if config is not None else "Keras 3 .weights.h5"
        elif "layer_names" in h5.attrs:
            ts = _legacy(h5, where)
            ts.fmt = "legacy Keras HDF5 weights"
        elif "model_weights" in h5 and "layer_names" in h5["model_weights"].attrs:
            ts = _legacy(h5["model_weights"], where)
            ts.fmt = "legacy Keras HDF5 model"
        else:
            raise InputError(
                f"{where}: an HDF5 file, but not Keras weights (no layers/ group and no "
                "layer_names attribute)"
            )
    except InputError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise InputError(f"{where}: unreadable Keras HDF5 content ({first_line(exc)})") from None
    if config is None and ts.flatten is None:
        ts.notes.append("no model config: a flatten is taken as channels-last (Keras's default)")
    return ts


def read_h5(path: Path, where: str | None = None) -> TensorSet:
    """Read a Keras ``.weights.h5`` or legacy ``.h5`` into a :class:`TensorSet`."""
    where = where or str(path)
    with _open_h5(str(path), where) as h5:
        return _from_h5(h5, where, None)


def read_keras(path: Path, where: str | None = None) -> TensorSet:
    """Read a Keras 3 ``.keras`` zip: order and flatten from its ``config.json``."""
    where = where or str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            for member in ("config.json", "model.weights.h5"):
                if member not in infos:
                    raise InputError(f"{where}: a .keras file without {member}")
            if infos["config.json"].file_size > MAX_CONFIG_BYTES:
                raise InputError(f"{where}: config.json is over {MAX_CONFIG_BYTES:,} bytes")
            SizeBudget(where).check("model.weights.h5", (infos["model.weights.h5"].file_size,), 1)
            config = json.loads(zf.read("config.json").decode("utf-8"))
            weights = zf.read("model.weights.h5")
    except InputError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: corrupt or truncated .keras file ({first_line(exc)})") from None
    if not isinstance(config, dict):
        raise InputError(f"{where}: config.json is not a JSON object")
    with _open_h5(io.BytesIO(weights), where) as h5:
        ts = _from_h5(h5, where, config)
    flatten: FlattenOrder | None = ts.flatten
    if flatten is not None:
        ts.notes.append(f"data_format {flatten} (config.json)")
    return ts
