"""Real checkpoint formats: every copy of a network loads to the same Checkpoint.

The fixtures (``tests/data/checkpoints``, written by real PyTorch and Keras,
see its README) hold each network in several formats. Tests that read
``.pt`` files need torch (the ``[torch]`` extra) and skip without it; the
rest compare the other formats among themselves.
"""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

import topograph
from topograph import InputError
from topograph.cli import app
from topograph.loaders import inspect, load, open_source
from topograph.loaders.detect import sniff
from topograph.loaders.files import SourceOptions, epoch_from_name
from topograph.model import Checkpoint, LayerInfo

from conftest import REPO

FIX = REPO / "tests" / "data" / "checkpoints"
EPOCHS = range(4)

#: Where each format of each network keeps epoch ``e``.
FILES = {
    "pt": lambda net, e: {
        "set-mlp": f"epoch={e}.pt",
        "prune-mlp": f"checkpoint_epoch{e}.pt",
        "ao-mlp": f"model_epoch_{e:02d}.pt",
        "cnn": f"epoch={e}.pt",
        "cnn-bn": f"epoch-{e}.pt",
    }[net],
    "pt-masks": lambda net, e: f"epoch={e}.pt",
    "safetensors": lambda net, e: f"ckpt_{e:04d}.safetensors",
    "npz": lambda net, e: f"epoch_{e:03d}.npz",
    "keras": lambda net, e: f"epoch_{e}.keras",
    "weights-h5": lambda net, e: f"epoch_{e}.weights.h5",
    "reference": lambda net, e: f"epoch_{e:03d}",
}
NETWORKS = {
    "set-mlp": ["pt", "pt-masks", "safetensors", "npz", "reference"],
    "prune-mlp": ["pt", "safetensors", "npz"],
    "ao-mlp": ["pt", "safetensors", "npz"],
    "cnn": ["pt", "safetensors", "npz"],
    "cnn-bn": ["pt", "safetensors", "npz"],
    "keras-mlp": ["keras", "weights-h5"],
    "keras-cnn": ["keras", "weights-h5"],
}
HAVE_TORCH = True
try:
    import torch  # noqa: F401
except ImportError:  # pragma: no cover - the [torch] extra is not installed
    HAVE_TORCH = False


def path_of(net: str, fmt: str, epoch: int) -> Path:
    return FIX / net / fmt / "run-0" / FILES[fmt](net, epoch)


def needs_torch(fmt: str) -> None:
    if fmt.startswith("pt"):
        pytest.importorskip("torch", reason="reading .pt files needs the [torch] extra")


def load_fmt(net: str, fmt: str, epoch: int) -> Checkpoint:
    return load(path_of(net, fmt, epoch))


def metrics(net: str, fmt: str) -> dict[int, float]:
    with open(FIX / net / fmt / "run-0" / "metrics.csv", newline="") as fh:
        return {int(r["epoch"]): float(r["accuracy"]) for r in csv.DictReader(fh)}


def assert_same_network(a: Checkpoint, b: Checkpoint) -> None:
    """Identical topology and weights, bit for bit: CSR arrays, biases, structure, hash."""
    assert len(a.layers) == len(b.layers)
    for wa, wb in zip(a.layers, b.layers, strict=True):
        assert wa.shape == wb.shape
        np.testing.assert_array_equal(wa.indptr, wb.indptr)
        np.testing.assert_array_equal(wa.indices, wb.indices)
        np.testing.assert_array_equal(wa.data, wb.data)
    for ba, bb in zip(a.biases, b.biases, strict=True):
        assert (ba is None) == (bb is None)
        if ba is not None:
            np.testing.assert_array_equal(ba, bb)
    assert a.structure == b.structure
    assert a.content_hash == b.content_hash


# -- every format of one network ---------------------------------------------------------------
@pytest.mark.parametrize("net", sorted(NETWORKS))
def test_every_format_gives_the_same_topology_and_weights(net: str) -> None:
    formats = [f for f in NETWORKS[net] if HAVE_TORCH or not f.startswith("pt")]
    for epoch in EPOCHS:
        loaded = {fmt: load_fmt(net, fmt, epoch) for fmt in formats}
        first = loaded[formats[0]]
        assert first.epoch == epoch and first.run == "run-0"
        for fmt in formats[1:]:
            assert_same_network(first, loaded[fmt])
        for fmt, ck in loaded.items():
            assert ck.source == str(path_of(net, fmt, epoch))  # the file itself
            if fmt != "reference":
                assert ck.accuracy == metrics(net, fmt)[epoch]


def test_formats_agree_with_the_raw_arrays() -> None:
    """Independent of the converter: the .npz arrays, transposed, are the layers."""
    for epoch in EPOCHS:
        raw = np.load(path_of("set-mlp", "npz", epoch))
        ck = load_fmt("set-mlp", "safetensors", epoch)
        for k in range(3):
            np.testing.assert_array_equal(ck.layers[k].toarray(), raw[f"fc{k + 1}.weight"].T)
            np.testing.assert_array_equal(ck.biases[k], raw[f"fc{k + 1}.bias"])
        pruned = load_fmt("prune-mlp", "npz", epoch)
        state = np.load(path_of("prune-mlp", "npz", epoch))
        for k, i in enumerate((0, 2, 4)):
            mask = state[f"{i}.weight_mask"]
            effective = (state[f"{i}.weight_orig"] * mask).T
            np.testing.assert_array_equal(pruned.layers[k].toarray(), effective)
            assert pruned.layers[k].nnz == np.count_nonzero(mask)  # the mask is the topology
            assert pruned.info[k].topology == "mask"


def test_set_mlp_pt_equals_the_reference_layout_transposed() -> None:
    pytest.importorskip("torch", reason="reading .pt files needs the [torch] extra")
    import scipy.sparse as sp

    for epoch in EPOCHS:
        ck = load_fmt("set-mlp", "pt", epoch)
        folder = path_of("set-mlp", "reference", epoch)
        for k in range(3):
            ref = sp.load_npz(folder / f"weight_l{k}.npz").toarray()
            np.testing.assert_array_equal(ck.layers[k].toarray(), ref[:-1])
            np.testing.assert_array_equal(ck.biases[k], ref[-1].astype(np.float32))


def test_nnstd_pt_against_reference_copy_is_exactly_zero() -> None:
    pytest.importorskip("torch", reason="reading .pt files needs the [torch] extra")
    for epoch in EPOCHS:
        result = topograph.nnstd(
            load_fmt("set-mlp", "pt", epoch), load_fmt("set-mlp", "reference", epoch)
        )
        assert result.layers == (0.0, 0.0, 0.0)
        assert result.mean == 0.0


@pytest.mark.parametrize(("a", "b"), [(0, 3), (1, 2), (2, 3), (3, 1)])
def test_nnstd_between_pt_epochs_equals_reference_exports_bit_for_bit(a: int, b: int) -> None:
    pytest.importorskip("torch", reason="reading .pt files needs the [torch] extra")
    from_pt = topograph.nnstd(load_fmt("set-mlp", "pt", a), load_fmt("set-mlp", "pt", b))
    from_ref = topograph.nnstd(
        load_fmt("set-mlp", "reference", a), load_fmt("set-mlp", "reference", b)
    )
    assert from_pt.layers == from_ref.layers  # == on floats: bit for bit
    assert from_pt.mean == from_ref.mean
    assert from_pt.layers[0] > 0  # SET rewired the first layer between these epochs
    for ma, mb in zip(from_pt.matchings, from_ref.matchings, strict=True):
        np.testing.assert_array_equal(ma, mb)


# -- conv layers -------------------------------------------------------------------------
def _conv_info(kernel_name: str) -> tuple[LayerInfo, ...]:
    return (
        LayerInfo(f"conv1.{kernel_name}", "conv", (3, 3), 9, "zeros"),
        LayerInfo(f"conv2.{kernel_name}", "conv", (3, 3), 9, "zeros"),
        LayerInfo(f"fc.{kernel_name}", "dense", (), 16, "zeros"),
    )


@pytest.mark.parametrize(
    ("net", "fmt", "kernel_name"),
    [
        ("cnn", "npz", "weight"),
        ("cnn", "safetensors", "weight"),
        ("cnn-bn", "npz", "weight"),
        ("cnn-bn", "pt", "weight"),
        ("keras-cnn", "keras", "kernel"),
        ("keras-cnn", "weights-h5", "kernel"),
    ],
)
def test_conv_fixtures_load_with_the_right_layer_info(net: str, fmt: str, kernel_name: str) -> None:
    needs_torch(fmt)
    ck = load_fmt(net, fmt, 3)
    assert ck.info == _conv_info(kernel_name)
    assert ck.widths == (1, 8, 16, 10)
    assert [w.shape for w in ck.layers] == [(9, 8), (72, 16), (256, 10)]
    if net == "cnn-bn":
        assert ck.biases[0] is None and ck.biases[1] is None  # convs without bias; BN skipped


def test_conv_rows_are_channel_major() -> None:
    """Row ``c*kh*kw + y*kw + x`` of a conv layer is ``W[j, c, y, x]`` of PyTorch's weight."""
    raw = np.load(path_of("cnn", "npz", 3))
    ck = load_fmt("cnn", "npz", 3)
    w = raw["conv2.weight"]  # [out, in, kh, kw]
    dense = ck.layers[1].toarray()
    for j, c, y, x in [(0, 0, 0, 0), (5, 3, 1, 2), (15, 7, 2, 1)]:
        assert dense[c * 9 + y * 3 + x, j] == w[j, c, y, x]
    np.testing.assert_array_equal(ck.layers[2].toarray(), raw["fc.weight"].T)  # c*16 + y*4 + x


def test_keras_flatten_rows_are_reordered_into_channel_blocks() -> None:
    """Keras flattens channels-last: fc row (y*4 + x)*16 + c becomes c*16 + y*4 + x."""
    with h5py.File(path_of("keras-cnn", "weights-h5", 3)) as h5:
        kernel = h5["layers/dense/vars/0"][()]  # (256, 10)
        conv2 = h5["layers/conv2d_1/vars/0"][()]  # (3, 3, 8, 16) = [kh, kw, in, out]
    ck = load_fmt("keras-cnn", "keras", 3)
    fc = ck.layers[2].toarray()
    for c in range(16):
        for y in range(4):
            for x in range(4):
                np.testing.assert_array_equal(fc[c * 16 + y * 4 + x], kernel[(y * 4 + x) * 16 + c])
    conv = ck.layers[1].toarray()
    for j, c, y, x in [(0, 0, 0, 0), (9, 7, 2, 1), (15, 3, 1, 2)]:
        assert conv[c * 9 + y * 3 + x, j] == conv2[y, x, c, j]


# -- into the store and back ------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("net", ["set-mlp", "cnn"])
def test_ingest_a_folder_of_pt_epochs_and_load_back(net: str, tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="reading .pt files needs the [torch] extra")
    from topograph.stores import open_store

    folder = FIX / net / "pt" / "run-0"
    with topograph.connect(str(tmp_path / "store.lbdb")) as tg:
        report = tg.ingest(folder)
        assert sorted(report.stored) == [f"run-0@{e}" for e in EPOCHS]
        assert tg.ingest(folder).skipped == report.stored  # idempotent
    with open_store(str(tmp_path / "store.lbdb"), read_only=True) as store:
        for epoch in EPOCHS:
            back = store.load_checkpoint("run-0", epoch)
            original = load(folder / FILES["pt"](net, epoch))
            assert_same_network(back, original)
            assert back.accuracy == original.accuracy == metrics(net, "pt")[epoch]


# -- torch specifics ------------------------------------------------------------------------------
def test_ao_defaultdict_file_is_refused_with_the_reason() -> None:
    pytest.importorskip("torch", reason="reading .pt files needs the [torch] extra")
    path = FIX / "ao-mlp" / "pt-defaultdict" / "run-0" / "model_epoch_03.pt"
    with pytest.raises(InputError) as err:
        load(path)
    message = str(err.value)
    assert "collections.defaultdict" in message and "weights_only=True" in message
    assert "\n" not in message


def test_ao_masks_come_from_the_sparsifier_state() -> None:
    pytest.importorskip("torch", reason="reading .pt files needs the [torch] extra")
    [found] = inspect(path_of("ao-mlp", "pt", 3))
    ao = "mask (the sparsifier's state, torch.ao.pruning)"
    assert [r.topology for r in found.layers] == [ao] * 3
    assert ("optimizer_state_dict", "optimizer state, not the model: not read") in found.skipped
    assert found.accuracy_from == "stored in the file"


def test_live_state_dict_converts_like_the_file() -> None:
    torch = pytest.importorskip("torch", reason="a live state dict is made of torch tensors")
    payload = torch.load(path_of("set-mlp", "pt-masks", 2), weights_only=True)
    ck = topograph.loaders.checkpoint_from_state_dict(
        payload["state_dict"], run="run-0", epoch=2, masks=payload["masks"]
    )
    assert_same_network(ck, load_fmt("set-mlp", "pt", 2))
    assert [i.topology for i in ck.info] == ["mask", "mask", "zeros"]


# -- naming, metrics, sources ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "epoch"),
    [
        ("epoch=12", 12),
        ("epoch-3", 3),
        ("epoch_003", 3),
        ("checkpoint_epoch3", 3),
        ("model_epoch_03", 3),
        ("epoch=3-step=100", 3),
        ("ckpt_0012", 12),
        ("weights.03-0.45", 3),
        ("0012", 12),
        ("checkpoint-500", 500),
        ("last", None),
        ("best_model", None),
    ],
)
def test_epochs_from_names(name: str, epoch: int | None) -> None:
    assert epoch_from_name(name) == epoch


def test_runs_are_relative_folder_paths_so_networks_do_not_collide() -> None:
    with open_source(FIX / "set-mlp") as src:
        assert src.runs() == [
            "npz/run-0",
            "pt-masks/run-0",
            "pt/run-0",
            "run-0",  # the reference layout names a run by the folder holding epoch_<EEE>
            "safetensors/run-0",
        ]
        assert src.epochs() == [0, 1, 2, 3]
    with open_source(FIX / "cnn" / "npz" / "run-0") as src:  # files at the top: the folder's name
        assert src.runs() == ["run-0"]
    with open_source(path_of("cnn", "npz", 2)) as src:  # a single file: its parent folder's name
        assert src.keys() == [("run-0", 2)]


def test_pattern_names_runs_and_epochs(tmp_path: Path) -> None:
    for seed in (1, 2):
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        for e in (0, 3):
            shutil.copy(path_of("set-mlp", "npz", e), folder / f"net-{e * 10}.npz")
    (tmp_path / "notes.npz").write_bytes(b"")  # not matched: left out
    pattern = r"seed(?P<run>\d+)/net-(?P<epoch>\d+)\.npz$"
    with open_source(tmp_path, options=SourceOptions(pattern=pattern)) as src:
        assert src.keys() == [("1", 0), ("1", 30), ("2", 0), ("2", 30)]
        assert ("notes.npz", "does not match --pattern") in src.ignored
        [found] = [src.inspect("2", 30)]
        assert found.epoch_from == "--pattern"
    with pytest.raises(InputError, match="needs a named group"):
        open_source(tmp_path, options=SourceOptions(pattern=r"net-\d+"))


def test_files_without_epochs_collide_unless_named(tmp_path: Path) -> None:
    shutil.copy(path_of("set-mlp", "npz", 0), tmp_path / "a.npz")
    shutil.copy(path_of("set-mlp", "npz", 1), tmp_path / "b.npz")
    with pytest.raises(InputError, match=r"appears twice.*--pattern"):
        open_source(tmp_path)
    with open_source(tmp_path / "a.npz") as src:
        assert src.keys() == [(tmp_path.name, 0)]
        assert src.inspect(*src.keys()[0]).epoch_from == "none in the name or the file: 0"


def test_metrics_json_and_value_inside_the_file(tmp_path: Path) -> None:
    state = dict(np.load(path_of("set-mlp", "npz", 1)))
    np.savez(tmp_path / "epoch_1.npz", **state)
    (tmp_path / "metrics.json").write_text(json.dumps([{"epoch": 1, "val_acc": 0.5}]))
    assert load(tmp_path / "epoch_1.npz").accuracy == 0.5
    (tmp_path / "metrics.json").write_text(json.dumps({"epoch": [1], "accuracy": [0.25]}))
    assert load(tmp_path / "epoch_1.npz").accuracy == 0.25
    np.savez(tmp_path / "epoch_1.npz", **state, acc=np.float64(0.75), epoch=np.int64(1))
    ck = load(tmp_path / "epoch_1.npz")
    assert ck.accuracy == 0.75  # the file's own value wins over the side file
    (tmp_path / "metrics.json").write_text(json.dumps([{"epoch": 1, "loss": 0.5}]))
    np.savez(tmp_path / "epoch_1.npz", **state)
    with pytest.raises(InputError, match="accuracy column"):
        load(tmp_path / "epoch_1.npz")


def test_archive_of_checkpoint_files(tmp_path: Path) -> None:
    archive = tmp_path / "runs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted((FIX / "set-mlp" / "safetensors").rglob("*")):
            zf.write(f, f.relative_to(FIX / "set-mlp"))
    with open_source(archive) as src:
        assert src.runs() == ["safetensors/run-0"]
        ck = src.load("safetensors/run-0", 2)
    assert ck.source == f"{archive}:safetensors/run-0/ckpt_0002.safetensors"
    assert_same_network(ck, load_fmt("set-mlp", "safetensors", 2))
    assert ck.accuracy == metrics("set-mlp", "safetensors")[2]


def test_detection_is_by_content_not_name(tmp_path: Path) -> None:
    renamed = tmp_path / "weights.bin"
    shutil.copy(path_of("set-mlp", "safetensors", 1), renamed)
    assert sniff(renamed).kind == "safetensors"
    h5 = tmp_path / "model.data"
    shutil.copy(path_of("keras-mlp", "weights-h5", 1), h5)
    assert sniff(h5).kind == "hdf5"
    assert sniff(path_of("keras-mlp", "keras", 1)).kind == "keras"
    assert sniff(path_of("cnn", "npz", 1)).kind == "npz"
    assert sniff(path_of("set-mlp", "reference", 1) / "weight_l0.npz").kind == "sparse-npz"
    assert sniff(path_of("cnn", "pt", 1)).kind == "torch"
    with open_source(renamed) as src:
        assert_same_network(src.load(*src.keys()[0]), load_fmt("set-mlp", "safetensors", 1))


# -- orientation, chaining, mapping ------------------------------------------------------------
def _save(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def test_square_network_orientation_is_decided_by_the_format(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    w = {f"l{k}.weight": rng.standard_normal((8, 8)).astype(np.float32) for k in range(2)}
    [torch_like] = inspect(_save(tmp_path / "a.npz", **w))
    assert torch_like.orientation == "pytorch"
    assert torch_like.orientation_rule.startswith("format: both orientations chain")
    k = {f"l{k}.kernel": v for k, v in enumerate(w.values())}
    [keras_like] = inspect(_save(tmp_path / "b.npz", **k))
    assert keras_like.orientation == "keras"
    ck = load(tmp_path / "b.npz")
    np.testing.assert_array_equal(ck.layers[0].toarray(), w["l0.weight"])  # [in, out] as stored


def test_orientation_detected_by_chaining_against_the_format(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 3))  # [in, out] under .weight names
    [found] = inspect(_save(tmp_path / "x.npz", **{"a.weight": a, "b.weight": b}))
    assert found.orientation == "keras"
    assert found.orientation_rule.startswith("chaining:") and "although" in found.orientation_rule
    ck = load(tmp_path / "x.npz")
    assert ck.widths == (6, 4, 3)


def test_bias_decides_a_single_layer(tmp_path: Path) -> None:
    w, bias = np.ones((3, 5), dtype=np.float32), np.zeros(5, dtype=np.float32)
    [found] = inspect(_save(tmp_path / "one.npz", **{"fc.weight": w, "fc.bias": bias}))
    assert found.orientation == "keras" and found.layers[0].outputs == 5


def _branchy(rng: np.random.Generator) -> dict[str, np.ndarray]:
    f = np.float32
    return {
        "stem.weight": rng.standard_normal((16, 8)).astype(f),
        "block.fc.weight": rng.standard_normal((16, 16)).astype(f),
        "head_a.weight": rng.standard_normal((10, 16)).astype(f),
        "head_b.weight": rng.standard_normal((4, 16)).astype(f),
        "norm.weight": np.ones(16, f),
        "embed.weight": rng.standard_normal((100, 8)).astype(f),
    }


def test_heads_norms_and_embeddings_are_reported_not_silently_dropped(tmp_path: Path) -> None:
    [found] = inspect(_save(tmp_path / "m.npz", **_branchy(np.random.default_rng(2))))
    assert [r.name for r in found.layers] == ["stem.weight", "block.fc.weight", "head_a.weight"]
    why = dict(found.skipped)
    assert why["head_b.weight [4x16]"].startswith("reads block.fc.weight but is not on the main")
    assert why["norm.weight"].startswith("1-D")
    assert why["embed.weight"].startswith("an embedding")


def test_mapping_file_chooses_the_layers(tmp_path: Path) -> None:
    arrays = _branchy(np.random.default_rng(3))
    arrays["head_b.bias"] = np.zeros(4, np.float32)
    arrays["head_b.keep"] = (np.arange(64).reshape(4, 16) % 3 == 0).astype(np.float32)
    path = _save(tmp_path / "m.npz", **arrays)
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        'layers = ["stem", { weight = "head_b.weight", mask = "head_b.keep" }]\n'
        'orientation = "pytorch"\n'
    )
    ck = load(path, mapping=mapping)
    assert ck.widths == (8, 16, 4)
    assert ck.info[1].topology == "mask" and ck.layers[1].nnz == int(arrays["head_b.keep"].sum())
    np.testing.assert_array_equal(ck.biases[1], arrays["head_b.bias"])
    [found] = inspect(path, mapping=mapping)
    assert found.order_rule == "mapping file"
    assert found.orientation_rule == "the mapping file says so"
    assert ("block.fc.weight", "not in the mapping file") in found.skipped
    mapping.write_text('layers = ["stem", "head_a", "head_b"]\n')
    with pytest.raises(InputError, match=r"head_b.weight .* does not chain after head_a.weight"):
        load(path, mapping=mapping)
    mapping.write_text('layer = ["stem"]\n')
    with pytest.raises(InputError, match="unknown key"):
        load(path, mapping=mapping)


def test_safetensors_order_is_recovered_by_natural_sort_and_chaining(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(4)
    widths = [5, 7, 9, 11, 13, 6, 4, 3, 8, 2, 10, 12]
    arrays = {
        f"layers.{k}.weight": rng.standard_normal((widths[k + 1], widths[k])).astype(np.float32)
        for k in range(11)
    }  # layers.10 sorts before layers.2 by plain string order
    save_file(arrays, tmp_path / "deep.safetensors")
    ck = load(tmp_path / "deep.safetensors")
    assert ck.widths == tuple(widths)
    bf16 = {"fc.weight": np.array([[1.5, -2.0, 0.0]], np.float32)}
    import struct

    header = json.dumps(
        {"fc.weight": {"dtype": "BF16", "shape": [1, 3], "data_offsets": [0, 6]}}
    ).encode()
    raw = (bf16["fc.weight"].view(np.uint32) >> 16).astype("<u2").tobytes()
    (tmp_path / "bf.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + raw)
    ck = load(tmp_path / "bf.safetensors")
    np.testing.assert_array_equal(ck.layers[0].toarray().T, bf16["fc.weight"])


def test_legacy_keras_h5(tmp_path: Path) -> None:
    """Keras 2's HDF5 layout: layer_names in model order, weight_names per layer."""
    rng = np.random.default_rng(5)
    k1, k2 = rng.standard_normal((4, 6)), rng.standard_normal((6, 6))
    with h5py.File(tmp_path / "old.h5", "w") as h5:
        h5.attrs["layer_names"] = [b"dense_10", b"batch_normalization", b"dense_2"]
        for layer, kernel in (("dense_10", k1), ("dense_2", k2)):
            g = h5.create_group(layer)
            g.attrs["weight_names"] = [f"{layer}/kernel:0".encode(), f"{layer}/bias:0".encode()]
            g.create_dataset(f"{layer}/kernel:0", data=kernel)
            g.create_dataset(f"{layer}/bias:0", data=np.zeros(6))
        g = h5.create_group("batch_normalization")
        g.attrs["weight_names"] = [b"batch_normalization/gamma:0"]
        g.create_dataset("batch_normalization/gamma:0", data=np.ones(6))
    [found] = inspect(tmp_path / "old.h5")
    assert [r.name for r in found.layers] == ["dense_10.kernel", "dense_2.kernel"]
    assert found.format == "legacy Keras HDF5 weights"
    assert dict(found.skipped)["batch_normalization"].startswith("batch_normalization: normal")
    ck = load(tmp_path / "old.h5")
    np.testing.assert_array_equal(ck.layers[0].toarray(), k1.astype(np.float32))


# -- the commands ---------------------------------------------------------------------------------
def test_inspect_command_prints_layers_and_skips() -> None:
    result = CliRunner().invoke(app, ["inspect", str(path_of("cnn-bn", "npz", 3))])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "conv1.weight  conv 3x3" in out and "[out, in, kh, kw]" in out
    assert "dense (flatten, 16 rows per channel)" in out
    assert "bn1.{weight, running_mean, running_var, num_batches_tracked, bias}: BatchNorm" in out
    assert "prefix 'module.' (DataParallel/DDP) removed" in out
    result = CliRunner().invoke(
        app, ["inspect", str(FIX / "keras-mlp"), "--epoch", "1", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["run"] for r in rows] == ["keras/run-0", "weights-h5/run-0"]
    assert rows[0]["layers"][0]["orientation"] == "[in, out]"


def test_nnstd_command_compares_two_files_directly() -> None:
    a, b = path_of("set-mlp", "safetensors", 1), path_of("set-mlp", "npz", 3)
    result = CliRunner().invoke(app, ["nnstd", str(a), str(b), "--format", "json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    expected = topograph.nnstd(load(a), load(b))
    assert got["layers"] == list(expected.layers) and got["a"] == {"run": "run-0", "epoch": 1}


def test_legacy_torch_format_wrapped_compiled_and_half_precision(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="writing a legacy .pth needs torch")
    state = torch.load(path_of("cnn", "pt", 2), weights_only=True)
    payload = {"model": {f"_orig_mod.{k}": v.half() for k, v in state.items()}, "epoch": 7}
    path = tmp_path / "last.pth"
    torch.save(payload, path, _use_new_zipfile_serialization=False)
    assert sniff(path).kind == "torch-legacy"
    [found] = inspect(path)
    assert found.epoch == 7 and found.epoch_from == "stored in the file"
    assert "prefix '_orig_mod.' (torch.compile) removed from every name" in found.notes
    ck = load(path)
    exact = {k: v.half().float().numpy() for k, v in state.items()}  # float16 widens exactly
    np.testing.assert_array_equal(ck.layers[2].toarray(), exact["fc.weight"].T)


def test_pruned_bias_is_orig_times_mask(tmp_path: Path) -> None:
    f = np.float32
    path = _save(
        tmp_path / "epoch_1.npz",
        **{
            "0.weight_orig": np.ones((3, 4), f),
            "0.weight_mask": np.eye(3, 4, dtype=f),
            "0.bias_orig": np.ones(3, f),
            "0.bias_mask": np.array([1, 0, 1], f),
        },
    )
    ck = load(path)
    np.testing.assert_array_equal(ck.biases[0], [1, 0, 1])
    np.testing.assert_array_equal(ck.layers[0].toarray(), np.eye(3, 4).T)
    assert ck.info[0].topology == "mask"


def test_epoch_from_the_folder_names_the_run_above_it(tmp_path: Path) -> None:
    """Hugging Face style: <run>/checkpoint-<step>/model.safetensors."""
    folder = tmp_path / "exp" / "checkpoint-500"
    folder.mkdir(parents=True)
    shutil.copy(path_of("set-mlp", "safetensors", 1), folder / "model.safetensors")
    for given in (tmp_path, tmp_path / "exp", folder, folder / "model.safetensors"):
        with open_source(given) as src:
            assert src.keys() == [("exp", 500)], given
            assert src.inspect("exp", 500).epoch_from == "folder name"
