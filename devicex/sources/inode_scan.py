"""What a file system still holds when its root folder cannot be read.

Every inode (metadata address) the walk did not reach is opened by address
(:func:`unreached`). The walk (:func:`devicex.sources.walk.walk`) then walks
each folder found so like any other (its children keep their names) and lists
each file no folder reaches as an entry of its own, under the virtual folder
``/$InodeScan`` as ``OrphanDir-<inode>`` / ``OrphanFile-<inode>`` (as TSK names
the members of ``$OrphanFiles``), with allocation ``orphan``. Folders come
first, in address order, so that a file named in one is not listed twice; a
folder seen under several addresses (FAT's "." and ".." entries) is walked once
(:func:`first_block`).
"""
from __future__ import annotations

from dataclasses import dataclass

import pytsk3

SCAN_DIR = "/$InodeScan"
EXT_FIRST_INODE = 11  # ext2/3/4: inodes 1-10 are reserved for the file system itself
MAX_INODES = 4_000_000  # a scan beyond this many addresses is cut short (and says so)
_REG = int(pytsk3.TSK_FS_META_TYPE_REG)
_DIR = int(pytsk3.TSK_FS_META_TYPE_DIR)
_META_ALLOC = int(pytsk3.TSK_FS_META_FLAG_ALLOC)
_NAME_ALLOC = int(pytsk3.TSK_FS_NAME_FLAG_ALLOC)
_NAME_UNALLOC = int(pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
_NAME_TYPES = {_REG: int(pytsk3.TSK_FS_NAME_TYPE_REG), _DIR: int(pytsk3.TSK_FS_NAME_TYPE_DIR)}
DIR_NAME_TYPE = _NAME_TYPES[_DIR]


@dataclass(frozen=True)
class Found:
    """A regular file or folder at an address no name reached, with the fields of a directory name."""

    meta_addr: int
    flags: int
    type: int
    meta_seq: int

    @property
    def is_dir(self) -> bool:
        return self.type == DIR_NAME_TYPE


@dataclass
class Unreached:
    dirs: list[Found]
    files: list[Found]
    cut_short: str | None  # why the scan stopped early, if it did


def unreached(handle: pytsk3.FS_Info, fs_type: str, root: int, seen: set[int]) -> Unreached:
    """Regular files and folders of non-zero size at addresses other than ``root`` and ``seen``."""
    first, last = int(handle.info.first_inum), int(handle.info.last_inum)
    if fs_type.startswith("ext"):
        first = max(first, EXT_FIRST_INODE)  # below are the file system's own (journal, resize inode...)
    cut = None
    if last - first + 1 > MAX_INODES:
        cut = f"inode scan cut short: only addresses {first}-{first + MAX_INODES - 1} of {first}-{last} were scanned"
        last = first + MAX_INODES - 1
    found = Unreached([], [], cut)
    for inum in range(first, last + 1):
        if inum == root or inum in seen:
            continue
        item = _found(handle, inum)
        if item is not None:
            (found.dirs if item.is_dir else found.files).append(item)
    return found


def _found(handle: pytsk3.FS_Info, inum: int) -> Found | None:
    try:
        meta = handle.open_meta(inode=inum).info.meta
    except OSError:
        return None
    if meta is None or int(meta.type) not in _NAME_TYPES or int(meta.size) == 0:
        return None  # not a file or folder, or unused, wiped or empty: no content and no name to recover
    flags = _NAME_ALLOC if int(meta.flags) & _META_ALLOC else _NAME_UNALLOC
    return Found(inum, flags, _NAME_TYPES[int(meta.type)], int(meta.seq))


def first_block(handle: pytsk3.FS_Info, inum: int) -> int | None:
    """Where a folder's content starts on disk (None if nowhere): one folder, however many names it has."""
    try:
        for attr in handle.open_meta(inode=inum):
            for run in attr:
                if int(run.len):
                    return int(run.addr)
    except OSError:
        return None
    return None
