"""Known faults of the truth tools, each shown with the raw bytes that settle it.

The corpus truth was written by TSK 4.11.1; devicex reads with TSK 4.15 and applies
exFAT's recorded UTC offsets. Where their FAT/exFAT times differ, the directory entry
is decoded here from the image's raw bytes (independently of both) and the difference
is classified as a truth-tool fault only when the raw bytes give devicex's value and
explain the truth's value by a known fault:

* the 10 ms field (FAT byte 13, exFAT bytes 20/21) holds 100-199, i.e. one more whole
  second, which TSK 4.11.1 drops;
* TSK 4.11.1 keeps only the date of exFAT access times (the entry holds the time too);
* TSK does not apply the UTC offset exFAT records with each time (bytes 22-24).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

ENTRY = 32
# (time field) -> (timestamp offset in the entry, 10 ms field offset or None, UTC offset byte or None)
_EXFAT_FIELDS = {"crtime": (8, 20, 22), "mtime": (12, 21, 23), "atime": (16, None, 24)}
_FAT_FIELDS = {"crtime": (14, 13, None), "mtime": (22, None, None)}


class RawImage(Protocol):
    def read(self, offset: int, size: int) -> bytes: ...


@dataclass(frozen=True)
class Explained:
    """Why the truth differs, and the evidence."""

    fault: str
    reasons: tuple[str, ...]
    evidence: str


def _dos(stamp: int) -> datetime | None:
    """A DOS/exFAT 32-bit timestamp (time in the low 16 bits, date in the high 16)."""
    sec, minute, hour = (stamp & 0x1F) * 2, (stamp >> 5) & 0x3F, (stamp >> 11) & 0x1F
    day, month, year = (stamp >> 16) & 0x1F, (stamp >> 21) & 0x0F, ((stamp >> 25) & 0x7F) + 1980
    try:
        return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)
    except ValueError:
        return None


def _offset_minutes(byte: int) -> int:
    if not byte & 0x80:
        return 0
    value = byte & 0x7F
    return (value - 0x80 if value & 0x40 else value) * 15


def entry_offset(image: RawImage, fs_offset: int, fs_type: str, inode: int) -> int | None:
    """Where TSK's inode number puts a FAT/exFAT directory entry (3 + index from the first
    data sector: the root folder of FAT12/16, the cluster heap of FAT32/exFAT)."""
    boot = image.read(fs_offset, 512)
    if len(boot) < 512 or inode < 3:
        return None
    if fs_type == "exfat":
        sector, first = 1 << boot[108], struct.unpack_from("<I", boot, 88)[0]
    else:
        sector = struct.unpack_from("<H", boot, 11)[0]
        reserved, fats = struct.unpack_from("<H", boot, 14)[0], boot[16]
        per_fat = struct.unpack_from("<H", boot, 22)[0] or struct.unpack_from("<I", boot, 36)[0]
        first = reserved + fats * per_fat
    if sector not in (512, 1024, 2048, 4096):
        return None
    per = sector // ENTRY
    index = inode - 3
    return fs_offset + (first + index // per) * sector + (index % per) * ENTRY


def explain_fat_time(image: RawImage, fs_offset: int, fs_type: str, inode: int, field: str,
                     ours: datetime | None, truth: datetime | None) -> Explained | None:
    """A truth-tool fault explaining ``truth`` != ``ours`` (both whole seconds, UTC), or None."""
    exfat = fs_type == "exfat"
    spec = (_EXFAT_FIELDS if exfat else _FAT_FIELDS).get(field)
    if spec is None or ours is None or truth is None:
        return None
    where = entry_offset(image, fs_offset, fs_type, inode)
    raw = image.read(where, ENTRY) if where is not None else b""
    if len(raw) != ENTRY or (exfat and raw[0] not in (0x85, 0x05)):
        return None
    stamp_at, tens_at, offset_at = spec
    local = _dos(struct.unpack_from("<I", raw, stamp_at)[0])
    if local is None:
        return None
    tens = raw[tens_at] if tens_at is not None else 0
    minutes = _offset_minutes(raw[offset_at]) if offset_at is not None else 0
    carry = timedelta(seconds=tens // 100)
    devicex_value = local + carry - timedelta(minutes=minutes)
    access_date_only = exfat and field == "atime"
    if access_date_only:
        tsk411_values = {local.replace(hour=0, minute=0, second=0)}
    else:  # TSK 4.11.1 adds the 10 ms field's whole second, except when the field is exactly 100
        tsk411_values = {local + carry, local}
    if devicex_value != ours or truth not in tsk411_values:
        return None
    reasons = []
    if tens >= 100 and truth == local and not access_date_only:
        reasons.append(f"the 10 ms field is {tens} (+{tens / 100:.2f} s); TSK 4.11.1 drops its whole second")
    if access_date_only and truth != local:
        reasons.append("TSK 4.11.1 keeps only the date of an exFAT access time; the entry holds the time too")
    if minutes:
        sign = "+" if minutes > 0 else "-"
        reasons.append(f"the entry records UTC offset {sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}; "
                       "TSK does not apply it (devicex does)")
    if not reasons:
        return None
    evidence = (f"{'exFAT file' if exfat else 'FAT'} directory entry at image byte {where}: {raw.hex()}; "
                f"{field} bytes {stamp_at}-{stamp_at + 3} = {raw[stamp_at:stamp_at + 4].hex()} -> local "
                f"{local:%Y-%m-%d %H:%M:%S}" + (f", 10 ms byte {tens_at} = {tens}" if tens_at is not None else "")
                + (f", UTC offset byte {offset_at} = 0x{raw[offset_at]:02x}" if offset_at is not None else ""))
    return Explained("tsk-4.11.1-fat-times", tuple(reasons), evidence)


_SI_FIELDS = {"crtime": 0, "mtime": 8, "ctime": 16, "atime": 24}  # $STANDARD_INFORMATION time order


def _mft_record(image: RawImage, fs_offset: int, inode: int) -> tuple[int, bytes] | None:
    """(image offset, bytes) of MFT record ``inode``, if the record there says it is that one."""
    boot = image.read(fs_offset, 512)
    if len(boot) < 512 or boot[3:11] != b"NTFS    ":
        return None
    cluster = struct.unpack_from("<H", boot, 11)[0] * boot[13]
    raw_size = struct.unpack_from("<b", boot, 64)[0]
    size = 1 << -raw_size if raw_size < 0 else raw_size * cluster
    where = fs_offset + struct.unpack_from("<q", boot, 48)[0] * cluster + inode * size
    record = image.read(where, size)
    if len(record) != size or record[:4] != b"FILE" or struct.unpack_from("<I", record, 44)[0] != inode:
        return None
    return where, record


def explain_ntfs_time(image: RawImage, fs_offset: int, inode: int, field: str, ours: datetime | None,
                      truth: datetime | None) -> Explained | None:
    """TSK 4.11.1 shows a $STANDARD_INFORMATION time of 0 (unset) as a date; devicex records none."""
    if ours is not None or truth is None or field not in _SI_FIELDS:
        return None
    found = _mft_record(image, fs_offset, inode)
    if found is None:
        return None
    where, record = found
    at = struct.unpack_from("<H", record, 20)[0]
    while at + 8 <= len(record):
        kind, length = struct.unpack_from("<II", record, at)
        if kind == 0xFFFFFFFF or length == 0:
            return None
        if kind == 0x10:
            content = at + struct.unpack_from("<H", record, at + 20)[0]
            value_at = content + _SI_FIELDS[field]
            if struct.unpack_from("<Q", record, value_at)[0] != 0:
                return None
            return Explained("tsk-4.11.1-ntfs-zero-time", (
                ("the $STANDARD_INFORMATION time is 0 (never set); TSK 4.11.1 prints it as a date, devicex "
                "records no time"),), f"MFT record {inode} at image byte {where}: $STANDARD_INFORMATION "
                f"{field} FILETIME at record byte {value_at} = {record[value_at:value_at + 8].hex()}")
        at += length
    return None
