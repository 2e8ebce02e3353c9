"""Where a stream's bytes lie on the media, when they lie there plainly: the plan of the one sequential read
of the media (``pipelines.onepass``).

A stream is *plain* when TSK would read it as a copy of media bytes: a non-resident attribute that is not
compressed, encrypted or sparse, whose runs cover the stream from its first byte to its last in order, each on
the media, and (NTFS) whose initialised size is its size (TSK reads zeros past the initialised size). Anything
else (resident data, sparse or filler runs, compressed or encrypted NTFS data, runs past the end of the media, an
attribute whose record could not be read) is read per entry through TSK, as before.
"""
from __future__ import annotations

import struct
from typing import Any

import pytsk3

from devicex.sources.tskcontent import RUN_NOT_ON_MEDIA, TskContent, dfxml_run

_ATTR_NTFS_DATA = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)
_NONRES = int(pytsk3.TSK_FS_ATTR_NONRES)
_RES = int(pytsk3.TSK_FS_ATTR_RES)
RESIDENT_LIMIT = 64 << 10  # resident data lives in a metadata record (1 or 4 KiB on NTFS): a sanity bound
_NOT_PLAIN_ATTR = int(pytsk3.TSK_FS_ATTR_COMP) | int(pytsk3.TSK_FS_ATTR_ENC) | int(pytsk3.TSK_FS_ATTR_SPARSE)
_NOT_PLAIN_RUN = (int(pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE) | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER)
                  | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_ENCRYPTED))
_MFT_INODE = 0

Run = tuple[int, int]  # (media offset, length) in bytes


Plan = tuple[list[Run], list[dict[str, int]]]  # the plain runs, and the DFXML byte runs (TskContent.byte_runs)


def plan_runs(fs: Any, reader: TskContent, size: int, media_size: int) -> Plan | None:
    """The media ranges holding the stream's ``size`` bytes in stream order (adjacent ranges merged) with its
    DFXML byte runs (as ``reader.byte_runs`` gives them), from one pass over its runs; None when the stream is
    not plain (see the module docstring) or its attribute cannot be read. ``fs`` is the view
    (``walk.FileSystem``)."""
    file = reader.file
    try:
        attr = reader.attribute()
        if file is None or attr is None or size <= 0:
            return None
        info = attr.info
        flags = int(info.flags)
        if not flags & _NONRES or flags & _NOT_PLAIN_ATTR:
            return None
        found = _runs(attr, fs.block_size, fs.offset, size, media_size)
    except OSError:
        return None
    if found is not None and fs.fs_type == "ntfs" and int(info.type) == _ATTR_NTFS_DATA:
        init = _ntfs_initsize(fs, int(file.info.meta.addr), int(info.id))
        if init is None or init < size:
            return None
    return found


def held(reader: TskContent, size: int) -> str | None:
    """How TSK reads the stream without reading the media, if it does: "empty" (size 0), "resident" (the data is
    in the metadata record TSK loaded with the file) or "off-media" (no run lies on the media: sparse or
    filler runs only, read as zeros or as nothing); None when reading it reads the media."""
    if size == 0:
        return "empty"
    try:
        attr = reader.attribute()
        if attr is None:
            return None
        flags = int(attr.info.flags)
        if flags & _RES and not flags & _NONRES:
            return "resident" if size <= RESIDENT_LIMIT else None
        if not flags & _NONRES:
            return None
        on_media = any(not int(run.flags) & RUN_NOT_ON_MEDIA for run in attr)
    except OSError:
        return None
    return None if on_media else "off-media"


def _runs(attr: Any, block: int, fs_offset: int, size: int, media_size: int) -> Plan | None:
    out: list[Run] = []
    dfxml: list[dict[str, int]] = []
    covered = 0
    for run in attr:
        listed = dfxml_run(run, block, fs_offset, size)
        if covered >= size:  # runs past the stream's end: DFXML lists one only if it claims a byte before it
            if listed is not None:
                dfxml.append(listed)
            continue
        if listed is None or int(run.flags) & _NOT_PLAIN_RUN or listed["file_offset"] != covered:
            return None
        start, length = listed["img_offset"], listed["len"]
        if length <= 0 or start + length > media_size:
            return None
        dfxml.append(listed)
        if out and out[-1][0] + out[-1][1] == start:
            out[-1] = (out[-1][0], out[-1][1] + length)
        else:
            out.append((start, length))
        covered += length
    return (out, dfxml) if covered == size else None


_U16 = struct.Struct("<H")
_U64 = struct.Struct("<Q")
_ATTR_HEAD = struct.Struct("<II")  # an attribute's type and length
_USA = struct.Struct("<HH")  # the update sequence array's offset and count


def _ntfs_initsize(fs: Any, inode: int, attr_id: int) -> int | None:
    """The initialised size of a non-resident $DATA attribute, from the file's base MFT record (None if the
    record cannot be read or the attribute is not in it: the stream is then read per entry)."""
    record = _mft_record(fs, inode)
    if record is None:
        return None
    pos, size = _U16.unpack_from(record, 0x14)[0], len(record)
    while pos + 0x40 <= size:
        atype, length = _ATTR_HEAD.unpack_from(record, pos)
        if atype == 0xFFFFFFFF or length < 0x18 or pos + length > size:
            return None
        if atype == 0x80 and _U16.unpack_from(record, pos + 0x0E)[0] == attr_id:
            if not record[pos + 8] or _U64.unpack_from(record, pos + 0x10)[0] != 0:
                return None  # resident, or not the attribute's first extent
            return int(_U64.unpack_from(record, pos + 0x38)[0])
        pos += length
    return None


def _mft_record(fs: Any, inode: int) -> bytearray | None:
    """The file's MFT record with its update sequence applied, read through TSK's $MFT."""
    try:
        raw = bytearray(_MftRecords.of(fs).raw(inode))
    except (OSError, struct.error):
        return None
    size = len(raw)
    if raw[:4] != b"FILE":
        return None
    usa_off, usa_count = _USA.unpack_from(raw, 4)
    if usa_off + 2 * usa_count > size or (usa_count - 1) * 512 > size:
        return None
    check = raw[usa_off:usa_off + 2]
    for i in range(1, usa_count):
        end = i * 512 - 2
        if raw[end:end + 2] != check:
            return None  # a torn record
        raw[end:end + 2] = raw[usa_off + 2 * i:usa_off + 2 * i + 2]
    return raw


class _MftRecords:
    """A file system's MFT records as stored (no fixup), read through TSK's $MFT ``CHUNK_BYTES`` at a time, the
    last ``KEEP`` chunks kept (4 MiB), until the walk is done (:func:`walk_done`). The walk reaches records in
    name order, folder by folder, near records reached a little before: on the NTFS bench image (1 KiB records),
    16 chunks kept read 2,142 chunks for 20,032 records, 64 chunks read 324, and more read hardly fewer."""

    CHUNK_BYTES = 64 << 10
    KEEP = 64
    _KEY = "_mft"  # where a view keeps its records (``of``, ``drop``)

    def __init__(self, fs: Any) -> None:
        self.size = _record_size(fs)
        self.chunk = max(1, self.CHUNK_BYTES // self.size)  # records a chunk holds
        self.file = fs.handle.open_meta(inode=_MFT_INODE)
        self.chunks: dict[int, bytes] = {}  # chunk number -> its bytes, oldest first

    @classmethod
    def of(cls, fs: Any) -> _MftRecords:
        """The records of the view ``fs`` (made on first need). Raises OSError if $MFT cannot be opened."""
        found: _MftRecords | None = fs.__dict__.get(cls._KEY)
        if found is None:
            found = fs.__dict__[cls._KEY] = cls(fs)
        return found

    @classmethod
    def drop(cls, fs: Any) -> None:
        """Let the records kept for the view ``fs`` go (read again if ever needed)."""
        fs.__dict__.pop(cls._KEY, None)

    def raw(self, inode: int) -> bytes:
        """Record ``inode`` as stored; raises OSError if it cannot be read whole."""
        number, at = divmod(inode, self.chunk)
        chunk = self.chunks.get(number)
        if chunk is None:
            try:
                chunk = self.file.read_random(number * self.chunk * self.size, self.chunk * self.size)
            except OSError:  # a part of the chunk cannot be read: the record alone, as it is
                return self._alone(inode)
            if len(self.chunks) >= self.KEEP:
                del self.chunks[next(iter(self.chunks))]
            self.chunks[number] = chunk
        record: bytes = chunk[at * self.size:(at + 1) * self.size]
        return record if len(record) == self.size else self._alone(inode)

    def _alone(self, inode: int) -> bytes:
        record: bytes = self.file.read_random(inode * self.size, self.size)
        if len(record) != self.size:
            raise OSError(f"MFT record {inode} read short")
        return record


def walk_done(fs: Any) -> None:
    """The walk of the view ``fs`` is done: the MFT records kept for it go."""
    _MftRecords.drop(fs)


def _record_size(fs: Any) -> int:
    if fs.image is None:
        raise OSError("the media is not at hand")
    boot = fs.image.read(fs.offset, 512)
    sector, per_cluster = struct.unpack_from("<HB", boot, 0x0B)
    value = struct.unpack_from("<b", boot, 0x40)[0]
    return value * sector * per_cluster if value > 0 else 1 << -value
