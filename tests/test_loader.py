"""The reference-layout loader: discovery, accuracy, archives, bad input."""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from topograph import Checkpoint, InputError
from topograph.loaders import open_source

from conftest import SHARED_TOPO, needs_shared


def test_discovers_runs_epochs_and_accuracy(sample_dir: Path) -> None:
    with open_source(str(sample_dir)) as src:
        assert src.runs() == ["e5_s0_w0", "e5_s0_w1", "e5_s0_w9"]
        assert src.epochs() == [0, 10, 190]
        assert len(src) == 9
        ck = src.load("e5_s0_w0", 190)
    lines = (sample_dir / "e5_s0_w0" / "testacc.txt").read_text().split()
    assert ck.accuracy == float(lines[190])  # line E + 1 is epoch E
    assert ck.widths == (784, 784, 784, 784, 10)
    assert all(w.dtype == np.float32 for w in ck.layers)
    raw = sp.load_npz(sample_dir / "e5_s0_w0" / "epoch_190" / "weight_l1.npz")
    assert (ck.layers[1] != sp.csr_matrix(raw)[:-1]).nnz == 0
    assert np.array_equal(ck.biases[1], raw.toarray()[-1].astype(np.float32))


@needs_shared
def test_whole_published_set_counts() -> None:
    with open_source(str(SHARED_TOPO)) as src:
        assert len(src) == 90
        total = sum(ck.nnz for ck in src)
        assert src.accuracy_curve("e5_s0_w2") is None
    assert total == 1_634_343


def test_single_checkpoint_folder_and_run_folder(sample_dir: Path) -> None:
    with open_source(str(sample_dir / "e5_s0_w1" / "epoch_010")) as src:
        assert src.keys() == [("e5_s0_w1", 10)]
    with open_source(str(sample_dir / "e5_s0_w1"), run="renamed") as src:
        assert src.runs() == ["renamed"] and src.epochs() == [0, 10, 190]


def _pack(kind: str, folder: Path, out: Path) -> Path:
    if kind == "zip":
        with zipfile.ZipFile(out, "w") as zf:
            for f in sorted(folder.rglob("*")):
                zf.write(f, f.relative_to(folder.parent))
    else:
        mode = "w:gz" if kind == "tar.gz" else "w"
        with tarfile.open(out, mode) as tf:
            tf.add(folder, arcname=folder.name)
    return out


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz"])
def test_archives_load_like_folders(kind: str, sample_dir: Path, tmp_path: Path) -> None:
    archive = _pack(kind, sample_dir, tmp_path / f"sample.{kind}")
    with open_source(str(archive)) as src:
        assert src.runs() == ["e5_s0_w0", "e5_s0_w1", "e5_s0_w9"]
        from_archive = src.load("e5_s0_w9", 10)
        unpacked = src.root
        assert unpacked.is_dir()
    assert not unpacked.exists()  # the temporary folder is gone
    with open_source(str(sample_dir)) as src:
        assert from_archive.content_hash == src.load("e5_s0_w9", 10).content_hash


def _hostile_tar(tmp_path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    out = tmp_path / "hostile.tar"
    with tarfile.open(out, "w") as tf:
        tf.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return out


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("../evil/epoch_000/weight_l0.npz", tarfile.REGTYPE, "climbs out"),
        ("/tmp/evil.npz", tarfile.REGTYPE, "absolute path"),
        ("run/epoch_000/weight_l0.npz", tarfile.SYMTYPE, "link"),
        ("run/epoch_000/weight_l1.npz", tarfile.LNKTYPE, "link"),
        ("run/dev", tarfile.CHRTYPE, "special"),
    ],
)
def test_hostile_tar_refused_and_nothing_written(
    name: str, kind: bytes, message: str, tmp_path: Path
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    if kind == tarfile.REGTYPE:
        info.size = 1
    else:
        info.linkname = "/etc/passwd"
    archive = _hostile_tar(tmp_path, info)
    tmp_root = Path(tempfile.gettempdir())
    before = set(tmp_root.glob("topograph-*"))
    with pytest.raises(InputError, match=message):
        open_source(str(archive))
    assert set(tmp_root.glob("topograph-*")) == before  # its unpack folder is gone
    assert not (tmp_path.parent / "evil").exists()
    assert not Path("/tmp/evil.npz").exists()


def test_hostile_zip_refused(tmp_path: Path) -> None:
    archive = tmp_path / "hostile.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escape.npz", b"x")
    with pytest.raises(InputError, match="climbs out"):
        open_source(str(archive))
    link = zipfile.ZipInfo("run/epoch_000/weight_l0.npz")
    link.external_attr = 0o120777 << 16
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(InputError, match="symbolic link"):
        open_source(str(archive))


def test_corrupt_archive(tmp_path: Path) -> None:
    bad = tmp_path / "broken.tar.gz"
    bad.write_bytes(b"\x1f\x8b this is not gzip")
    with pytest.raises(InputError, match="corrupt or unreadable archive"):
        open_source(str(bad))


@pytest.fixture()
def copy_of_one(sample_dir: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "runs" / "e5_s0_w0"
    shutil.copytree(sample_dir / "e5_s0_w0", dst)
    return dst


def test_missing_layer_file(copy_of_one: Path) -> None:
    (copy_of_one / "epoch_010" / "weight_l2.npz").unlink()
    with open_source(str(copy_of_one)) as src:
        src.load("e5_s0_w0", 0)  # other epochs are unaffected
        with pytest.raises(InputError, match=r"epoch_010: missing layer file weight_l2\.npz"):
            src.load("e5_s0_w0", 10)


def test_corrupt_npz(copy_of_one: Path) -> None:
    f = copy_of_one / "epoch_000" / "weight_l1.npz"
    f.write_bytes(f.read_bytes()[:500])
    with open_source(str(copy_of_one)) as src, pytest.raises(InputError) as err:
        src.load("e5_s0_w0", 0)
    assert "weight_l1.npz: not a readable scipy sparse .npz" in str(err.value)
    assert "\n" not in str(err.value)


def test_nan_weight_names_file_and_layer(copy_of_one: Path) -> None:
    f = copy_of_one / "epoch_000" / "weight_l2.npz"
    m = sp.load_npz(f).tocsr()
    m.data[3] = np.nan
    sp.save_npz(f, m)
    with open_source(str(copy_of_one)) as src, pytest.raises(InputError) as err:
        src.load("e5_s0_w0", 0)
    assert "epoch_000 layer 2" in str(err.value) and "NaN" in str(err.value)


def test_layers_that_do_not_chain(copy_of_one: Path) -> None:
    f = copy_of_one / "epoch_000" / "weight_l3.npz"
    sp.save_npz(f, sp.random(501, 10, density=0.5, format="csr", dtype=np.float32))
    with open_source(str(copy_of_one)) as src, pytest.raises(InputError, match="layers must chain"):
        src.load("e5_s0_w0", 0)


def test_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no checkpoints found"):
        open_source(str(tmp_path))
    with pytest.raises(InputError, match="no such file"):
        open_source(str(tmp_path / "nope"))


def test_checkpoint_validation_and_hash() -> None:
    w = sp.csr_matrix(np.array([[0.5, 0.0], [0.0, -1.0]], dtype=np.float64))
    a = Checkpoint("r", 0, (w, w))
    b = Checkpoint("r", 1, (w.astype(np.float32), w))
    assert a.content_hash == b.content_hash  # same weights, any dtype in
    c = Checkpoint("r", 0, (w, w * 2))
    assert c.content_hash != a.content_hash
    explicit_zero = sp.csr_matrix(
        (np.array([0.0, 1.0]), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2)
    )
    assert Checkpoint("r", 0, (explicit_zero,)).layers[0].nnz == 1
    with pytest.raises(InputError, match="infinite"):
        Checkpoint("r", 0, (sp.csr_matrix(np.array([[np.inf]])),))
    with pytest.raises(InputError, match="bias"):
        Checkpoint("r", 0, (w,), biases=(np.zeros(3),))
    with pytest.raises(InputError, match="epoch"):
        Checkpoint("r", "ten", (w,))  # type: ignore[arg-type]


def test_tar_damaged_in_the_middle_is_refused(sample_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "sample.tar"
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT) as tf:
        tf.add(sample_dir, arcname=sample_dir.name)
    names = [m.name for m in tarfile.open(archive).getmembers() if m.isfile()]
    data = bytearray(archive.read_bytes())
    at = data.find(names[-2].encode())
    data[at + 148 : at + 156] = b"0000000\x00"  # a wrong header checksum, late in the archive
    bad = tmp_path / "damaged.tar"
    bad.write_bytes(bytes(data))
    with tarfile.open(bad) as tf:  # tarfile alone stops quietly at the damaged header
        assert len([m for m in tf.getmembers() if m.isfile()]) < len(names)
    with pytest.raises(InputError, match="corrupt tar"):
        open_source(str(bad))


def test_no_temporary_folder_left_when_an_archive_holds_no_checkpoint(tmp_path: Path) -> None:
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "no checkpoints here")
    tmp_root = Path(tempfile.gettempdir())
    before = set(tmp_root.glob("topograph-*"))
    with pytest.raises(InputError, match="no checkpoints found"):
        open_source(str(archive))
    assert set(tmp_root.glob("topograph-*")) == before


def test_archive_provenance_names_the_archive(sample_dir: Path, tmp_path: Path) -> None:
    archive = _pack("zip", sample_dir, tmp_path / "sample.zip")
    with open_source(str(archive)) as src:
        ck = src.load("e5_s0_w0", 10)
    assert ck.source == f"{archive}:topo-sample/e5_s0_w0/epoch_010"


def test_duplicates_summed_before_zeros_dropped_and_underflow_refused() -> None:
    cancel = sp.csr_matrix(
        (np.array([1.0, -1.0, 2.0]), np.array([0, 0, 1]), np.array([0, 3])), shape=(1, 2)
    )
    layer = Checkpoint("r", 0, (cancel,)).layers[0]
    assert layer.nnz == 1 and layer[0, 1] == 2.0
    with pytest.raises(InputError, match="underflow float32"):
        Checkpoint("r", 0, (sp.csr_matrix(np.array([[1e-50, 1.0]])),))
