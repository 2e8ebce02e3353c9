"""A folder as evidence (an unpacked extraction, a read-only mount).

Nothing under the folder is ever opened writable, and no symbolic link is
followed: links are recorded with their target (their content is the target
text, as a file system stores it), and every file is opened one component at
a time from the folder with ``O_NOFOLLOW``, so a link swapped in later cannot
lead outside. FIFOs, sockets and devices inside the folder are recorded and
never opened. The walk is sorted by raw name bytes, depth first.

The intake hash of a folder covers its *listing*: one line per entry
(path, kind, size, mode, mtime in ns), sorted; re-verification lists it again.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devicex import entries as E
from devicex.entries import BytesContent, ContentReader, Entry, path_component
from devicex.sources.base import Layout, Volume, WalkIssue, WalkItem, whole_volume
from devicex.timeutil import from_unix

_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_KINDS = ((stat.S_ISREG, E.KIND_FILE), (stat.S_ISDIR, E.KIND_DIR), (stat.S_ISLNK, E.KIND_LINK))


def _kind(mode: int) -> str:
    return next((kind for test, kind in _KINDS if test(mode)), E.KIND_OTHER)


def _time(ns: int) -> object:
    return from_unix(ns // 1_000_000_000, ns % 1_000_000_000)


class FileContent:
    """One regular file of the folder, opened read-only without following links on its first read
    (a walk that only lists, or whose entries a worker reopens, opens nothing)."""

    __slots__ = ("_fd", "_rel", "_root")

    def __init__(self, root: Path, rel: bytes, fd: int = -1) -> None:
        self._root, self._rel, self._fd = root, rel, fd

    def read(self, offset: int, size: int) -> bytes:
        if self._fd < 0:
            self._fd = open_inside(self._root, self._rel)
        return os.pread(self._fd, size, offset)

    def __del__(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)


def open_inside(root: Path, rel: bytes) -> int:
    """A read-only descriptor of ``root/rel`` reached one component at a time, never through a link."""
    parts = rel.split(b"/")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for part in parts[:-1]:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nxt
        st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"not a regular file any more: {os.fsdecode(rel)}")
        return os.open(parts[-1], _FLAGS, dir_fd=fd)
    finally:
        os.close(fd)


@dataclass
class FolderView:
    volume: Volume
    root: Path
    label: str = "whole"
    offset: int = 0
    fs_type: str = "folder"
    block_size: int | None = None
    block_count: int | None = None
    forced: bool = False
    streamed: bool = False

    def entries(self, source: str) -> Iterator[WalkItem]:
        for rel, st, issue in _walk(self.root):
            if issue is not None:
                yield None, issue
                continue
            entry = self._entry(source, rel, st)
            yield entry, self._reader(rel, entry)

    def reopen(self, entry: Entry) -> ContentReader | None:
        if entry.locator is None:
            return None
        return self._reader(os.fsencode(entry.locator), entry)

    def open_path(self, path: str) -> tuple[ContentReader, int] | None:
        """The regular file at an entry path of this folder (never through a link), with its size."""
        rel = os.fsencode(path.strip("/"))
        if not rel or b".." in rel.split(b"/"):
            return None
        try:
            fd = open_inside(self.root, rel)
        except OSError:
            return None
        return FileContent(self.root, rel, fd), os.fstat(fd).st_size

    def _reader(self, rel: bytes, entry: Entry) -> ContentReader | None:
        if entry.kind == E.KIND_LINK:
            return BytesContent(os.fsencode(entry.link_target or ""))
        if entry.kind != E.KIND_FILE:
            return None
        return FileContent(self.root, rel)

    def _entry(self, source: str, rel: bytes, st: os.stat_result) -> Entry:
        name_raw = rel.rsplit(b"/", 1)[-1]
        kind = _kind(st.st_mode)
        target = os.fsdecode(os.readlink(self.root / os.fsdecode(rel))) if kind == E.KIND_LINK else None
        return Entry(
            source=source, volume=self.label, fs_offset=0, fs_type="folder", inode=None, attr_type=None,
            attr_id=None, stream=None, path="/" + "/".join(path_component(p) for p in rel.split(b"/")),
            name=name_raw.decode("utf-8", "backslashreplace"), name_raw=name_raw, kind=kind,
            size=st.st_size if kind in (E.KIND_FILE, E.KIND_LINK) else 0, alloc=E.ALLOCATED, realloc=False,
            meta_seq=None, mtime=_time(st.st_mtime_ns), atime=_time(st.st_atime_ns),  # type: ignore[arg-type]
            ctime=_time(st.st_ctime_ns), crtime=None, uid=st.st_uid, gid=st.st_gid,  # type: ignore[arg-type]
            mode=stat.S_IMODE(st.st_mode), link_target=target, locator=os.fsdecode(rel))


def _walk(root: Path) -> Iterator[tuple[bytes, os.stat_result, WalkIssue | None]]:
    """(relative path, lstat, None) depth first in raw-name order; (path, _, issue) for an unlistable folder."""
    stack: list[bytes] = [b""]
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(os.path.join(os.fsencode(root), rel_dir) if rel_dir else os.fsencode(root)) as it:
                items = sorted((d.name, d.stat(follow_symlinks=False)) for d in it)
        except OSError as exc:
            yield rel_dir, os.stat(root), WalkIssue(f"cannot list folder /{os.fsdecode(rel_dir)}: {exc.strerror}")
            continue
        subdirs = []
        for name, st in items:
            rel = rel_dir + b"/" + name if rel_dir else name
            yield rel, st, None
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(rel)
        stack.extend(reversed(subdirs))


class FolderSource:
    """A folder opened read-only; its intake hash covers its listing (see the module docstring)."""

    container = "folder"
    countable = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.segments = [path]
        self.stored_hashes: dict[str, str] = {}
        self.ewf_headers: dict[str, str] = {}
        self._listing = b""

    @property
    def label(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        """The listing's length; each hashing pass starts by asking it, so the folder is listed anew."""
        lines = []
        for rel, st, issue in _walk(self.path):
            if issue is None:
                lines.append(b"%s\t%s\t%d\t%o\t%d\n" % (rel, _kind(st.st_mode).encode(), st.st_size,
                                                         st.st_mode, st.st_mtime_ns))
        self._listing = b"".join(lines)
        return len(self._listing)

    def read(self, offset: int, size: int) -> bytes:
        return self._listing[offset:offset + size]

    def read_into(self, offset: int, view: memoryview) -> int:
        data = self._listing[offset:offset + len(view)]
        view[:len(data)] = data
        return len(data)

    def layout(self) -> Layout:
        volume = whole_volume(0, "folder")
        return Layout("none", [volume], [FolderView(volume, self.path)], [])

    def close(self) -> None:
        return None
