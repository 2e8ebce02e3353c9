"""exFAT's recorded UTC offsets.

An exFAT file directory entry (type 0x85; 0x05 once deleted) stores each
time as a zone-less local date and time, plus, since exFAT 1.00 as Windows
writes it, a UTC offset for each: bytes 22 (create), 23 (last modified) and
24 (last accessed); bit 7 says the offset is valid, bits 0-6 are a signed
count of 15 minutes. TSK ignores the offsets (and reads the local time as
UTC, the process zone). This module reads them from the raw directory entry
that TSK's inode number points at (TSK numbers exFAT directory entries as
``3 + (sector - cluster heap start) * entries per sector + index``).
"""
from __future__ import annotations

import struct
from datetime import timedelta
from typing import Protocol

ENTRY = 32
FIRST_NORMAL_INODE = 3
FILE_ENTRY_TYPES = (0x85, 0x05)  # in use, deleted
OFFSET_FIELDS = (("crtime", 22), ("mtime", 23), ("atime", 24))


class RawImage(Protocol):
    def read(self, offset: int, size: int) -> bytes: ...


def _geometry(image: RawImage, fs_offset: int) -> tuple[int, int] | None:
    """(bytes per sector, cluster heap offset in sectors) from the boot sector."""
    boot = image.read(fs_offset, 512)
    if len(boot) < 512 or boot[3:11] != b"EXFAT   ":
        return None
    heap = struct.unpack_from("<I", boot, 88)[0]
    shift = boot[108]
    if not 9 <= shift <= 12:
        return None
    return 1 << shift, heap


def entry_location(image: RawImage, fs_offset: int, inode: int) -> int | None:
    """Byte offset in the image of the directory entry TSK numbers ``inode``."""
    geometry = _geometry(image, fs_offset)
    if geometry is None or inode < FIRST_NORMAL_INODE:
        return None
    sector, heap = geometry
    per_sector = sector // ENTRY
    index = inode - FIRST_NORMAL_INODE
    return fs_offset + (heap + index // per_sector) * sector + (index % per_sector) * ENTRY


def decode_offset(byte: int) -> int | None:
    """Minutes east of UTC, or None when the offset is not marked valid."""
    if not byte & 0x80:
        return None
    value = byte & 0x7F
    if value & 0x40:
        value -= 0x80
    return value * 15


def recorded_offsets(image: RawImage, fs_offset: int, inode: int) -> tuple[dict[str, int], bytes] | None:
    """({time field: minutes east of UTC} for every valid offset, the raw 32-byte entry),
    or None when the inode is not a file directory entry."""
    where = entry_location(image, fs_offset, inode)
    if where is None:
        return None
    raw = image.read(where, ENTRY)
    if len(raw) != ENTRY or raw[0] not in FILE_ENTRY_TYPES:
        return None
    found = {name: minutes for name, pos in OFFSET_FIELDS if (minutes := decode_offset(raw[pos])) is not None}
    return found, raw


def to_utc_delta(minutes: int) -> timedelta:
    """What to add to a local time read as UTC to get the real UTC time."""
    return -timedelta(minutes=minutes)
