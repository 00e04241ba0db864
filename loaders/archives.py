"""Safe unpacking of checkpoint archives (.zip, .tar, .tar.gz, .tgz).

Archives come from other people's training runs, so they are treated as
hostile: every member is checked *before* anything is written, and the whole
archive is refused when one member is an absolute path, climbs out with
``..``, is a link or a device, appears twice, or when the archive would unpack
to more than its limits (:mod:`topograph.loaders.limits`: total bytes, and
bytes per byte of archive). Members are written only inside a fresh temporary folder that
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
from topograph.loaders.limits import FREE_UNPACKED, max_ratio, max_unpacked

__all__ = ["ARCHIVE_SUFFIXES", "DEFAULT_MAX_BYTES", "extract_archive", "is_archive"]

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
#: Refuse archives that would unpack to more than this (bytes): 8 GiB, unless
#: ``TOPOGRAPH_MAX_UNPACKED`` says otherwise (:mod:`topograph.loaders.limits`).
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


def extract_archive(archive: Path, dest: Path, max_bytes: int | None = None) -> None:
    """Unpack ``archive`` into the empty folder ``dest`` after checking every member.

    The type (zip, or tar: plain, gzip, bzip2, xz) comes from the content
    (:func:`topograph.loaders.detect.sniff`), else from the name.
    ``max_bytes``: the most it may unpack to (default
    :func:`~topograph.loaders.limits.max_unpacked`); beyond
    :data:`~topograph.loaders.limits.FREE_UNPACKED`, also at most
    :func:`~topograph.loaders.limits.max_ratio` times its own size.

    Raises :class:`InputError` (one line, naming the archive and the member)
    for a corrupt archive or a refused member; nothing is written then. A tar
    is checked as its headers stream past: a bomb is refused at the header
    that declares too much, not after decompressing it.
    """
    name = archive.name.lower()
    kind = sniff(archive).kind  # content first: a tar named .bin is a tar
    if kind not in ("zip", "tar"):
        by_name = "tar" if name.endswith(ARCHIVE_SUFFIXES) else kind
        kind = "zip" if name.endswith(".zip") else by_name
    budget = _Budget(archive, max_bytes)
    try:
        if kind == "zip":
            _extract_zip(archive, dest, budget)
        elif kind == "tar":
            _extract_tar(archive, dest, budget)
        else:
            raise InputError(
                f"{archive}: unknown archive type (expected {', '.join(ARCHIVE_SUFFIXES)})"
            )
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise InputError(f"{archive}: corrupt or unreadable archive ({exc})") from None
    except (RuntimeError, NotImplementedError) as exc:  # encrypted or unsupported zip
        raise InputError(f"{archive}: cannot unpack ({exc})") from None


class _Budget:
    """What an archive's members may add up to, and the names already seen."""

    def __init__(self, archive: Path, max_bytes: int | None) -> None:
        self.archive = archive
        self.limit = max_unpacked() if max_bytes is None else max_bytes
        self.ratio = max_ratio()
        self.size = max(archive.stat().st_size, 1)
        self.total = 0
        self.names: set[str] = set()

    def add(self, member: str, size: int, is_dir: bool = False) -> None:
        """Account one member; refuse a duplicate name or a total over the limits."""
        key = PurePosixPath(member.replace("\\", "/")).as_posix()
        if key in self.names and not is_dir:
            raise InputError(
                f"{self.archive}: member {member!r} appears twice; which copy is the checkpoint?"
            )
        self.names.add(key)
        self.total += size
        if self.total > self.limit:
            raise InputError(
                f"{self.archive}: would unpack to more than {self.limit:,} bytes "
                f"(at member {member!r}; TOPOGRAPH_MAX_UNPACKED); refused before unpacking"
            )
        if self.total > FREE_UNPACKED and self.total > self.ratio * self.size:
            raise InputError(
                f"{self.archive}: declares {self.total:,} bytes unpacked from {self.size:,}, "
                f"over {self.ratio} times its size (TOPOGRAPH_MAX_RATIO); refused as a "
                "decompression bomb"
            )


def _extract_zip(archive: Path, dest: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            _check_name(archive, info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise InputError(f"{archive}: refusing symbolic link member {info.filename!r}")
            budget.add(info.filename, info.file_size, info.is_dir())
        for info in infos:
            target = dest / info.filename
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                _copy_bounded(src, out, info.file_size, archive, info.filename)


def _extract_tar(archive: Path, dest: Path, budget: _Budget) -> None:
    with tarfile.open(archive, mode="r:*") as tf:
        # Headers one at a time, each checked before the next is read (reading
        # the next means decompressing this member's data): a bomb stops at
        # its first oversized header.
        members: list[tarfile.TarInfo] = []
        while (m := tf.next()) is not None:
            _check_name(archive, m.name)
            if m.issym() or m.islnk():
                raise InputError(f"{archive}: refusing link member {m.name!r}")
            if not (m.isfile() or m.isdir()):
                raise InputError(f"{archive}: refusing special member {m.name!r}")
            budget.add(m.name, m.size, m.isdir())
            members.append(m)
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
