"""Finding partitions when the partition table is damaged.

TSK refuses a whole DOS table when the image is truncated or one entry points
past the end, and loses every GPT partition when one byte of the primary header
changes (it never tries the backup). Here the tables are read directly:

* :func:`table_entries` -- the MBR's four entries and the EBR chain of an
  extended partition, each taken as it is listed (``table-entry``); for a GPT
  disk (protective 0xEE entry, or an ``EFI PART`` header) the primary header
  and entry array when their CRC-32s hold, else the backup header at the end of
  the media and its array (``backup-gpt``);
* :func:`signature_scan` -- sector-aligned offsets holding a file-system boot
  sector or superblock (NTFS, FAT12/16/32, exFAT, ext2/3/4, HFS+/HFSX), checked
  beyond the magic number so that a stray match is rare (``signature``).

Nothing here opens a file system: the caller tries each candidate with TSK.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

SECTOR = 512
EXTENDED = frozenset({0x05, 0x0F, 0x85})
GPT_PROTECTIVE = 0xEE
MAX_EBRS = 256
MAX_GPT_ENTRIES = 1024
SCAN_CHUNK = 4 << 20
MAX_BYTES = 1 << 62  # offsets beyond any real media (and beyond SQLite's 64-bit integers)

Reader = Callable[[int, int], bytes]


@dataclass(frozen=True)
class Candidate:
    """A place where a partition (or a file system) should start."""

    table: str  # "dos" or "gpt" for listed entries, "none" for a signature
    addr: int | None  # entry number in its table
    start: int  # bytes
    length: int  # bytes (0 when unknown)
    description: str
    how: str  # "table-entry", "backup-gpt" or "signature"


def table_entries(read: Reader, size: int) -> tuple[list[Candidate], list[str]]:
    """Partitions the MBR/EBR or GPT lists, however damaged the rest is; and notes on what was damaged."""
    notes: list[str] = []
    mbr = read(0, SECTOR)
    if len(mbr) == SECTOR and mbr[510:512] == b"\x55\xaa" and _identify(mbr + read(SECTOR, 2048), 0) is None:
        entries = _mbr_entries(mbr)
        if any(ptype == GPT_PROTECTIVE for ptype, _, _ in entries) or read(SECTOR, 8) == b"EFI PART":
            return _gpt(read, size, notes), notes
        return _dos(read, entries, notes), notes
    if read(SECTOR, 8) == b"EFI PART":
        return _gpt(read, size, notes), notes
    return [], notes


def _mbr_entries(sector: bytes) -> list[tuple[int, int, int]]:
    """(type, first sector, sectors) of the non-empty entries of an MBR/EBR sector."""
    out = []
    for i in range(4):
        raw = sector[446 + 16 * i: 462 + 16 * i]
        ptype = raw[4]
        first, count = struct.unpack_from("<II", raw, 8)
        if ptype and count:
            out.append((ptype, first, count))
    return out


def _dos(read: Reader, entries: list[tuple[int, int, int]], notes: list[str]) -> list[Candidate]:
    found: list[Candidate] = []
    for addr, (ptype, first, count) in enumerate(entries):
        if ptype in EXTENDED:
            found.extend(_ebr_chain(read, first, len(entries), notes))
            continue
        found.append(Candidate("dos", addr, first * SECTOR, count * SECTOR, f"DOS entry {addr} (type 0x{ptype:02x})",
                               "table-entry"))
    return found


def _ebr_chain(read: Reader, base: int, addr: int, notes: list[str]) -> Iterator[Candidate]:
    seen: set[int] = set()
    ebr = base
    while ebr not in seen and len(seen) < MAX_EBRS:
        seen.add(ebr)
        sector = read(ebr * SECTOR, SECTOR)
        if len(sector) < SECTOR or sector[510:512] != b"\x55\xaa":
            notes.append(f"extended partition: EBR at sector {ebr} is unreadable or has no signature")
            return
        entries = _mbr_entries(sector)
        nxt = None
        for ptype, first, count in entries:
            if ptype in EXTENDED:
                nxt = base + first
            else:
                yield Candidate("dos", addr, (ebr + first) * SECTOR, count * SECTOR,
                                f"DOS logical partition (type 0x{ptype:02x}, EBR at sector {ebr})", "table-entry")
                addr += 1
        if nxt is None:
            return
        ebr = nxt


def _gpt(read: Reader, size: int, notes: list[str]) -> list[Candidate]:
    primary = _gpt_header(read, 1)
    if primary is not None:
        entries = _gpt_entries(read, primary, "table-entry")
        if entries is not None:
            return entries
        notes.append("GPT: the primary partition entry array fails its CRC-32")
    else:
        notes.append("GPT: the primary header is damaged (signature, size or CRC-32)")
    last = size // SECTOR - 1
    backup = _gpt_header(read, last) if last > 1 else None
    if backup is None:
        notes.append(f"GPT: no valid backup header at the last sector ({last})")
        return []
    entries = _gpt_entries(read, backup, "backup-gpt")
    if entries is None:
        notes.append("GPT: the backup partition entry array fails its CRC-32")
        return []
    return entries


@dataclass(frozen=True)
class _Header:
    entries_lba: int
    count: int
    entry_size: int
    entries_crc: int


def _gpt_header(read: Reader, lba: int) -> _Header | None:
    raw = read(lba * SECTOR, SECTOR)
    if len(raw) < 92 or raw[:8] != b"EFI PART":
        return None
    hsize, crc = struct.unpack_from("<II", raw, 12)
    if not 92 <= hsize <= SECTOR:
        return None
    if zlib.crc32(raw[:16] + b"\0\0\0\0" + raw[20:hsize]) != crc:
        return None
    entries_lba, count, entry_size, entries_crc = struct.unpack_from("<QIII", raw, 72)
    if not (0 < count <= MAX_GPT_ENTRIES and 128 <= entry_size <= 4096 and entry_size % 8 == 0):
        return None
    return _Header(entries_lba, count, entry_size, entries_crc)


def _gpt_entries(read: Reader, header: _Header, how: str) -> list[Candidate] | None:
    table = read(header.entries_lba * SECTOR, header.count * header.entry_size)
    if len(table) < header.count * header.entry_size or zlib.crc32(table) != header.entries_crc:
        return None
    found = []
    for i in range(header.count):
        raw = table[i * header.entry_size: (i + 1) * header.entry_size]
        if raw[:16] == b"\0" * 16:
            continue
        first, last = struct.unpack_from("<QQ", raw, 32)
        name = raw[56:128].decode("utf-16-le", "replace").split("\0", 1)[0]
        if last >= first and (last + 1) * SECTOR < MAX_BYTES:  # a damaged entry can claim up to 2^64 sectors
            found.append(Candidate("gpt", i, first * SECTOR, (last - first + 1) * SECTOR,
                                   f"GPT entry {i}" + (f" ({name})" if name else ""), how))
    return found


# --------------------------------------------------------------------------- file-system signatures
def _fat(sector: bytes) -> str | None:
    if sector[510:512] != b"\x55\xaa" or sector[0] not in (0xEB, 0xE9):
        return None
    bps, spc = struct.unpack_from("<HB", sector, 11)
    if bps not in (512, 1024, 2048, 4096) or spc == 0 or spc & (spc - 1):
        return None
    if sector[3:11] == b"NTFS    ":
        return "NTFS"
    if sector[54:59] in (b"FAT12", b"FAT16") or sector[82:87] == b"FAT32":
        return "FAT"
    return None


def _identify(buf: bytes, pos: int) -> str | None:
    """The file system whose boot sector or superblock starts at ``buf[pos]``, if any."""
    head = buf[pos: pos + SECTOR]
    if len(head) < SECTOR:
        return None
    if head[3:11] == b"EXFAT   " and head[510:512] == b"\x55\xaa":
        return "exFAT"
    kind = _fat(head)
    if kind:
        return kind
    sb = buf[pos + 1024: pos + 1024 + 128]
    if len(sb) == 128:
        if sb[56:58] == b"\x53\xef":
            inodes, blocks = struct.unpack_from("<II", sb, 0)
            log_block = struct.unpack_from("<I", sb, 24)[0]
            if inodes and blocks and log_block <= 6:
                return "ext"
        if sb[0:2] in (b"H+", b"HX") and sb[2:4] in (b"\x00\x04", b"\x00\x05"):
            return "HFS+"
    return None


_MARKERS = (b"NTFS    ", b"EXFAT   ", b"FAT12", b"FAT16", b"FAT32", b"\x53\xef", b"H+\x00\x04", b"HX\x00\x05")
_MARKER_AT = {b"NTFS    ": 3, b"EXFAT   ": 3, b"FAT12": 54, b"FAT16": 54, b"FAT32": 82, b"\x53\xef": 1024 + 56,
              b"H+\x00\x04": 1024, b"HX\x00\x05": 1024}


def signature_scan(read: Reader, size: int, skip: Callable[[int], int] | None = None) -> Iterator[Candidate]:
    """Sector-aligned offsets whose content is a file system's boot sector/superblock, in order.

    ``skip(offset)``, called after each candidate is yielded, returns where the scan resumes (past a file
    system the caller opened there) or ``offset`` to go on. Reads the media once, in chunks, looking only
    where a marker byte string is found."""
    offset = allowed = 0
    while offset < size:
        buf = read(offset, SCAN_CHUNK + 2 * 1024 + SECTOR)
        if not buf:
            return
        limit = min(SCAN_CHUNK, len(buf))
        starts: set[int] = set()
        for marker in _MARKERS:
            at = _MARKER_AT[marker]
            pos = buf.find(marker)
            while pos >= 0:
                start = pos - at
                if 0 <= start < limit and start % SECTOR == 0:
                    starts.add(start)
                pos = buf.find(marker, pos + 1)
        for start in sorted(starts):
            here = offset + start
            if here < allowed:
                continue
            kind = _identify(buf, start)
            if kind is None:
                continue
            yield Candidate("none", None, here, size - here, f"{kind} signature at byte {here}", "signature")
            allowed = max(here + SECTOR, skip(here) if skip else here)
        offset = max(offset + limit, allowed - allowed % SECTOR)
