"""Hostile and broken checkpoint files: one line, exit 1, nothing stored, nothing run.

Each case is built here from scratch: a pickle whose unpickling would run
code (it must never run: a marker file it would create stays absent), a
safetensors header that lies about sizes, HDF5 and ``.npy`` headers that
declare absurd shapes, state dicts whose shapes do not chain, unsupported
layer kinds, and a truncated or corrupt file of every format. Each goes
through the library (:class:`topograph.InputError`) and through the CLI in a
subprocess (``python -m topograph ingest FILE --db STORE``).
"""

from __future__ import annotations

import builtins
import io
import json
import pickle
import re
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

import topograph
from topograph import InputError
from topograph.loaders.state_dict import MAX_TENSOR_BYTES

from conftest import REPO

FIX = REPO / "tests" / "data" / "checkpoints"
MARKER = "pwned"


class Evil:
    """Unpickling this creates ``path``: proof that code ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (builtins.exec, (f"open({self.path!r}, 'w').close()",))


def evil_pickle(tmp: Path, protocol: int = 2) -> bytes:
    return pickle.dumps(Evil(tmp / MARKER), protocol=protocol)


# -- the cases: (file builder, what the one-line message says) ------------------------------------
def raw_pickle(tmp: Path) -> Path:
    path = tmp / "model.pt"
    path.write_bytes(evil_pickle(tmp, protocol=4))
    return path


def torch_zip_pickle(tmp: Path) -> Path:
    """A torch.save zip layout whose data.pkl runs code."""
    path = tmp / "epoch=1.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", evil_pickle(tmp))
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
    return path


def torch_legacy_pickle(tmp: Path) -> Path:
    """torch's legacy format: magic number, protocol, sys info, then the object."""
    path = tmp / "legacy.pth"
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}
    path.write_bytes(
        magic + pickle.dumps(1001, protocol=2) + pickle.dumps(info, protocol=2) + evil_pickle(tmp)
    )
    return path


def _safetensors(tmp: Path, header: dict[str, object], data: bytes, n: int | None = None) -> Path:
    path = tmp / "ckpt_0001.safetensors"
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text) if n is None else n) + text + data)
    return path


def st_offsets_beyond_file(tmp: Path) -> Path:
    spec = {"dtype": "F32", "shape": [8, 8], "data_offsets": [0, 256]}
    return _safetensors(tmp, {"fc.weight": spec}, b"\0" * 16)


def st_huge_header_length(tmp: Path) -> Path:
    return _safetensors(tmp, {}, b"", n=2**40)


def st_header_past_end(tmp: Path) -> Path:
    return _safetensors(tmp, {}, b"", n=5000)


def st_shape_lies(tmp: Path) -> Path:
    spec = {"dtype": "F32", "shape": [100, 100], "data_offsets": [0, 16]}
    return _safetensors(tmp, {"fc.weight": spec}, b"\0" * 16)


def st_absurd_shape(tmp: Path) -> Path:
    spec = {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 16]}
    return _safetensors(tmp, {"fc.weight": spec}, b"\0" * 16)


def h5_absurd_dims(tmp: Path) -> Path:
    path = tmp / "epoch_1.weights.h5"
    with h5py.File(path, "w") as h5:
        g = h5.create_group("layers/dense/vars")
        g.attrs["name"] = "fc1"
        # 10^12 float32 declared, nothing written: the file stays small
        g.create_dataset("0", shape=(10**6, 10**6), dtype="f4", chunks=(1, 1024))
        h5.create_group("vars")
    assert path.stat().st_size < 1_000_000
    return path


def npz_absurd_header(tmp: Path) -> Path:
    path = tmp / "epoch_001.npz"
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("fc.weight.npy", buf.getvalue() + b"\0" * 64)
    return path


def npz_shape_lies(tmp: Path) -> Path:
    path = tmp / "epoch_002.npz"
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (100, 100)}
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("fc.weight.npy", buf.getvalue() + b"\0" * 64)
    return path


def _npz(tmp: Path, **arrays: np.ndarray) -> Path:
    path = tmp / "epoch_3.npz"
    np.savez(path, **arrays)
    return path


def not_chaining(tmp: Path) -> Path:
    return _npz(tmp, **{"fc1.weight": np.ones((32, 64)), "fc2.weight": np.ones((32, 48))})


def conv1d(tmp: Path) -> Path:
    return _npz(tmp, **{"conv.weight": np.ones((8, 4, 3)), "fc.weight": np.ones((10, 8))})


def conv3d(tmp: Path) -> Path:
    return _npz(tmp, **{"conv.weight": np.ones((8, 4, 3, 3, 3))})


def object_array(tmp: Path) -> Path:
    return _npz(tmp, **{"fc.weight": np.array([Evil(tmp / MARKER)], dtype=object)})


def _truncated(src: Path, tmp: Path) -> Path:
    path = tmp / src.name
    data = src.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def truncated_pt(tmp: Path) -> Path:
    return _truncated(FIX / "set-mlp" / "pt" / "run-0" / "epoch=2.pt", tmp)


def truncated_safetensors(tmp: Path) -> Path:
    return _truncated(FIX / "set-mlp" / "safetensors" / "run-0" / "ckpt_0002.safetensors", tmp)


def truncated_keras(tmp: Path) -> Path:
    return _truncated(FIX / "keras-mlp" / "keras" / "run-0" / "epoch_2.keras", tmp)


def truncated_h5(tmp: Path) -> Path:
    return _truncated(FIX / "keras-mlp" / "weights-h5" / "run-0" / "epoch_2.weights.h5", tmp)


def truncated_npz(tmp: Path) -> Path:
    return _truncated(FIX / "cnn" / "npz" / "run-0" / "epoch_002.npz", tmp)


def garbage_pt(tmp: Path) -> Path:
    path = tmp / "epoch=5.pt"
    path.write_bytes(b"this is not a checkpoint at all" * 10)
    return path


def corrupt_keras_config(tmp: Path) -> Path:
    src = FIX / "keras-mlp" / "keras" / "run-0" / "epoch_2.keras"
    path = tmp / "epoch_2.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, b"{not json" if info.filename == "config.json" else data)
    return path


REFUSED_BEFORE = r"declares shape \(1000000, 1000000\).*refused before reading"
CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "pickle-raw": (raw_pickle, r"a pickle that is not a PyTorch file; refused without unpickling"),
    "pickle-torch-zip": (
        torch_zip_pickle,
        r"refused to unpickle: it names (builtins\.)?exec|needs torch",
    ),
    "pickle-torch-legacy": (torch_legacy_pickle, r"refused to unpickle|needs torch"),
    "st-offsets-beyond-file": (st_offsets_beyond_file, r"data_offsets \[0, 256\] go beyond"),
    "st-huge-header": (st_huge_header_length, r"header length 1,099,511,627,776 bytes is over"),
    "st-header-past-end": (st_header_past_end, r"header length 5,000 bytes goes beyond the end"),
    "st-shape-lies": (st_shape_lies, r"tensor fc.weight: data_offsets \[0, 16\] do not hold"),
    "st-absurd-shape": (st_absurd_shape, REFUSED_BEFORE),
    "h5-absurd-dims": (h5_absurd_dims, REFUSED_BEFORE),
    "npz-absurd-header": (npz_absurd_header, REFUSED_BEFORE),
    "npz-shape-lies": (npz_shape_lies, r"declares 40,000 bytes of float32 \(100, 100\) but holds"),
    "npz-object-array": (object_array, r"holds Python objects.*allow_pickle=False"),
    "not-chaining": (not_chaining, r"fc2.weight \[32x48\] takes 48 inputs.*do not chain"),
    "conv1d": (conv1d, r"conv.weight \(8, 4, 3\) is a 3-D weight \(Conv1d\): an unsupported"),
    "conv3d": (conv3d, r"is a 5-D weight \(Conv3d\): an unsupported layer kind"),
    "truncated-pt": (truncated_pt, r"corrupt or truncated zip container"),
    "truncated-safetensors": (truncated_safetensors, r"go beyond the file's .* truncated or lying"),
    "truncated-keras": (truncated_keras, r"corrupt or truncated zip container"),
    "truncated-h5": (truncated_h5, r"corrupt or truncated HDF5 file"),
    "truncated-npz": (truncated_npz, r"corrupt or truncated zip container"),
    "garbage-pt": (garbage_pt, r"corrupt or not a torch file: neither a zip nor a pickle"),
    "corrupt-keras-config": (corrupt_keras_config, r"corrupt or truncated .keras file"),
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str, Path]:
    build, message = CASES[request.param]
    return build(tmp_path), message, tmp_path / MARKER


def test_the_crafted_pickle_really_runs_code_when_unpickled_unsafely(tmp_path: Path) -> None:
    """The control: without topograph's refusal, this payload would create the marker."""
    pickle.loads(evil_pickle(tmp_path))
    assert (tmp_path / MARKER).exists()


def test_library_refuses_with_one_line(case: tuple[Path, str, Path]) -> None:
    path, message, marker = case
    with pytest.raises(InputError, match=message) as err:
        topograph.load(path)
    text = str(err.value)
    assert "\n" not in text
    assert str(path) in text  # names the file
    assert not marker.exists()  # nothing ran
    if "pickle" in message or "torch" in message:
        with pytest.raises(InputError):
            topograph.loaders.inspect(path)
        assert not marker.exists()


@pytest.mark.slow
def test_cli_ingest_refuses_with_one_line_and_stores_nothing(
    case: tuple[Path, str, Path], tmp_path: Path
) -> None:
    path, message, marker = case
    db = tmp_path / "store.lbdb"
    out = subprocess.run(
        [sys.executable, "-m", "topograph", "ingest", str(path), "--db", str(db), "--no-progress"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 1, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert re.search(message, lines[0]), lines[0]
    assert not marker.exists()
    if db.exists():
        with topograph.connect(str(db), read_only=True) as tg:
            assert tg.status().runs == {}


def test_limits_are_what_the_docs_say() -> None:
    assert MAX_TENSOR_BYTES == 4 * 1024**3


@pytest.mark.slow
def test_pt_without_torch_is_one_line_saying_to_install_the_extra(tmp_path: Path) -> None:
    pt = FIX / "set-mlp" / "pt" / "run-0" / "epoch=1.pt"
    db = tmp_path / "s.lbdb"
    code = (
        "import sys; sys.modules['torch'] = None; "  # import torch now raises ImportError
        f"sys.argv = {['topograph', 'ingest', str(pt), '--db', str(db), '--no-progress']!r}; "
        "from topograph.cli import main; main()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"error: {pt}: reading PyTorch files needs torch: pip install 'topograph[torch]'"
    ]


def test_pt_without_torch_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    pt = FIX / "cnn" / "pt" / "run-0" / "epoch=1.pt"
    with pytest.raises(InputError, match=r"needs torch: pip install 'topograph\[torch\]'"):
        topograph.load(pt)
    # every other format still reads
    assert topograph.load(FIX / "cnn" / "safetensors" / "run-0" / "ckpt_0001.safetensors")


def test_a_good_file_beside_a_bad_one_still_reads(tmp_path: Path) -> None:
    good = FIX / "set-mlp" / "npz" / "run-0" / "epoch_001.npz"
    (tmp_path / "epoch_001.npz").write_bytes(good.read_bytes())
    raw_pickle(tmp_path).rename(tmp_path / "epoch_002.pt")
    with topograph.loaders.open_source(tmp_path) as src:
        assert src.epochs(tmp_path.name) == [1, 2]
        assert src.load(tmp_path.name, 1).nnz > 0
        with pytest.raises(InputError, match="refused without unpickling"):
            src.load(tmp_path.name, 2)
    assert not (tmp_path / MARKER).exists()
