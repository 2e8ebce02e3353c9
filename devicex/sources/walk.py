"""Walking a file system: every allocated, deleted and orphan name, in sorted
order (by raw name bytes), depth first, each directory visited once.

``walk`` yields ``(Entry, TskContent)`` pairs (``reopen`` makes the same pair
again from the entry alone, for worker processes); the content object reads the
entry's stream through pytsk3 and never leaves this package's types exposed.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pytsk3

from devicex import entries as E
from devicex.entries import ContentReader
from devicex.sources import byteruns, exfat, inode_scan, ntfsattrs
from devicex.sources.base import Volume, WalkIssue
from devicex.sources.tskcontent import TskContent
from devicex.timeutil import from_unix

_NAME_UNALLOC = int(pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
_NAME_ALLOC = int(pytsk3.TSK_FS_NAME_FLAG_ALLOC)
_META_ALLOC = int(pytsk3.TSK_FS_META_FLAG_ALLOC)
_META_KINDS = {
    int(pytsk3.TSK_FS_META_TYPE_REG): E.KIND_FILE,
    int(pytsk3.TSK_FS_META_TYPE_DIR): E.KIND_DIR,
    int(pytsk3.TSK_FS_META_TYPE_LNK): E.KIND_LINK,
    int(pytsk3.TSK_FS_META_TYPE_VIRT): E.KIND_VIRTUAL,
    int(pytsk3.TSK_FS_META_TYPE_VIRT_DIR): E.KIND_VIRTUAL_DIR,
}
_NAME_KINDS = {
    int(pytsk3.TSK_FS_NAME_TYPE_REG): E.KIND_FILE,
    int(pytsk3.TSK_FS_NAME_TYPE_DIR): E.KIND_DIR,
    int(pytsk3.TSK_FS_NAME_TYPE_LNK): E.KIND_LINK,
    int(pytsk3.TSK_FS_NAME_TYPE_VIRT): E.KIND_VIRTUAL,
    int(pytsk3.TSK_FS_NAME_TYPE_VIRT_DIR): E.KIND_VIRTUAL_DIR,
}
ORPHAN_DIR = "$OrphanFiles"


@dataclass
class FileSystem:
    """A file system TSK opened: a view of an image source (see devicex.sources.base)."""

    volume: Volume
    label: str
    offset: int
    fs_type: str
    block_size: int
    block_count: int
    forced: bool
    handle: pytsk3.FS_Info
    cluster_size: int = 0  # allocation unit in bytes (FAT/exFAT cluster; the block size elsewhere)
    image: pytsk3.Img_Info | None = None  # the media, for the few raw reads TSK has no API for
    streamed = False  # TSK reads any entry again by its address

    def entries(self, source: str) -> Iterator[Any]:
        return walk(self, source)

    def reopen(self, entry: E.Entry) -> ContentReader | None:
        return reopen(self, entry)

    def open_path(self, path: str) -> tuple[ContentReader, int] | None:
        return open_path(self, path)

    def plan_runs(self, entry: E.Entry, reader: ContentReader | None, media_size: int) -> byteruns.Plan | None:
        """Where the walk's ``reader`` for ``entry`` finds its bytes on the media if plainly, and its DFXML byte
        runs (see byteruns)."""
        if not isinstance(reader, TskContent) or reader.file is None:
            return None
        return byteruns.plan_runs(self, reader, entry.size, media_size)

    def held_data(self, entry: E.Entry, reader: ContentReader | None) -> bytes | None:
        """The stream's bytes if the walk's ``reader`` gives them without reading the media (see
        ``byteruns.held``: empty, resident, or nothing on the media and read as nothing), else None."""
        if not isinstance(reader, TskContent) or reader.file is None or not entry.has_content:
            return None
        how = byteruns.held(reader, entry.size)
        try:
            if how is None or reader.byte_runs(entry.fs_offset, entry.size):
                return None
            data = reader.read(0, min(entry.size, byteruns.RESIDENT_LIMIT))
        except OSError:
            return None  # read per entry: its problem is recorded as before
        return data if how != "off-media" or not data else None


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


class WalkState:
    """What a walk has reached: folders descended into and, once the root folder is found damaged, every
    inode named (so that the inode scan that follows adds only what no name reaches)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.seen_dirs: set[int] = {root}
        self.root_damaged = False
        self.seen_inodes: set[int] = set()


def walk(fs: FileSystem, source: str) -> Iterator[tuple[E.Entry, TskContent | None]]:
    """Yield every entry of the file system, depth first in sorted name order.

    Directories that cannot be listed raise nothing: the issue is yielded as
    a ``(None, WalkIssue)`` pair so the caller can record it and go on. When
    the root folder cannot be listed or lists nothing, the file system's
    inodes are then scanned for what it still holds (:mod:`inode_scan`).
    """
    state = WalkState(int(fs.handle.info.root_inum))
    try:
        yield from walk_from(fs, source, [("", state.root, False)], state)
        if state.root_damaged:
            yield from _scan_unreached(fs, source, state)  # type: ignore[misc]
    finally:
        byteruns.walk_done(fs)  # (each entry yielded has been planned by now)


def _scan_unreached(fs: FileSystem, source: str, state: WalkState) -> Iterator[tuple[E.Entry | None, Any]]:
    """Entries for what no name reached (see :mod:`devicex.sources.inode_scan`)."""
    found = inode_scan.unreached(fs.handle, fs.fs_type, state.root, state.seen_inodes)
    if found.cut_short:
        yield None, WalkIssue(found.cut_short)
    places: set[int] = set()
    for item in found.dirs:
        if item.meta_addr in state.seen_dirs:  # reached from a folder walked before it
            continue
        place = inode_scan.first_block(fs.handle, item.meta_addr)
        if place is None or place in places:
            continue
        places.add(place)
        state.seen_dirs.add(item.meta_addr)
        path = f"{inode_scan.SCAN_DIR}/OrphanDir-{item.meta_addr}"
        yield from _entries_for(fs, source, item, path.rsplit("/", 1)[1].encode(), path, True)[0]
        for entry, content in walk_from(fs, source, [(path, item.meta_addr, True)], state):
            if entry is not None and entry.inode is not None:
                state.seen_inodes.add(entry.inode)
                if entry.kind == E.KIND_DIR:
                    places.add(inode_scan.first_block(fs.handle, entry.inode) or -1)
            yield entry, content
    for item in found.files:
        if item.meta_addr not in state.seen_inodes:
            path = f"{inode_scan.SCAN_DIR}/OrphanFile-{item.meta_addr}"
            yield from _entries_for(fs, source, item, path.rsplit("/", 1)[1].encode(), path, True)[0]


def walk_from(fs: FileSystem, source: str, stack: list[tuple[str, int, bool]],
              state: WalkState) -> Iterator[tuple[E.Entry, TskContent | None]]:
    """Depth-first walk from the (path, inode, in_orphans) folders on ``stack``."""
    handle = fs.handle
    while stack:
        dir_path, dir_inode, in_orphans = stack.pop()
        try:
            directory = handle.open_dir(inode=dir_inode)
            if int(directory.size) <= LEAN_DIR_NAMES:
                items: list[tuple[bytes, pytsk3.File | _DetachedName]] = [(f.info.name.name, f) for f in directory]
            else:
                items = [(f.info.name.name, _DetachedName(f.info.name)) for f in directory]
        except OSError as exc:
            yield None, WalkIssue(f"cannot list directory {dir_path or '/'} (inode {dir_inode}): {exc}")  # type: ignore[misc]
            if dir_inode == state.root and dir_path == "":
                state.root_damaged = True
            continue
        if dir_inode == state.root and dir_path == "" and _lists_nothing(fs, items):
            state.root_damaged = True
            yield None, WalkIssue("the root folder lists no entries (damaged or empty): the file system's "  # type: ignore[misc]
                                  "inodes are scanned for files no name reaches")
        items.sort(key=lambda item: item[0])
        children: list[tuple[str, int, bool]] = []
        for raw, f in items:
            if raw in (b".", b"..") and _is_dir_link(f):
                continue  # the directory's own link and its parent's; a *file* named '.' or '..' is kept
            path = f"{dir_path}/{E.path_component(raw)}"
            orphan = in_orphans or (dir_path == "" and raw == ORPHAN_DIR.encode())
            produced, dir_addr = _entries_for(fs, source, f, raw, path, in_orphans)
            if state.root_damaged:
                state.seen_inodes.update(e.inode for e, _ in produced if e.inode is not None)
            yield from produced
            if dir_addr is not None and dir_addr not in state.seen_dirs:
                state.seen_dirs.add(dir_addr)
                children.append((path, dir_addr, orphan))
        stack.extend(reversed(children))


def reopen(fs: FileSystem, entry: E.Entry) -> TskContent | None:
    """The stream the walk paired with ``entry``, opened again by its metadata address and attribute
    (worker processes cannot share the walk's pytsk3 objects). Raises OSError if it cannot be opened."""
    if entry.inode is None:
        return None
    return TskContent(fs.handle.open_meta(inode=entry.inode), entry.attr_type, entry.attr_id)


_NAME_DIR = int(pytsk3.TSK_FS_NAME_TYPE_DIR)


def _is_dir_link(f: pytsk3.File | _DetachedName) -> bool:
    """A '.' or '..' entry that is a directory link (not a planted file carrying that name)."""
    name_type = f.type if isinstance(f, _DetachedName) else int(f.info.name.type)
    return name_type == _NAME_DIR


def open_path(fs: FileSystem, path: str) -> tuple[TskContent, int] | None:
    """The default stream of the regular file at ``path`` (an allocated name), with its size;
    None if there is no such file (how parsers reach an entry's siblings)."""
    try:
        f = fs.handle.open(path)
    except (OSError, UnicodeError):
        return None
    meta = f.info.meta
    if meta is None or int(meta.type) != int(pytsk3.TSK_FS_META_TYPE_REG):
        return None
    return TskContent(f, None, None), int(meta.size)


_VIRTUAL_NAMES = frozenset({b".", b"..", ORPHAN_DIR.encode(), b"$MBR", b"$FAT1", b"$FAT2"})


def _lists_nothing(fs: FileSystem, items: list[tuple[bytes, object]]) -> bool:
    """True if a root listing holds no real name (only what TSK adds itself), or, on ext2/3/4 where every
    folder holds "." and "..", lacks them: its blocks are gone or zeroed."""
    names = {raw for raw, _ in items}
    if fs.fs_type.startswith("ext") and b"." not in names:
        return True
    return all(raw in _VIRTUAL_NAMES or _is_volume_label(f) for raw, f in items)


def _is_volume_label(f: object) -> bool:
    meta = getattr(getattr(f, "info", None), "meta", None)
    return meta is not None and int(meta.type) == int(pytsk3.TSK_FS_META_TYPE_VIRT)


LEAN_DIR_NAMES = 4096  # a bigger directory keeps only its names while listed, not a pytsk3 File per name


class _DetachedName:
    """The name fields the walk reads, copied out of a listed pytsk3 File so the
    File (and its loaded metadata, ~1 KiB each) can go: a directory of 100,000
    names would otherwise hold 100,000 of them while it is walked."""

    __slots__ = ("flags", "meta_addr", "meta_seq", "type")

    def __init__(self, name: pytsk3.TSK_FS_NAME) -> None:
        self.meta_addr = int(name.meta_addr)
        self.flags = int(name.flags)
        self.type = int(name.type)
        self.meta_seq = int(name.meta_seq)


def _reopen(fs: FileSystem, name: _DetachedName | inode_scan.Found) -> tuple[pytsk3.File | None, object | None]:
    """(File, meta) as TSK's directory listing gives them (tsk_fs_dir_get loads the
    metadata of the named address, dropping it when the sequence differs)."""
    if not (name.meta_addr or name.flags & _NAME_ALLOC):
        return None, None
    try:
        f = fs.handle.open_meta(inode=name.meta_addr)
    except OSError:
        return None, None
    meta = f.info.meta
    if meta is not None and int(meta.seq) != name.meta_seq:
        return f, None
    return f, meta


def _content_guess(fs: FileSystem, meta: Any, alloc: str, realloc: bool) -> str | None:
    """Why TSK's content for this entry may not be the entry's own (see devicex.entries), or None.

    A deleted FAT/exFAT file keeps its first cluster and size, but its cluster chain is gone: beyond the
    first cluster TSK reads the following free clusters, a guess that is wrong for a fragmented file
    (DFTT #6). A deleted name whose metadata is allocated again shows another file's content."""
    if meta is None or alloc == E.ALLOCATED:
        return None
    if realloc:
        return E.GUESS_REALLOCATED
    if (fs.fs_type.startswith(("fat", "exfat")) and not int(meta.flags) & _META_ALLOC
            and int(meta.size) > fs.cluster_size > 0):
        return E.GUESS_NO_CHAIN
    return None


def _apply_exfat_offsets(fs: FileSystem, entry: E.Entry) -> E.Entry:
    """Convert the exFAT times whose UTC offset is recorded to real UTC (TSK reads them as UTC)."""
    if fs.image is None or entry.inode is None:
        return entry
    try:
        found = exfat.recorded_offsets(fs.image, fs.offset, entry.inode)
    except OSError:  # the directory entry is unreadable: the times stay as TSK gives them
        return entry
    if found is None:
        return entry
    changes: dict[str, Any] = {}
    applied = []
    for name, minutes in sorted(found[0].items()):
        value = getattr(entry, name)
        if value is not None:
            changes[name] = value + exfat.to_utc_delta(minutes)
            applied.append((name, minutes))
    return replace(entry, **changes, utc_offsets=tuple(applied)) if applied else entry


def _entries_for(fs: FileSystem, source: str, f: pytsk3.File | _DetachedName | inode_scan.Found, raw: bytes,
                 path: str, in_orphans: bool) -> tuple[list[tuple[E.Entry, TskContent | None]], int | None]:
    """The entries for one name, and the inode to descend into if a directory."""
    meta: Any
    if isinstance(f, (_DetachedName, inode_scan.Found)):
        name: pytsk3.TSK_FS_NAME | _DetachedName | inode_scan.Found = f
        f, meta = _reopen(fs, f)
    else:
        info = f.info  # (a new object at each reading)
        name, meta = info.name, info.meta
    addr = int(name.meta_addr)
    name_unalloc = bool(int(name.flags) & _NAME_UNALLOC)
    if meta is None and addr:
        try:  # deleted names: TSK does not load the metadata they point at
            f = fs.handle.open_meta(inode=addr)
            meta = f.info.meta
        except OSError:
            meta = None
    realloc = bool(name_unalloc and meta is not None and int(meta.flags) & _META_ALLOC)
    alloc = E.ORPHAN if in_orphans else (E.DELETED if name_unalloc else E.ALLOCATED)
    if meta is not None:
        kind = _META_KINDS.get(int(meta.type), E.KIND_OTHER)
    else:
        kind = _NAME_KINDS.get(int(name.type), E.KIND_OTHER)
    streams, fn = ntfsattrs.read(f) if meta is not None and fs.fs_type == "ntfs" else ([], ntfsattrs.NO_TIMES)
    shared = _fields(fs, source, f, meta, fn, path, raw, addr, kind, alloc, realloc)
    is_dir = kind in (E.KIND_DIR, E.KIND_VIRTUAL_DIR)
    dir_addr = addr if is_dir and (meta is not None or addr) else None
    if meta is None:
        return [(_entry(shared, None, None, None, 0), None)], dir_addr
    exfat = fs.fs_type == "exfat" and fs.image is not None
    base = None
    if is_dir or not streams or exfat:  # else only its streams are entries, each made directly (cheaper)
        base = _entry(shared, None, None, None, int(meta.size))
        base = _apply_exfat_offsets(fs, base) if exfat else base
    out: list[tuple[E.Entry, TskContent | None]] = []
    if base is not None and (is_dir or not streams):
        out.append((base, TskContent(f, None, None) if not is_dir else None))
    for atype, aid, sname, size, attr in streams:
        if not (is_dir and sname is None):
            out.append((replace(base, attr_type=atype, attr_id=aid, stream=sname, size=size) if base is not None
                        else _entry(shared, atype, aid, sname, size), TskContent(f, atype, aid, attr)))
    return out, dir_addr


_Shared = tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]
_FIELDS = [f.name for f in dataclasses.fields(E.Entry)]
# the fields after content_guess, which a walk leaves at their defaults
_LATER = tuple(f.default for f in dataclasses.fields(E.Entry)[_FIELDS.index("content_guess") + 1:])
assert _FIELDS[:_FIELDS.index("content_guess") + 1] == [
    "source", "volume", "fs_offset", "fs_type", "inode", "attr_type", "attr_id", "stream", "path", "name",
    "name_raw", "kind", "size", "alloc", "realloc", "meta_seq", "mtime", "atime", "ctime", "crtime", "fn_mtime",
    "fn_atime", "fn_ctime", "fn_crtime", "uid", "gid", "mode", "link_target", "content_guess"], "see _fields"
assert dataclasses.MISSING not in _LATER


def _entry(shared: _Shared, attr_type: int | None, attr_id: int | None, stream: str | None, size: int) -> E.Entry:
    before, middle, after = shared
    return E.entry_of((*before, attr_type, attr_id, stream, *middle, size, *after))


def _fields(fs: FileSystem, source: str, f: Any, meta: Any, fn: tuple[Any, ...], path: str, raw: bytes, addr: int,
            kind: str, alloc: str, realloc: bool) -> _Shared:
    """The fields an entry's streams share (all but the stream, its attribute and its size), in the order of
    Entry's fields: those before the attribute, those between the stream and the size, those after the size."""
    if meta is None:
        return ((source, fs.label, fs.offset, fs.fs_type, addr), (path, _decode(raw), raw, kind),
                (alloc, realloc, None, None, None, None, None, None, None, None, None, None, None, None, None,
                 _content_guess(fs, meta, alloc, realloc), *_LATER))
    return ((source, fs.label, fs.offset, fs.fs_type, addr), (path, _decode(raw), raw, kind),
            (alloc, realloc, int(meta.seq), *_meta_times(meta), *fn, int(meta.uid), int(meta.gid), int(meta.mode),
             _decode(meta.link) if meta.link else None, _content_guess(fs, meta, alloc, realloc), *_LATER))


def _meta_times(meta: Any) -> tuple[datetime | None, datetime | None, datetime | None, datetime | None]:
    """The metadata's mtime, atime, ctime and crtime (``from_unix``), each made once: a time equal to one before
    it is the same object (a file's times are often equal: NTFS files' mtime and ctime, atime and crtime)."""
    ms, mn, as_, an = meta.mtime, meta.mtime_nano, meta.atime, meta.atime_nano
    cs, cn, rs, rn = meta.ctime, meta.ctime_nano, meta.crtime, meta.crtime_nano
    m = from_unix(ms, mn)
    a = m if as_ == ms and an == mn else from_unix(as_, an)
    c = m if cs == ms and cn == mn else a if cs == as_ and cn == an else from_unix(cs, cn)
    r = (m if rs == ms and rn == mn else a if rs == as_ and rn == an else c if rs == cs and rn == cn
         else from_unix(rs, rn))
    return m, a, c, r
