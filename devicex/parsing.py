"""The parser contract (artefact-agnostic).

A parser is a module in the ``parsers`` package exposing::

    NAME: str                 # unique, e.g. "exif"
    VERSION: str
    MIME_TYPES: frozenset[str] # signatures it wants (libmagic MIME types)
    EXTENSIONS: frozenset[str] # optional: extensions it wants even if MIME differs
    def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]

It is a pure generator: it reads through ``ctx``, yields records, and reports
recoverable damage with ``ctx.warn`` (or by raising :class:`~devicex.errors.Damage`
after yielding what it could). It raises :class:`~devicex.errors.NotMyFormat`
when the content is not its format. It prints nothing and writes nothing.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from devicex.entries import Entry
from devicex.filetype import HEAD_SIZE
from devicex.records import Record


class ParserContext:
    """What a parser may use: the stream's bytes (seekable), type and warnings."""

    def __init__(self, opener: Callable[[], BinaryIO], head: bytes, mime: str, size: int) -> None:
        self._opener = opener
        self.head = head
        self.mime = mime
        self.size = size
        self.warnings: list[str] = []

    def open(self) -> BinaryIO:
        """A new seekable binary file object over the whole stream."""
        return self._opener()

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    @classmethod
    def from_bytes(cls, data: bytes, mime: str = "application/octet-stream") -> "ParserContext":
        return cls(lambda: io.BytesIO(data), data[:HEAD_SIZE], mime, len(data))


@dataclass(frozen=True)
class ParserSpec:
    name: str
    version: str
    mime_types: frozenset[str]
    extensions: frozenset[str]
    parse: Callable[[Entry, ParserContext], Iterator[Record]]

    def wants(self, mime: str, extension: str) -> bool:
        return mime in self.mime_types or extension in self.extensions
