"""Which source kind a path is, from what it is (folder, block device) and its
signature, never its name alone; and the formats devicex knows but does not
read, refused with a one-line error naming them."""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import zlib
from pathlib import Path
from typing import Any

from devicex.errors import SourceError

HEAD = 4096
_DECOMPRESS: dict[str, Any] = {"tar.gz": gzip.GzipFile, "tar.bz2": bz2.BZ2File, "tar.xz": lzma.LZMAFile}
_COMPRESSOR = {"tar.gz": "gzip", "tar.bz2": "bzip2", "tar.xz": "xz"}
# (offset from the start, magic, what it is): formats recognised but not read
NOT_READ = (
    (0, b"AFF10\r\n\x00", "AFF (Advanced Forensic Format) image"),
    (32, b"NXSB", "APFS container"),
    (0, b"LUKS\xba\xbe", "LUKS encrypted volume"),
    (3, b"-FVE-FS-", "BitLocker encrypted volume"),
    (64, b"\x7f\x10\xda\xbe", "VirtualBox VDI disk image"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (0, b"Rar!\x1a\x07", "RAR archive"),
    (0, b"xar!", "XAR archive"),
)


def _device_size(path: Path) -> int:
    """A block device's size from the device itself (its st_size is 0)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def _refuse_special(path: Path, mode: int) -> None:
    """FIFOs, sockets and character devices never reach an open() that could block."""
    if stat.S_ISFIFO(mode):
        raise SourceError(str(path), "is a FIFO (named pipe), not an image file or block device")
    if stat.S_ISCHR(mode):
        raise SourceError(str(path), "is a character device, not an image file or block device")
    if stat.S_ISSOCK(mode):
        raise SourceError(str(path), "is a socket, not an image file or block device")


def _tail(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 512))
        return fh.read(512)


def sniff(head: bytes, tail: bytes) -> str | None:
    """The container kind from the first bytes (and the last 512), or None for a raw/EWF image."""
    from devicex.sources.containers import is_sparse
    from devicex.sources.tar import compression, is_tar

    if is_sparse(head):
        return "android-sparse"
    for magic, kind in ((b"vhdxfile", "vhdx"), (b"conectix", "vhd"), (b"KDMV", "vmdk"), (b"COWD", "vmdk"),
                        (b"# Disk DescriptorFile", "vmdk"), (b"QFI\xfb", "qcow2")):
        if head.startswith(magic):
            return kind
    if tail.startswith(b"conectix"):
        return "vhd"  # fixed VHD: the footer only
    if is_tar(head):
        return "tar"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    return compression(head)


def _not_read(head: bytes, tail: bytes) -> str | None:
    for offset, magic, what in NOT_READ:
        if head[offset:offset + len(magic)] == magic:
            return what
    if tail.startswith(b"koly"):
        return "Apple disk image (DMG/UDIF)"
    return None


def _check_compressed_tar(path: Path, kind: str) -> None:
    try:
        with _DECOMPRESS[kind](path) as fh:
            first = fh.read(512)
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise SourceError(str(path), f"{_COMPRESSOR[kind]} stream unreadable at its start ({exc})") from None
    from devicex.sources.tar import is_tar

    if not is_tar(first.ljust(512, b"\0")):
        raise SourceError(str(path),
                          f"{_COMPRESSOR[kind]}-compressed file that is not a tar archive: decompress it first")


def open_source(path: str | os.PathLike[str]) -> Any:
    """Open an evidence source read-only (see devicex.sources.base.Source), or raise :class:`SourceError`."""
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise SourceError(str(p), "no such file") from None
    except OSError as exc:
        raise SourceError(str(p), f"cannot read ({exc.strerror})") from None
    _refuse_special(p, mode)
    if stat.S_ISDIR(mode):
        from devicex.sources.folder import FolderSource

        if not os.access(p, os.R_OK | os.X_OK):
            raise SourceError(str(p), "folder cannot be read (permission denied)")
        return FolderSource(p)
    block = stat.S_ISBLK(mode)
    try:
        size = _device_size(p) if block else os.stat(p).st_size
        with open(p, "rb") as fh:
            head = fh.read(HEAD)
        tail = _tail(p, size) if size else b""
    except OSError as exc:
        raise SourceError(str(p), f"cannot read ({exc.strerror})") from None
    if size == 0:
        raise SourceError(str(p), "block device has no media (0 bytes)" if block
                          else "empty file (0 bytes), not a device image")
    return _open_kind(p, sniff(head, tail), head, tail, size, block)


def _open_kind(p: Path, kind: str | None, head: bytes, tail: bytes, size: int, block: bool) -> Any:
    if kind in ("tar", "tar.gz", "tar.bz2", "tar.xz"):
        from devicex.sources.tar import TarSource

        if kind != "tar":
            _check_compressed_tar(p, kind)
        return TarSource(p, kind, size)
    if kind == "zip":
        from devicex.sources.zip import ZipSource

        archive = ZipSource(p, "zip", size)
        try:
            archive.check()
        except SourceError:
            archive.close()
            raise
        return archive
    what = _not_read(head, tail)
    if what is not None:
        raise SourceError(str(p), f"{what}: a format devicex does not read")
    from devicex.sources.image import Source, open_image

    if kind == "android-sparse":
        from devicex.sources.containers import SparseImgInfo

        img = SparseImgInfo(p)
        return Source(p, kind, [p], img.get_size(), img)
    if kind is not None:
        from devicex.sources.containers import open_virtual_disk

        vimg = open_virtual_disk(p, kind)
        return Source(p, kind, [p], vimg.get_size(), vimg)
    image = open_image(p, head)
    if block:
        image.container = "block-device"
        image.size = size
    return image
