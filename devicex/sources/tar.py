"""Tar archives (plain, gzip, bzip2, xz) as evidence, read in one sequential pass.

The archive is decompressed once, front to back (``tarfile`` stream mode): the
walk and the content reading are one pass. A member up to
:data:`~devicex.sources.base.MEMBER_IN_MEMORY` bytes is read whole as its
header is met and paired with its entry as bytes; a bigger one is paired with
a forward-only reader the caller consumes before asking for the next entry.

Member metadata comes from the archive: name as stored, type, size, mode,
uid/gid and owner names, mtime (and the PAX atime/ctime and extended
attributes when present). Tar has no allocation state: members are recorded
as allocated. A name met twice is recorded twice, each later one flagged.
Damage (a truncated member, a corrupt compressed stream) gives one issue
naming the member; what was read is kept; nothing after it can be read.
"""
from __future__ import annotations

import bz2
import gzip
import json
import lzma
import tarfile
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from devicex import entries as E
from devicex.entries import BytesContent, ContentReader, Entry
from devicex.errors import one_line
from devicex.sources.base import (
    MEMBER_IN_MEMORY,
    FileSource,
    Layout,
    Volume,
    WalkIssue,
    WalkItem,
    decode_name,
    member_path,
    whole_volume,
)
from devicex.timeutil import from_unix

CHUNK = 1 << 20
_SMALL_CHUNK = 64 << 10  # a damaged member loses at most this much of what could be read before the damage
_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)
COMPRESSION = {b"\x1f\x8b": "tar.gz", b"BZh": "tar.bz2", b"\xfd7zXZ\x00": "tar.xz"}
_KINDS = {tarfile.REGTYPE: E.KIND_FILE, tarfile.AREGTYPE: E.KIND_FILE, tarfile.CONTTYPE: E.KIND_FILE,
          tarfile.GNUTYPE_SPARSE: E.KIND_FILE, tarfile.DIRTYPE: E.KIND_DIR, tarfile.SYMTYPE: E.KIND_LINK,
          tarfile.LNKTYPE: E.KIND_HARDLINK}
_XATTR_PREFIXES = ("SCHILY.xattr.", "LIBARCHIVE.xattr.")


def _decompressed(raw: IO[bytes], container: str) -> IO[bytes]:
    """The archive's bytes through the compression module's own reader (which checks CRC and length)."""
    if container == "tar.gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if container == "tar.bz2":
        return bz2.BZ2File(raw)
    if container == "tar.xz":
        return lzma.LZMAFile(raw)
    return raw


def is_tar(head: bytes) -> bool:
    """A POSIX/GNU tar header (``ustar`` magic at 257)."""
    return head[257:262] == b"ustar"


def compression(head: bytes) -> str | None:
    return next((name for magic, name in COMPRESSION.items() if head.startswith(magic)), None)


class ForwardReader:
    """A member's content as the archive streams past: reads must not go backwards."""

    def __init__(self, stream: IO[bytes], name: str) -> None:
        self._stream, self._pos, self._name = stream, 0, name
        self.failure: str | None = None

    def read(self, offset: int, size: int) -> bytes:
        if offset < self._pos:
            raise OSError(f"a streamed archive member cannot be read backwards (at {offset}, read up to {self._pos})")
        try:
            while self._pos < offset:
                skipped = self._stream.read(min(CHUNK, offset - self._pos))
                if not skipped:
                    return b""
                self._pos += len(skipped)
            data = self._stream.read(size)
        except _ERRORS as exc:
            self.failure = one_line(exc)
            raise OSError(f"member {self._name}: {self.failure}") from None
        self._pos += len(data)
        return data


def _pax_time(value: str | None) -> object:
    if not value:
        return None
    try:
        exact = Decimal(value)
    except InvalidOperation:
        return None
    seconds = int(exact)
    return from_unix(seconds, int((exact - seconds) * 1_000_000_000))


def _extra(member: tarfile.TarInfo) -> str | None:
    extra: dict[str, object] = {}
    if member.uname:
        extra["uname"] = member.uname
    if member.gname:
        extra["gname"] = member.gname
    xattrs = {k.split(".xattr.", 1)[1]: v for k, v in sorted(member.pax_headers.items())
              if k.startswith(_XATTR_PREFIXES)}
    if xattrs:
        extra["xattrs"] = xattrs
    return json.dumps(extra, sort_keys=True) if extra else None


def member_entry(member: tarfile.TarInfo, index: int, source: str, volume: str, notes: tuple[str, ...]) -> Entry:
    raw = member.name.encode("utf-8", "surrogateescape")
    path, name, name_raw = member_path(raw)
    kind = _KINDS.get(member.type, E.KIND_OTHER)
    link = member.linkname.encode("utf-8", "surrogateescape") if member.linkname else b""
    size = member.size if kind == E.KIND_FILE else len(link) if kind == E.KIND_LINK else 0
    mtime = member.mtime
    seconds = int(mtime)
    return Entry(
        source=source, volume=volume, fs_offset=0, fs_type="tar", inode=None, attr_type=None, attr_id=None,
        stream=None, path=path, name=name, name_raw=name_raw, kind=kind, size=size, alloc=E.ALLOCATED,
        realloc=False, meta_seq=None, mtime=from_unix(seconds, int((mtime - seconds) * 1_000_000_000)),
        atime=_pax_time(member.pax_headers.get("atime")),  # type: ignore[arg-type]
        ctime=_pax_time(member.pax_headers.get("ctime")), crtime=None,  # type: ignore[arg-type]
        uid=member.uid, gid=member.gid, mode=member.mode, link_target=decode_name(link) if link else None,
        locator=f"member {index} at {member.offset}", stored_name=decode_name(raw), extra=_extra(member),
        notes=notes)


@dataclass
class TarView:
    volume: Volume
    path: Path
    label: str = "whole"
    offset: int = 0
    fs_type: str = "tar"
    block_size: int | None = None
    block_count: int | None = None
    forced: bool = False
    streamed: bool = True
    compression: str = "tar"

    def entries(self, source: str) -> Iterator[WalkItem]:
        # the compression modules' own readers, not tarfile's: they check the stream's CRC and length
        with open(self.path, "rb") as raw, _decompressed(raw, self.compression) as fh:
            try:
                archive = tarfile.open(fileobj=fh, mode="r|")  # noqa: SIM115 - fh is closed by the with
            except _ERRORS as exc:
                yield None, WalkIssue(f"not a readable tar archive: {one_line(exc)}")
                return
            if not (yield from self._members(archive, source)):
                yield from _check_to_end(fh)


    def _members(self, archive: tarfile.TarFile, source: str) -> Generator[WalkItem, None, bool]:
        """The members in archive order; returns True if damage stopped the pass."""
        seen: dict[str, int] = {}
        index, last = 0, "(the first member)"
        while True:
            try:
                member = archive.next()
            except _ERRORS as exc:
                yield None, WalkIssue(f"archive unreadable after {last}: {one_line(exc)}; nothing after it is read")
                return True
            if member is None:
                return False
            archive.members.clear()  # type: ignore[attr-defined]  # one pass: earlier headers are not needed again
            index += 1
            first = seen.setdefault(member.name, index)
            notes = (f"duplicate member name: also member {first} of the archive",) if first != index else ()
            entry = member_entry(member, index, source, self.label, notes)
            last = f"member {index} ({entry.stored_name})"
            if entry.kind == E.KIND_LINK:
                yield entry, BytesContent(member.linkname.encode("utf-8", "surrogateescape"))
            elif entry.kind != E.KIND_FILE:
                yield entry, None
            else:
                stream = archive.extractfile(member)
                if stream is None:
                    yield entry, None
                    continue
                if entry.size > MEMBER_IN_MEMORY:
                    reader = ForwardReader(stream, last)
                    yield entry, reader
                    if reader.failure:
                        yield None, WalkIssue(f"{last}: {reader.failure}; nothing after it is read")
                        return True
                    continue
                data, failure = _read_all(stream, entry.size)
                yield entry, BytesContent(data)
                if failure:
                    yield None, WalkIssue(f"{last}: {failure} (read {len(data)} of {entry.size} bytes, kept); "
                                          "nothing after it is read")
                    return True

    def reopen(self, entry: Entry) -> ContentReader | None:
        raise OSError("a streamed archive member is read only as the archive is read")


def _check_to_end(fh: IO[bytes]) -> Iterator[WalkItem]:
    """Read what follows the end-of-archive marker: only at the end of a compressed stream are its
    checksum and length checked, and a mismatch means bytes read before may be wrong."""
    try:
        while fh.read(CHUNK):
            pass
    except _ERRORS as exc:
        yield None, WalkIssue(f"compressed stream damaged ({one_line(exc)}): members read from it may hold "
                              "wrong bytes")


def _read_all(stream: IO[bytes], size: int) -> tuple[bytes, str | None]:
    out = bytearray()
    try:
        while len(out) < size:
            data = stream.read(min(_SMALL_CHUNK, size - len(out)))
            if not data:
                break
            out += data
    except _ERRORS as exc:
        return bytes(out), one_line(exc)
    return bytes(out), None


class TarSource(FileSource):
    """A tar archive file: the intake hash covers the file; one view, read in one pass."""

    def layout(self) -> Layout:
        volume = whole_volume(self.size, f"{self.container} archive")
        return Layout("none", [volume], [TarView(volume, self.path, compression=self.container)], [])
