"""Entries: the metadata of one file-system name (and one of its streams).

An :class:`Entry` is plain data and knows nothing of pytsk3; content is read
through the :class:`ContentReader` that the source layer pairs with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

ALLOCATED = "allocated"
DELETED = "deleted"
ORPHAN = "orphan"

GUESS_NO_CHAIN = "no-cluster-chain"  # deleted FAT/exFAT file of several clusters: TSK assumed them contiguous
GUESS_REALLOCATED = "reallocated"  # the metadata the name points at now belongs to another file

KIND_FILE = "file"
KIND_DIR = "dir"
KIND_LINK = "symlink"
KIND_VIRTUAL = "virtual"
KIND_VIRTUAL_DIR = "virtual-dir"
KIND_OTHER = "other"
CONTENT_KINDS = frozenset({KIND_FILE, KIND_VIRTUAL, KIND_LINK, KIND_OTHER})


@dataclass(frozen=True, slots=True)
class Entry:
    """One name in a file system; for NTFS, one (name, data stream) pair."""

    source: str
    volume: str
    fs_offset: int
    fs_type: str
    inode: int
    attr_type: int | None
    attr_id: int | None
    stream: str | None
    path: str  # "/dir/name" -- original, decoded; stream not included
    name: str
    name_raw: bytes
    kind: str
    size: int
    alloc: str
    realloc: bool
    meta_seq: int | None
    mtime: datetime | None
    atime: datetime | None
    ctime: datetime | None
    crtime: datetime | None
    fn_mtime: datetime | None = None
    fn_atime: datetime | None = None
    fn_ctime: datetime | None = None
    fn_crtime: datetime | None = None
    uid: int | None = None
    gid: int | None = None
    mode: int | None = None
    link_target: str | None = None
    content_guess: str | None = None  # why the content read for a deleted entry may not be its own, if so


    @property
    def full_path(self) -> str:
        """The path as ``fls -p`` shows it, with ``:stream`` for named streams."""
        return f"{self.path}:{self.stream}" if self.stream else self.path

    @property
    def address(self) -> str:
        """TSK's address spec: ``inode`` or ``inode-type-id`` (as fls prints)."""
        if self.attr_type is None or self.attr_id is None:
            return str(self.inode)
        return f"{self.inode}-{self.attr_type}-{self.attr_id}"

    @property
    def has_content(self) -> bool:
        return self.kind in CONTENT_KINDS

    @property
    def extension(self) -> str:
        name = self.stream or self.name
        dot = name.rfind(".")
        return name[dot + 1 :].lower() if 0 < dot < len(name) - 1 else ""


class ContentReader(Protocol):
    """Reads one entry's stream; ``read`` returns short/empty past the end."""

    def read(self, offset: int, size: int) -> bytes: ...
