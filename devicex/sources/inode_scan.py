"""What a file system still holds when its root folder cannot be read.

Every inode (metadata address) the walk did not reach is opened by address. A
folder found so is walked like any other (its children keep their names); a
file no folder reaches is an entry of its own. Both go under the virtual folder
``/$InodeScan`` as ``OrphanDir-<inode>`` / ``OrphanFile-<inode>`` (as TSK names
the members of ``$OrphanFiles``) with allocation ``orphan``. Folders are walked
first, in address order, so that a file named in one is not listed twice.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytsk3

from devicex import entries as E
from devicex.sources.base import WalkIssue
from devicex.sources.walk import (
    FileSystem,
    TskContent,
    WalkState,
    _DetachedName,
    _entries_for,
    walk_from,
)

SCAN_DIR = "/$InodeScan"
EXT_FIRST_INODE = 11  # ext2/3/4: inodes 1-10 are reserved for the file system itself
MAX_INODES = 4_000_000  # a scan beyond this many addresses is cut short (and says so)
_REG = int(pytsk3.TSK_FS_META_TYPE_REG)
_DIR = int(pytsk3.TSK_FS_META_TYPE_DIR)
_META_ALLOC = int(pytsk3.TSK_FS_META_FLAG_ALLOC)
_NAME_ALLOC = int(pytsk3.TSK_FS_NAME_FLAG_ALLOC)
_NAME_UNALLOC = int(pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
_NAME_TYPES = {_REG: int(pytsk3.TSK_FS_NAME_TYPE_REG), _DIR: int(pytsk3.TSK_FS_NAME_TYPE_DIR)}


def scan(fs: FileSystem, source: str, state: WalkState) -> Iterator[tuple[E.Entry | None, TskContent | None]]:
    """Entries for the inodes the walk did not reach (see the module's description)."""
    handle = fs.handle
    first, last = int(handle.info.first_inum), int(handle.info.last_inum)
    if fs.fs_type.startswith("ext"):
        first = max(first, EXT_FIRST_INODE)  # below are the file system's own (journal, resize inode...)
    if last - first + 1 > MAX_INODES:
        yield None, WalkIssue(f"inode scan cut short: only addresses {first}-{first + MAX_INODES - 1} of "  # type: ignore[misc]
                              f"{first}-{last} were scanned")
        last = first + MAX_INODES - 1
    dirs: list[tuple[int, _DetachedName]] = []
    files: list[tuple[int, _DetachedName]] = []
    for inum in range(first, last + 1):
        if inum == state.root or inum in state.seen_inodes:
            continue
        name = _name_for(handle, inum)
        if name is not None:
            (dirs if name.type == _NAME_TYPES[_DIR] else files).append((inum, name))
    places: set[int] = set()
    for inum, name in dirs:
        if inum in state.seen_dirs:  # reached from a folder walked before it
            continue
        place = _first_block(handle, inum)
        if place is None or place in places:  # FAT: "." and ".." entries name folders already walked
            continue
        places.add(place)
        state.seen_dirs.add(inum)
        path = f"{SCAN_DIR}/OrphanDir-{inum}"
        produced, _ = _entries_for(fs, source, name, path.rsplit("/", 1)[1].encode(), path, True)
        yield from produced
        for entry, content in walk_from(fs, source, [(path, inum, True)], state):
            if entry is not None and entry.inode is not None:
                state.seen_inodes.add(entry.inode)
                if entry.kind == E.KIND_DIR:
                    places.add(_first_block(handle, entry.inode) or -1)
            yield entry, content
    for inum, name in files:
        if inum in state.seen_inodes:
            continue
        path = f"{SCAN_DIR}/OrphanFile-{inum}"
        produced, _ = _entries_for(fs, source, name, path.rsplit("/", 1)[1].encode(), path, True)
        yield from produced


def _first_block(handle: pytsk3.FS_Info, inum: int) -> int | None:
    """Where a folder's content starts on disk (None if nowhere): one folder, however many names it has."""
    try:
        for attr in handle.open_meta(inode=inum):
            for run in attr:
                if int(run.len):
                    return int(run.addr)
    except OSError:
        return None
    return None


def _name_for(handle: pytsk3.FS_Info, inum: int) -> _DetachedName | None:
    """A stand-in directory name for a regular file or folder at ``inum``; None for anything else."""
    try:
        meta = handle.open_meta(inode=inum).info.meta
    except OSError:
        return None
    if meta is None or int(meta.type) not in _NAME_TYPES:
        return None
    allocated = bool(int(meta.flags) & _META_ALLOC)
    if int(meta.size) == 0:
        return None  # unused, wiped, or empty: no content and no name to recover
    name = _DetachedName.__new__(_DetachedName)
    name.meta_addr = inum
    name.flags = _NAME_ALLOC if allocated else _NAME_UNALLOC
    name.type = _NAME_TYPES[int(meta.type)]
    name.meta_seq = int(meta.seq)
    return name
