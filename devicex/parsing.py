"""The parser contract (artefact-agnostic).

A parser is a module in the ``parsers`` package exposing::

    NAME: str                 # unique, e.g. "exif"
    VERSION: str
    MIME_TYPES: frozenset[str] # signatures it wants (libmagic MIME types)
    EXTENSIONS: frozenset[str] # optional: extensions it wants even if MIME differs
    PATHS: tuple[str, ...]     # optional: path patterns it wants whatever the type
                               # (fnmatch on the entry's path, ``*`` spans folders,
                               # e.g. "*/com.android.providers.telephony/databases/mmssms.db")
    SIBLINGS: tuple[str, ...]  # optional: path patterns (as PATHS) of other entries whose CONTENT it reads
                               # through ``ctx.sibling``, e.g. WhatsApp's "*/databases/wa.db" (a database's
                               # own -wal/-journal need not be listed; attachments found by path need not be)
    def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]

It is a pure generator: it reads through ``ctx`` (its own stream, and sibling
entries such as a database's ``-wal`` or an attachments folder through
``ctx.sibling``), yields records one at a time (the pipeline streams them to
the case database in batches: a parser never collects them), and reports
recoverable damage with ``ctx.warn`` (or by raising :class:`~devicex.errors.Damage`
after yielding what it could). It raises :class:`~devicex.errors.NotMyFormat`
when the content is not its format. It prints nothing and writes nothing.
"""
from __future__ import annotations

import fnmatch
import io
import posixpath
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from devicex.entries import Entry
from devicex.filetype import HEAD_SIZE
from devicex.records import Record


@dataclass(frozen=True)
class Sibling:
    """Another entry of the same file system, found by path: readable, never writable."""

    path: str
    size: int
    open: Callable[[], BinaryIO]


#: resolves an absolute path in the entry's file system to a Sibling (or None if absent)
SiblingFinder = Callable[[str], "Sibling | None"]


class ParserContext:
    """What a parser may use: the stream's bytes (seekable), type, warnings, sibling
    entries by path, a private scratch folder (for the core's SQLite helper) and the
    region in which national phone numbers are read."""

    def __init__(self, opener: Callable[[], BinaryIO], head: bytes, mime: str, size: int, *,
                 path: str = "", siblings: SiblingFinder | None = None, scratch: str | Path | None = None,
                 region: str = "GB") -> None:
        self._opener = opener
        self.head = head
        self.mime = mime
        self.size = size
        self.path = path
        self.region = region
        self._siblings = siblings
        self._scratch = scratch  # (a Path only when asked for: most parses never ask)
        self.scratch_used = False  # scratch_dir was asked for: there may be a folder to remove
        self.warnings: list[str] = []
        self.databases: list[str] = []  # other databases read (their paths), e.g. wa.db beside msgstore.db

    def open(self) -> BinaryIO:
        """A new seekable binary file object over the whole stream."""
        return self._opener()

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def sibling(self, relative: str) -> Sibling | None:
        """The entry at ``relative`` to this entry's folder (``"mmssms.db-wal"``,
        ``"../app_parts/PART_1"``) or at an absolute path; None if there is none."""
        if self._siblings is None:
            return None
        folder = posixpath.dirname(self.path) or "/"
        return self._siblings(posixpath.normpath(posixpath.join(folder, relative)))

    def scratch_dir(self) -> Path:
        """A private folder for scratch copies; removed by the pipeline after the run."""
        if self._scratch is None:
            self._scratch = tempfile.mkdtemp(prefix="devicex-scratch-")
        folder = Path(self._scratch)
        self.scratch_used = True
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @classmethod
    def from_bytes(cls, data: bytes, mime: str = "application/octet-stream") -> ParserContext:
        return cls(lambda: io.BytesIO(data), data[:HEAD_SIZE], mime, len(data))

    @classmethod
    def from_files(cls, path: Path, siblings: dict[str, Path] | None = None, *, entry_path: str | None = None,
                   scratch: Path | None = None, region: str = "GB") -> ParserContext:
        """A context over a file on disk whose siblings are other files, by entry path
        (tests and tools: the same interface the pipeline gives)."""
        table = dict(siblings or {})
        own = entry_path or "/" + path.name
        folder = posixpath.dirname(own)
        for f in path.parent.iterdir():  # files beside it are its siblings unless told otherwise
            if f != path and f.is_file():
                table.setdefault(posixpath.join(folder, f.name), f)

        def find(p: str) -> Sibling | None:
            target = table.get(p)
            if target is None or not target.is_file():
                return None
            return Sibling(p, target.stat().st_size, lambda: open(target, "rb"))

        head = path.read_bytes()[:8192]
        return cls(lambda: open(path, "rb"), head, "application/octet-stream", path.stat().st_size,
                   path=own, siblings=find, scratch=scratch, region=region)


@dataclass(frozen=True)
class ParserSpec:
    name: str
    version: str
    mime_types: frozenset[str]
    extensions: frozenset[str]
    parse: Callable[[Entry, ParserContext], Iterator[Record]]
    paths: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset()  # record types it yields (its module's Record classes)
    siblings: tuple[str, ...] = ()

    def wants(self, mime: str, extension: str, path: str = "") -> bool:
        if mime in self.mime_types or extension in self.extensions:
            return True
        return self.wants_path(path)

    def wants_path(self, path: str) -> bool:
        """True if the parser wants the entry at ``path`` whatever its type (``PATHS``)."""
        return bool(path and self.paths) and self._path_re.match(path) is not None

    def reads_sibling(self, path: str) -> bool:
        """True if the parser may read the content of the entry at ``path`` as a sibling (``SIBLINGS``)."""
        return bool(path and self.siblings) and self._sibling_re.match(path) is not None

    @cached_property
    def _path_re(self) -> re.Pattern[str]:
        return path_patterns(self.paths)

    @cached_property
    def _sibling_re(self) -> re.Pattern[str]:
        return path_patterns(self.siblings)


def path_patterns(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression matching a path that any of ``patterns`` matches (``PATHS``, ``SIBLINGS``)."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))
