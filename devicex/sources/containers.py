"""Disk-image containers read behind :class:`pytsk3.Img_Info`, like E01: Android
sparse images (expanded on the fly, no temporary copy) and virtual disks
(VHD/VHDX, VMDK, QCOW2) through the libyal bindings (libvhdi-python,
libvmdk-python, libqcow-python). Once opened, TSK reads them as any image.
"""
from __future__ import annotations

import bisect
import os
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyqcow
import pytsk3
import pyvhdi
import pyvmdk

from devicex.errors import SourceError
from devicex.sources.base import MediaReads
from devicex.sources.blockcache import MediaImg

SPARSE_MAGIC = 0xED26FF3A
_SPARSE_HEADER = struct.Struct("<IHHHHIIII")
_CHUNK_HEADER = struct.Struct("<HHII")
_RAW, _FILL, _DONT_CARE, _CRC32 = 0xCAC1, 0xCAC2, 0xCAC3, 0xCAC4


def is_sparse(head: bytes) -> bool:
    return len(head) >= 4 and struct.unpack_from("<I", head)[0] == SPARSE_MAGIC


class SparseImgInfo(MediaImg):
    """An Android sparse image (``simg``) as the raw image it stands for.

    The chunk table is read once: raw chunks map onto ranges of the file, fill
    chunks repeat a 4-byte value, don't-care chunks read as zeros.
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._starts: list[int] = []  # expanded offset of each chunk
        self._chunks: list[tuple[int, int, int, bytes]] = []  # (type, expanded length, file offset, fill)
        self._size = self._index(path)
        self._lock = threading.Lock()
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def _index(self, path: Path) -> int:
        head = os.pread(self._fd, _SPARSE_HEADER.size, 0)
        if len(head) < _SPARSE_HEADER.size:
            raise SourceError(str(path), "Android sparse image truncated in its header")
        _, major, _, file_hdr, chunk_hdr, blk, total_blks, total_chunks, _ = _SPARSE_HEADER.unpack(head)
        if major != 1 or blk == 0 or blk % 4:
            raise SourceError(str(path), f"Android sparse image version {major} / block size {blk} not supported")
        pos, out = file_hdr, 0
        for n in range(total_chunks):
            raw = os.pread(self._fd, _CHUNK_HEADER.size, pos)
            if len(raw) < _CHUNK_HEADER.size:
                raise SourceError(str(path), f"Android sparse image truncated at chunk {n} of {total_chunks}")
            ctype, _, blocks, total = _CHUNK_HEADER.unpack(raw)
            data_at = pos + chunk_hdr
            length = blocks * blk
            if ctype not in (_RAW, _FILL, _DONT_CARE, _CRC32):
                raise SourceError(str(path), f"Android sparse image: unknown chunk type {ctype:#x} at chunk {n}")
            if ctype != _CRC32:
                fill = os.pread(self._fd, 4, data_at) if ctype == _FILL else b""
                self._starts.append(out)
                self._chunks.append((ctype, length, data_at, fill))
                out += length
            pos += total
        if out != total_blks * blk:
            raise SourceError(str(path), f"Android sparse image: chunks cover {out} bytes, header says "
                                         f"{total_blks * blk}")
        return out

    def close(self) -> None:
        os.close(self._fd)

    def read_media(self, offset: int, size: int) -> bytes:
        out = bytearray()
        size = min(size, self._size - offset)
        with self._lock:
            while size > 0:
                idx = bisect.bisect_right(self._starts, offset) - 1
                ctype, length, data_at, fill = self._chunks[idx]
                within = offset - self._starts[idx]
                take = min(size, length - within)
                if ctype == _RAW:
                    piece = os.pread(self._fd, take, data_at + within)
                    if not piece:
                        raise OSError(f"sparse image truncated: raw chunk at file offset {data_at} unreadable")
                elif ctype == _FILL:
                    start = within % 4
                    piece = (fill * ((take + start) // 4 + 2))[start:start + take]
                else:
                    piece = bytes(take)
                out += piece
                offset += len(piece)
                size -= len(piece)
        MediaReads.add(len(out))
        return bytes(out)

    def get_size(self) -> int:
        return self._size


class LibyalImgInfo(MediaImg):
    """A pytsk3 image backed by a libyal handle (vhdi, vmdk, qcow), serialising reads across threads."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._lock = threading.Lock()
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def close(self) -> None:
        self._handle.close()

    def read_media(self, offset: int, size: int) -> bytes:
        with self._lock:
            data = bytes(self._handle.read_buffer_at_offset(size, offset))
        MediaReads.add(len(data))
        return data

    def get_size(self) -> int:
        return int(self._handle.get_media_size())


def _vhd(path: Path) -> Any:
    handle = pyvhdi.file()
    handle.open(str(path))
    if int(handle.get_disk_type()) == 4:  # differencing: the data lives in a parent image too
        parent = handle.get_parent_filename() or "?"
        handle.close()
        raise SourceError(str(path), f"differencing VHD: needs its parent image ({parent}), not read")
    return handle


def _vmdk(path: Path) -> Any:
    handle = pyvmdk.handle()
    handle.open(str(path))
    handle.open_extent_data_files()
    return handle


def _qcow(path: Path) -> Any:
    handle = pyqcow.file()
    handle.open(str(path))
    if handle.get_backing_filename():
        name = handle.get_backing_filename()
        handle.close()
        raise SourceError(str(path), f"QCOW2 image with a backing file ({name!r}): not read")
    return handle


OPENERS: dict[str, Callable[[Path], Any]] = {"vhd": _vhd, "vhdx": _vhd, "vmdk": _vmdk, "qcow2": _qcow}


def open_virtual_disk(path: Path, kind: str) -> LibyalImgInfo:
    """The virtual disk as an image TSK reads; SourceError with the library's reason if it cannot be opened."""
    try:
        return LibyalImgInfo(OPENERS[kind](path))
    except (OSError, RuntimeError) as exc:
        reason = " ".join(str(exc).split()).split(". ")[-1].rstrip(".")
        raise SourceError(str(path), f"cannot open {kind.upper()} image ({reason})") from None
