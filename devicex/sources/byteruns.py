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

_ATTR_DEFAULT = int(pytsk3.TSK_FS_ATTR_TYPE_DEFAULT)
_ATTR_NTFS_DATA = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)
_NONRES = int(pytsk3.TSK_FS_ATTR_NONRES)
_RES = int(pytsk3.TSK_FS_ATTR_RES)
_NOT_ON_MEDIA = int(pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE) | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER)
RESIDENT_LIMIT = 64 << 10  # resident data lives in a metadata record (1 or 4 KiB on NTFS): a sanity bound
_NOT_PLAIN_ATTR = int(pytsk3.TSK_FS_ATTR_COMP) | int(pytsk3.TSK_FS_ATTR_ENC) | int(pytsk3.TSK_FS_ATTR_SPARSE)
_NOT_PLAIN_RUN = (int(pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE) | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER)
                  | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_ENCRYPTED))
_MFT_INODE = 0

Run = tuple[int, int]  # (media offset, length) in bytes


def plain_runs(fs: Any, file: pytsk3.File, attr_type: int | None, attr_id: int | None, size: int,
               media_size: int) -> list[Run] | None:
    """The media ranges holding the stream's ``size`` bytes in stream order (adjacent ranges merged), or None
    when the stream is not plain (see the module docstring). ``fs`` is the view (``walk.FileSystem``)."""
    attr = _attribute(file, attr_type, attr_id)
    if attr is None or size <= 0:
        return None
    flags = int(attr.info.flags)
    if not flags & _NONRES or flags & _NOT_PLAIN_ATTR:
        return None
    runs = _runs(attr, int(file.info.fs_info.block_size), fs.offset, size, media_size)
    if runs is None:
        return None
    if fs.fs_type == "ntfs" and int(attr.info.type) == _ATTR_NTFS_DATA:
        init = _ntfs_initsize(fs, int(file.info.meta.addr), int(attr.info.id))
        if init is None or init < size:
            return None
    return runs


def held(file: pytsk3.File, attr_type: int | None, attr_id: int | None, size: int) -> str | None:
    """How TSK reads the stream without reading the media, if it does: "empty" (size 0), "resident" (the data is
    in the metadata record TSK loaded with the file) or "off-media" (no run lies on the media: sparse or
    filler runs only, read as zeros or as nothing); None when reading it reads the media."""
    if size == 0:
        return "empty"
    attr = _attribute(file, attr_type, attr_id)
    if attr is None:
        return None
    flags = int(attr.info.flags)
    if flags & _RES and not flags & _NONRES:
        return "resident" if size <= RESIDENT_LIMIT else None
    if not flags & _NONRES:
        return None
    try:
        on_media = any(not int(run.flags) & _NOT_ON_MEDIA for run in attr)
    except OSError:
        return None
    return None if on_media else "off-media"


def _attribute(file: pytsk3.File, attr_type: int | None, attr_id: int | None) -> Any:
    try:
        for attr in file:
            atype = int(attr.info.type)
            if attr_type is None and atype == _ATTR_DEFAULT:
                return attr
            if attr_type is not None and (atype, int(attr.info.id)) == (attr_type, attr_id):
                return attr
    except OSError:
        return None
    return None


def _runs(attr: Any, block: int, fs_offset: int, size: int, media_size: int) -> list[Run] | None:
    out: list[Run] = []
    covered = 0
    for run in attr:
        if covered >= size:
            break
        if int(run.flags) & _NOT_PLAIN_RUN or int(run.offset) * block != covered:
            return None
        length = min(int(run.len) * block, size - covered)
        start = fs_offset + int(run.addr) * block
        if length <= 0 or start + length > media_size:
            return None
        if out and out[-1][0] + out[-1][1] == start:
            out[-1] = (out[-1][0], out[-1][1] + length)
        else:
            out.append((start, length))
        covered += length
    return out if covered == size else None


def _ntfs_initsize(fs: Any, inode: int, attr_id: int) -> int | None:
    """The initialised size of a non-resident $DATA attribute, from the file's base MFT record (None if the
    record cannot be read or the attribute is not in it: the stream is then read per entry)."""
    record = _mft_record(fs, inode)
    if record is None:
        return None
    pos = struct.unpack_from("<H", record, 0x14)[0]
    while pos + 0x40 <= len(record):
        atype, length = struct.unpack_from("<II", record, pos)
        if atype == 0xFFFFFFFF or length < 0x18 or pos + length > len(record):
            return None
        if atype == 0x80 and struct.unpack_from("<H", record, pos + 0x0E)[0] == attr_id:
            non_resident, lowest_vcn = record[pos + 8], struct.unpack_from("<Q", record, pos + 0x10)[0]
            if not non_resident or lowest_vcn != 0:
                return None
            return int(struct.unpack_from("<Q", record, pos + 0x38)[0])
        pos += length
    return None


def _mft_record(fs: Any, inode: int) -> bytes | None:
    """The file's MFT record with its update sequence applied, read through TSK's $MFT."""
    cache = fs.__dict__.setdefault("_mft", {})
    try:
        if "file" not in cache:
            cache["size"] = _record_size(fs)
            cache["file"] = fs.handle.open_meta(inode=_MFT_INODE)
        size: int = cache["size"]
        raw = bytearray(cache["file"].read_random(inode * size, size))
    except (OSError, struct.error):
        return None
    if len(raw) != size or raw[:4] != b"FILE":
        return None
    usa_off, usa_count = struct.unpack_from("<HH", raw, 4)
    if usa_off + 2 * usa_count > size or (usa_count - 1) * 512 > size:
        return None
    for i in range(1, usa_count):
        end = i * 512 - 2
        if raw[end:end + 2] != raw[usa_off:usa_off + 2]:
            return None  # a torn record
        raw[end:end + 2] = raw[usa_off + 2 * i:usa_off + 2 * i + 2]
    return bytes(raw)


def _record_size(fs: Any) -> int:
    if fs.image is None:
        raise OSError("the media is not at hand")
    boot = fs.image.read(fs.offset, 512)
    sector, per_cluster = struct.unpack_from("<HB", boot, 0x0B)
    value = struct.unpack_from("<b", boot, 0x40)[0]
    return value * sector * per_cluster if value > 0 else 1 << -value
