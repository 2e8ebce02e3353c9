"""What every source kind provides, whatever library reads it.

A *source* opens the evidence container(s) read-only. It has the bytes its
intake hash covers (``read``/``size``: the media of a disk image, the file of
an archive, a listing for a folder) and a :meth:`Source.layout`: volumes and
the file-system *views* found in them. A view walks its entries
(``entries``: ``(Entry, reader)`` pairs in a deterministic order, or
``(None, WalkIssue)`` for a problem the walk records and goes past) and, if it
is not ``streamed``, opens an entry's stream again by the entry alone
(``reopen``), which is how worker processes read what the walk found.

A *streamed* view (a tar, a tar.gz) is read in one sequential pass: the reader
paired with an entry is valid only until the walk moves on. Members small
enough come as :class:`~devicex.entries.BytesContent` (already read, can be
handed to another process); bigger ones as a forward-only reader that the
caller must consume before asking for the next entry.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from devicex.entries import ContentReader, Entry, path_component

MEMBER_IN_MEMORY = 8 << 20  # streamed members up to this size are read whole during the walk


class MediaReads:
    """Bytes this process has read from evidence media (disk images: raw, split raw, E01; archive files), counted
    where the source reads them, whoever asked (TSK for metadata and content, the media hashes). Worker
    processes report theirs to the parent (``pipelines.parallel``): bytes read per media byte is the figure."""

    _lock = threading.Lock()
    _total = 0

    @classmethod
    def add(cls, nbytes: int) -> None:
        with cls._lock:
            cls._total += nbytes

    @classmethod
    def total(cls) -> int:
        return cls._total


@dataclass(frozen=True)
class Volume:
    """A partition (or the whole media when there is no partition table)."""

    index: int
    label: str
    table: str  # "dos", "gpt", ... or "none"
    addr: int | None
    start: int  # bytes
    length: int  # bytes
    sector_size: int
    description: str
    allocated: bool
    past_end: bool
    recovery: str | None = None  # how it was found when the table is damaged (see partition_scan), else None


@dataclass(frozen=True)
class Problem:
    volume: Volume
    message: str


@dataclass
class Layout:
    table: str
    volumes: list[Volume]
    filesystems: list[Any]  # views (see View); devicex.sources.walk.FileSystem for images
    problems: list[Problem]


class WalkIssue(Exception):
    """A part of a file system or archive that could not be read (recorded, the walk goes on)."""


WalkItem = tuple[Entry, ContentReader | None] | tuple[None, WalkIssue]


class View(Protocol):
    """One file system (or archive, or folder) of a source."""

    volume: Volume
    label: str
    offset: int
    fs_type: str
    block_size: int | None
    block_count: int | None
    forced: bool
    streamed: bool

    def entries(self, source: str) -> Iterator[WalkItem]: ...

    def reopen(self, entry: Entry) -> ContentReader | None: ...

    # Optional (views that can): ``open_path(path) -> (reader, size) | None``, the regular file at an
    # entry path of this view, for parsers' sibling entries (a database's -wal, an attachments folder).


class Source(Protocol):
    """An opened evidence source (see the module docstring)."""

    path: Path
    container: str
    segments: list[Path]
    size: int
    stored_hashes: dict[str, str]
    ewf_headers: dict[str, str]
    countable: bool  # entries can be counted beforehand without a second read of the content

    @property
    def label(self) -> str: ...

    def read(self, offset: int, size: int) -> bytes: ...

    def read_into(self, offset: int, view: memoryview) -> int: ...  # read() into a reused buffer; the count

    def layout(self) -> Layout: ...

    def close(self) -> None: ...


@dataclass
class FileSource:
    """A source that is one file read as it is (an archive): its bytes are what the intake hash covers."""

    path: Path
    container: str
    size: int
    segments: list[Path] = field(default_factory=list)
    stored_hashes: dict[str, str] = field(default_factory=dict)
    ewf_headers: dict[str, str] = field(default_factory=dict)
    countable: bool = False

    def __post_init__(self) -> None:
        self.segments = self.segments or [self.path]
        self._fd = os.open(self.path, os.O_RDONLY)

    @property
    def label(self) -> str:
        return self.path.name

    def read(self, offset: int, size: int) -> bytes:
        data = os.pread(self._fd, size, offset)
        MediaReads.add(len(data))
        return data

    def read_into(self, offset: int, view: memoryview) -> int:
        count = os.preadv(self._fd, [view], offset)
        MediaReads.add(count)
        return count

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def whole_volume(size: int, description: str) -> Volume:
    """The single pseudo-volume of a source without partitions (an archive, a folder)."""
    return Volume(0, "whole", "none", None, 0, size, 512, description, True, False)


def member_path(stored: bytes) -> tuple[str, str, bytes]:
    """(path, name, raw name) of an archive member from its stored name, recorded, never resolved.

    Components are split on ``/`` only; empty and ``.`` components are dropped; ``..`` and
    backslashes stay, as names, written in the path as every name is (``path_component``:
    ``\\x2e\\x2e``, ``\\x5c``; export naming makes them safe). A leading ``/`` is not kept:
    the stored name (in ``Entry.stored_name``) says the member was absolute.
    """
    parts = [p for p in stored.split(b"/") if p not in (b"", b".")]
    if not parts:
        return "/", "", b""
    return "/" + "/".join(path_component(p) for p in parts), decode_name(parts[-1]), parts[-1]


def decode_name(raw: bytes) -> str:
    """A stored name as text; bytes that are not UTF-8 as ``\\xNN`` (the raw bytes are kept beside it)."""
    return raw.decode("utf-8", "backslashreplace")
