"""Zip archives (zip64 included) as evidence, member by member.

Members come in central-directory order. Times come from the archive only:
the extended-timestamp extra field (0x5455, read from the local header, where
it holds every time it has) and the NTFS extra field (0x000a) give UTC times;
when the DOS date/time is the only time, it is recorded as it is, a zone-less
local time (``Entry.mtime_local``), and no UTC time is made up. Unix mode and
type come from the external attributes when the archive was made on Unix,
uid/gid from the Info-ZIP Unix extra field (0x7875). A name met twice is
recorded twice, each later one flagged. Damage is per member: an encrypted
member, an unsupported compression, a corrupt deflate stream or a truncated
member is a read error naming it; a bad CRC is reported once the bytes are
read (they are kept).
"""
from __future__ import annotations

import json
import stat
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from devicex import entries as E
from devicex.entries import BytesContent, ContentReader, Entry
from devicex.errors import SourceError, one_line
from devicex.sources.base import (
    FileSource,
    Layout,
    Volume,
    WalkIssue,
    WalkItem,
    decode_name,
    member_path,
    whole_volume,
)
from devicex.timeutil import from_filetime, from_unix

_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError, ValueError)
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
AFF4_MARKERS = ("information.turtle", "container.description")


def _fields(extra: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        out.setdefault(tag, extra[pos + 4:pos + 4 + size])
        pos += 4 + size
    return out


def _ut_times(data: bytes) -> dict[str, datetime | None]:
    """Extended timestamp (0x5455): flags, then mtime/atime/crtime (POSIX seconds) for each flag set."""
    if not data:
        return {}
    flags, pos, out = data[0], 1, {}
    for bit, key in ((1, "mtime"), (2, "atime"), (4, "crtime")):
        if flags & bit and pos + 4 <= len(data):
            out[key] = from_unix(struct.unpack_from("<i", data, pos)[0])
            pos += 4
    return out


def _ntfs_times(data: bytes) -> dict[str, datetime | None]:
    pos = 4
    while pos + 4 <= len(data):
        tag, size = struct.unpack_from("<HH", data, pos)
        if tag == 1 and size >= 24:
            m, a, c = struct.unpack_from("<3Q", data, pos + 4)
            return {"mtime": from_filetime(m), "atime": from_filetime(a), "crtime": from_filetime(c)}
        pos += 4 + size
    return {}


def _unix_ids(data: bytes) -> tuple[int | None, int | None]:
    """Info-ZIP Unix extra field (0x7875): version, uid size, uid, gid size, gid."""
    if len(data) < 2 or data[0] != 1:
        return None, None
    pos, ids = 1, []
    for _ in range(2):
        if pos >= len(data):
            return None, None
        size = data[pos]
        ids.append(int.from_bytes(data[pos + 1:pos + 1 + size], "little"))
        pos += 1 + size
    return ids[0], ids[1]


class ZipContent:
    """One member's bytes, opened on first read; a bad CRC is reported in ``damage`` (the bytes are kept)."""

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        self._archive, self._info = archive, info
        self._stream: Any = None  # a zipfile.ZipExtFile once opened
        self._pos, self._crc = 0, 0
        self.damage: str | None = None

    def read(self, offset: int, size: int) -> bytes:
        try:
            if self._stream is None:
                self._stream = self._archive.open(self._info)
                self._stream._expected_crc = None  # checked here, so the last chunk read is not lost
            if offset != self._pos:
                self._stream.seek(offset)
                self._pos, self._crc = offset, -1
            data = self._stream.read(size)
        except _ERRORS as exc:
            raise OSError(one_line(exc)) from None
        self._pos += len(data)
        if self._crc >= 0:
            self._crc = zlib.crc32(data, self._crc)
            if self._pos == self._info.file_size and self._crc != self._info.CRC:
                self.damage = (f"bad CRC-32: {self._crc:08x}, the archive says {self._info.CRC:08x} "
                               "(the bytes read are kept)")
        return data


@dataclass
class ZipView:
    volume: Volume
    path: Path
    label: str = "whole"
    offset: int = 0
    fs_type: str = "zip"
    block_size: int | None = None
    block_count: int | None = None
    forced: bool = False
    streamed: bool = False

    def __post_init__(self) -> None:
        self._archive: zipfile.ZipFile | None = None
        self._lock = threading.Lock()
        self._paths: dict[str, zipfile.ZipInfo] | None = None  # regular members by entry path (open_path)

    def _open(self) -> zipfile.ZipFile:
        with self._lock:
            if self._archive is None:
                self._archive = zipfile.ZipFile(self.path)
            return self._archive

    def entries(self, source: str) -> Iterator[WalkItem]:
        try:
            archive = self._open()
        except _ERRORS as exc:
            yield None, WalkIssue(f"not a readable zip archive: {one_line(exc)}")
            return
        seen: dict[str, int] = {}
        with open(self.path, "rb") as raw:
            for index, info in enumerate(archive.infolist(), start=1):
                first = seen.setdefault(info.filename, index)
                notes = (f"duplicate member name: also member {first} of the archive",) if first != index else ()
                entry = self._entry(info, index, source, _local_extra(raw, info), notes)
                if entry.kind == E.KIND_LINK:
                    yield entry, BytesContent((entry.link_target or "").encode("utf-8", "surrogateescape"))
                else:
                    yield entry, ZipContent(archive, info) if entry.kind == E.KIND_FILE else None

    def open_path(self, path: str) -> tuple[ContentReader, int] | None:
        """The regular member at an entry path (the later one of a name met twice, as an extraction of
        the archive leaves it), with its size: how parsers reach a database's siblings."""
        archive = self._open()
        with self._lock:
            if self._paths is None:
                self._paths = {member_path(_stored_name(info))[0]: info for info in archive.infolist()
                               if not info.is_dir() and not _is_link(info)}
            found = self._paths.get(path)
        return (ZipContent(archive, found), found.file_size) if found is not None else None

    def reopen(self, entry: Entry) -> ContentReader | None:
        index = int((entry.locator or "").split()[1])
        archive = self._open()
        return ZipContent(archive, archive.infolist()[index - 1])

    def _entry(self, info: zipfile.ZipInfo, index: int, source: str, local: bytes,
               notes: tuple[str, ...]) -> Entry:
        raw = _stored_name(info)
        path, name, name_raw = member_path(raw)
        central, local_fields = _fields(info.extra), _fields(local)
        times = _ntfs_times(local_fields.get(0x000A) or central.get(0x000A, b""))
        times.update({k: v for k, v in _ut_times(local_fields.get(0x5455) or central.get(0x5455, b"")).items() if v})
        uid, gid = _unix_ids(local_fields.get(0x7875) or central.get(0x7875, b""))
        mode = info.external_attr >> 16 if info.create_system == 3 and info.external_attr >> 16 else None
        kind = E.KIND_DIR if info.is_dir() else E.KIND_FILE
        if mode is not None and stat.S_ISLNK(mode):
            kind = E.KIND_LINK
        target = self._link_target(info) if kind == E.KIND_LINK else None
        no_utc = not any(times.values())
        year, month, day, hour, minute, second = info.date_time
        dos_time = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
        extra: dict[str, object] = {"dos_time": dos_time, "compression": info.compress_type}
        if info.flag_bits & 1:
            extra["encrypted"] = True
        return Entry(
            source=source, volume=self.label, fs_offset=0, fs_type="zip", inode=None, attr_type=None, attr_id=None,
            stream=None, path=path, name=name, name_raw=name_raw, kind=kind,
            size=0 if kind == E.KIND_DIR else len(target.encode()) if target is not None else info.file_size,
            alloc=E.ALLOCATED, realloc=False, meta_seq=None, mtime=times.get("mtime"), atime=times.get("atime"),
            ctime=None, crtime=times.get("crtime"), uid=uid, gid=gid,
            mode=stat.S_IMODE(mode) if mode is not None else None, link_target=target,
            locator=f"member {index} at {info.header_offset}", stored_name=decode_name(raw),
            mtime_local=dos_time if no_utc else None, extra=json.dumps(extra, sort_keys=True),
            notes=notes)

    def _link_target(self, info: zipfile.ZipInfo) -> str | None:
        try:
            return decode_name(self._open().read(info))
        except _ERRORS:
            return None


def _stored_name(info: zipfile.ZipInfo) -> bytes:
    return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "surrogateescape")


def _is_link(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _local_extra(raw: object, info: zipfile.ZipInfo) -> bytes:
    """The local header's extra field (where 0x5455 holds atime and creation time too)."""
    try:
        raw.seek(info.header_offset)  # type: ignore[attr-defined]
        head = raw.read(_LOCAL_HEADER.size)  # type: ignore[attr-defined]
        if len(head) < _LOCAL_HEADER.size or head[:4] != b"PK\x03\x04":
            return b""
        name_len, extra_len = struct.unpack_from("<HH", head, 26)
        raw.seek(info.header_offset + _LOCAL_HEADER.size + name_len)  # type: ignore[attr-defined]
        return raw.read(extra_len)  # type: ignore[attr-defined]
    except OSError:
        return b""


class ZipSource(FileSource):
    """A zip archive file: the intake hash covers the file; one view, members read at random."""

    def check(self) -> None:
        """Refuse an archive whose central directory cannot be read, and AFF4 containers (zip-based)."""
        try:
            with zipfile.ZipFile(self.path) as archive:
                names = set(archive.namelist())
        except _ERRORS as exc:
            raise SourceError(str(self.path), f"zip archive unreadable: {one_line(exc)}") from None
        if names & set(AFF4_MARKERS):
            raise SourceError(str(self.path), "AFF4 container: a format devicex does not read")

    def layout(self) -> Layout:
        volume = whole_volume(self.size, "zip archive")
        return Layout("none", [volume], [ZipView(volume, self.path)], [])
