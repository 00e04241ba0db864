"""Safe unpacking of checkpoint archives (.zip, .tar, .tar.gz, .tgz).

Archives come from other people's training runs, so they are treated as
hostile: every member is checked *before* anything is written, and the whole
archive is refused when one member is an absolute path, climbs out with
``..``, is a link or a device, or when the archive would unpack to more than
``max_bytes``. Members are written only inside a fresh temporary folder that
the caller owns (and removes).
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO

from topograph.errors import InputError
from topograph.loaders.detect import sniff

__all__ = ["ARCHIVE_SUFFIXES", "DEFAULT_MAX_BYTES", "extract_archive", "is_archive"]

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
#: Refuse archives that would unpack to more than this (bytes): 8 GiB.
DEFAULT_MAX_BYTES = 8 * 1024**3


def is_archive(path: Path) -> bool:
    """True when ``path`` names a file with one of :data:`ARCHIVE_SUFFIXES`."""
    name = path.name.lower()
    return path.is_file() and name.endswith(ARCHIVE_SUFFIXES)


def _check_name(archive: Path, name: str) -> None:
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise InputError(f"{archive}: refusing member with an absolute path: {name!r}")
    if ".." in posix.parts:
        raise InputError(f"{archive}: refusing member that climbs out with '..': {name!r}")


def extract_archive(archive: Path, dest: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Unpack ``archive`` into the empty folder ``dest`` after checking every member.

    The type (zip, or tar: plain, gzip, bzip2, xz) comes from the content
    (:func:`topograph.loaders.detect.sniff`), else from the name.

    Raises :class:`InputError` (one line, naming the archive and the member)
    for a corrupt archive or a refused member; nothing is written then.
    """
    name = archive.name.lower()
    kind = sniff(archive).kind  # content first: a tar named .bin is a tar
    if kind not in ("zip", "tar"):
        by_name = "tar" if name.endswith(ARCHIVE_SUFFIXES) else kind
        kind = "zip" if name.endswith(".zip") else by_name
    try:
        if kind == "zip":
            _extract_zip(archive, dest, max_bytes)
        elif kind == "tar":
            _extract_tar(archive, dest, max_bytes)
        else:
            raise InputError(
                f"{archive}: unknown archive type (expected {', '.join(ARCHIVE_SUFFIXES)})"
            )
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise InputError(f"{archive}: corrupt or unreadable archive ({exc})") from None
    except (RuntimeError, NotImplementedError) as exc:  # encrypted or unsupported zip
        raise InputError(f"{archive}: cannot unpack ({exc})") from None


def _extract_zip(archive: Path, dest: Path, max_bytes: int) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        total = 0
        for info in infos:
            _check_name(archive, info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise InputError(f"{archive}: refusing symbolic link member {info.filename!r}")
            total += info.file_size
        if total > max_bytes:
            raise InputError(
                f"{archive}: would unpack to {total} bytes, over the {max_bytes} limit"
            )
        for info in infos:
            target = dest / info.filename
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                _copy_bounded(src, out, info.file_size, archive, info.filename)


def _extract_tar(archive: Path, dest: Path, max_bytes: int) -> None:
    with tarfile.open(archive, mode="r:*") as tf:
        members = tf.getmembers()
        # tarfile stops quietly at a damaged header after the first one: make
        # sure what follows the last member is only the end-of-archive zeros
        # (reading it also makes gzip check its CRC).
        assert tf.fileobj is not None
        tf.fileobj.seek(tf.offset)
        while chunk := tf.fileobj.read(1 << 20):
            if chunk.count(0) != len(chunk):
                raise InputError(
                    f"{archive}: corrupt tar: unreadable data after member {members[-1].name!r}"
                    if members
                    else f"{archive}: corrupt tar"
                )
        total = 0
        for m in members:
            _check_name(archive, m.name)
            if m.issym() or m.islnk():
                raise InputError(f"{archive}: refusing link member {m.name!r}")
            if not (m.isfile() or m.isdir()):
                raise InputError(f"{archive}: refusing special member {m.name!r}")
            total += m.size
        if total > max_bytes:
            raise InputError(
                f"{archive}: would unpack to {total} bytes, over the {max_bytes} limit"
            )
        for m in members:
            target = dest / m.name
            if m.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(m)
            if src is None:  # pragma: no cover - isfile() members always have data
                continue
            with src, open(target, "wb") as out:
                _copy_bounded(src, out, m.size, archive, m.name)


def _copy_bounded(
    src: IO[bytes], out: IO[bytes], declared: int, archive: Path, member: str
) -> None:
    """Copy at most ``declared`` bytes: a member lying about its size is refused."""
    written = 0
    while chunk := src.read(1 << 20):
        written += len(chunk)
        if written > declared:
            raise InputError(f"{archive}: member {member!r} is larger than it declares")
        out.write(chunk)
