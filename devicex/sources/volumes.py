"""Volumes and file systems: partition tables (DOS/MBR incl. extended, GPT,
others TSK knows) and the file systems inside them, autodetected, with
ambiguous ones (two valid file systems in one partition) opened as each.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Protocol

import pytsk3

from devicex.errors import one_line
from devicex.sources.base import Layout, Problem, Volume
from devicex.sources.partition_scan import (
    MAX_BYTES,
    Candidate,
    signature_scan,
    table_entries,
)
from devicex.sources.walk import FileSystem


def _enum_names(enum: type, prefix: str) -> dict[int, str]:
    names: dict[int, str] = {}
    for attr in sorted(dir(enum)):
        if attr.startswith(prefix) and not attr.endswith("DETECT"):
            value = int(getattr(enum, attr))
            names.setdefault(value, attr[len(prefix):].lower())
    return names


FS_TYPE_NAMES = _enum_names(pytsk3.TSK_FS_TYPE_ENUM, "TSK_FS_TYPE_")
VS_TYPE_NAMES = _enum_names(pytsk3.TSK_VS_TYPE_ENUM, "TSK_VS_TYPE_")
_FORCED = {
    "EXT2/3/4": pytsk3.TSK_FS_TYPE_EXT_DETECT,
    "NTFS": pytsk3.TSK_FS_TYPE_NTFS_DETECT,
    "UFS": pytsk3.TSK_FS_TYPE_FFS_DETECT,
    "FAT": pytsk3.TSK_FS_TYPE_FAT_DETECT,
    "HFS": pytsk3.TSK_FS_TYPE_HFS_DETECT,
    "ISO9660": pytsk3.TSK_FS_TYPE_ISO9660_DETECT,
    "EXFAT": pytsk3.TSK_FS_TYPE_EXFAT,
    "YAFFS2": pytsk3.TSK_FS_TYPE_YAFFS2_DETECT,
}
_AMBIGUOUS = re.compile(r"(?:Cannot determine file system type|Multiple file system types detected) "
                        r"\((?P<a>[^)]+?) or (?P<b>[^)]+?)\)")


class Media(Protocol):
    """What discovery needs of an image source: pytsk3's view of it (``img``), its size and bytes."""

    img: Any
    size: int

    def read(self, offset: int, size: int) -> bytes: ...


def _fs_type_name(fs: pytsk3.FS_Info) -> str:
    return FS_TYPE_NAMES.get(int(fs.info.ftype), f"type-{int(fs.info.ftype)}")


def _describe(exc: BaseException) -> str:
    text = one_line(exc)
    if " with error: " in text:
        return text.split(" with error: ", 1)[1]
    return re.sub(r"^\w+: \([^)]*\) ", "", text) or type(exc).__name__


def _open_fs(src: Media, vol: Volume) -> tuple[list[FileSystem], str | None]:
    """Open the file system(s) at the volume's start; error text if none."""
    try:
        fs = pytsk3.FS_Info(src.img, offset=vol.start)
        return [_wrap(src, vol, vol.label, fs, forced=False)], None
    except OSError as exc:
        message = _describe(exc)
    m = _AMBIGUOUS.search(message)
    if not m:
        return [], message
    found: list[FileSystem] = []
    errors: list[str] = []
    for name in (m.group("a"), m.group("b")):
        ftype = _FORCED.get(name.strip().upper())
        if ftype is None:
            errors.append(f"{name}: no forced type known")
            continue
        try:
            fs = pytsk3.FS_Info(src.img, offset=vol.start, type=ftype)
        except OSError as exc:
            errors.append(f"{name}: {_describe(exc)}")
            continue
        wrapped = _wrap(src, vol, "", fs, forced=True)
        wrapped.label = f"{vol.label}_{wrapped.fs_type}"
        found.append(wrapped)
    return found, (None if found else f"{message}; " + "; ".join(errors))


def _wrap(src: Media, vol: Volume, label: str, fs: pytsk3.FS_Info, forced: bool) -> FileSystem:
    info = fs.info
    fs_type = _fs_type_name(fs)
    return FileSystem(vol, label, vol.start, fs_type, int(info.block_size), int(info.block_count), forced, fs,
                      _cluster_size(src, vol.start, fs_type) or int(info.block_size), src.img)


def _cluster_size(src: Media, offset: int, fs_type: str) -> int | None:
    """FAT and exFAT allocation unit in bytes, from the boot sector (TSK's block size is the sector)."""
    if not fs_type.startswith(("fat", "exfat")):
        return None
    boot = src.read(offset, 512)
    if len(boot) < 512:
        return None
    if fs_type == "exfat":
        shift = boot[108] + boot[109]
        return 1 << shift if shift < 32 else None
    size = int.from_bytes(boot[11:13], "little") * boot[13]
    return size or None


def discover(src: Media) -> Layout:
    """Find every partition and every file system TSK can open in them."""
    volumes: list[Volume] = []
    table = "none"
    try:
        vs = pytsk3.Volume_Info(src.img)
    except OSError:
        vs = None
    if vs is not None:
        table = VS_TYPE_NAMES.get(int(vs.info.vstype), "unknown")
        bsize = int(vs.info.block_size)
        for part in vs:
            start, length = int(part.start) * bsize, min(int(part.len) * bsize, MAX_BYTES)
            if start >= MAX_BYTES:  # a damaged entry far beyond any media (and SQLite's integers)
                continue
            alloc = bool(int(part.flags) & int(pytsk3.TSK_VS_PART_FLAG_ALLOC))
            desc = part.desc.decode("utf-8", "replace") if isinstance(part.desc, bytes) else str(part.desc)
            volumes.append(Volume(len(volumes), f"p{int(part.addr):02d}_o{int(part.start)}", table,
                                  int(part.addr), start, length, bsize, desc, alloc,
                                  start + length > src.size))
    filesystems: list[FileSystem] = []
    problems: list[Problem] = []
    for vol in volumes:
        if not vol.allocated:
            continue
        if vol.past_end:
            problems.append(Problem(vol, f"partition runs past the end of the media "
                                         f"(ends at byte {vol.start + vol.length}, media is {src.size} bytes)"))
        if vol.start >= src.size:
            problems.append(Problem(vol, "partition starts beyond the end of the media"))
            continue
        found, error = _open_fs(src, vol)
        filesystems.extend(found)
        if error:
            problems.append(Problem(vol, f"no file system opened: {error}"))
    if not filesystems:
        whole = Volume(len(volumes), "whole", "none", None, 0, src.size, 512,
                       "whole media (no partition table)", True, False)
        found, error = _open_fs(src, whole)
        if found:
            volumes.append(whole)
            filesystems.extend(found)
        elif not _recover(src, volumes, filesystems, problems) and not volumes:
            volumes.append(whole)
            if error:
                problems.append(Problem(whole, f"no file system opened: {error}"))
    return Layout(table, volumes, filesystems, problems)


def _recover(src: Media, volumes: list[Volume], filesystems: list[FileSystem], problems: list[Problem]) -> bool:
    """TSK found no file system: read the partition tables directly (listed entries, backup GPT), then scan
    for file-system signatures. Volumes found so carry how in ``recovery``; True if any file system opened."""
    entries, notes = table_entries(src.read, src.size)
    why = "; ".join(notes) or "TSK did not read the partition table or found no file system in it"
    for cand in entries:
        _try_candidate(src, cand, volumes, filesystems, problems, why)
    if filesystems:
        return True
    ends: dict[int, int] = {}

    def skip(offset: int) -> int:
        return ends.get(offset, offset)

    for cand in signature_scan(src.read, src.size, skip):
        fs = _try_candidate(src, cand, volumes, filesystems, problems, why)
        if fs is not None:
            ends[cand.start] = cand.start + fs.block_size * fs.block_count
    return bool(filesystems)


def _try_candidate(src: Media, cand: Candidate, volumes: list[Volume], filesystems: list[FileSystem],
                   problems: list[Problem], why: str) -> FileSystem | None:
    prefix = "s" if cand.how == "signature" else "r"
    vol = Volume(len(volumes), f"{prefix}{len(volumes):02d}_o{cand.start // 512}", cand.table, cand.addr, cand.start,
                 cand.length, 512, cand.description, True, cand.start + cand.length > src.size, cand.how)
    if cand.start >= src.size:
        volumes.append(vol)
        problems.append(Problem(vol, f"{cand.description} starts beyond the end of the media"))
        return None
    found, _ = _open_fs(src, vol)
    if not found:
        if cand.how != "signature":  # a listed partition without a file system is worth saying; a stray match not
            volumes.append(vol)
            problems.append(Problem(vol, f"{cand.description}: no file system opened"))
        return None
    if cand.how == "signature":  # a signature gives no length: the file system's own size is the volume's
        vol = replace(vol, length=min(found[0].block_size * found[0].block_count, src.size - cand.start))
        for fs in found:
            fs.volume = vol
    volumes.append(vol)
    filesystems.extend(found)
    how = {"table-entry": "read from its partition table entry directly",
           "backup-gpt": "read from the backup GPT", "signature": "found by a file-system signature scan"}[cand.how]
    problems.append(Problem(vol, f"recovered volume: {how} ({why}); {found[0].fs_type} at byte {cand.start}"))
    return found[0]
