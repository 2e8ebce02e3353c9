"""A stream as a seekable binary file object, for parsers: over its reader, its bytes kept in memory, or its
exported copy."""
from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

from devicex.entries import ContentReader
from devicex.hashing import CHUNK


class _ReaderIO(io.RawIOBase):
    """A seekable raw stream over a ContentReader (for big files' parsers)."""

    def __init__(self, reader: ContentReader, size: int) -> None:
        self._reader, self._size, self._pos = reader, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buf), self._size - self._pos)
        if want <= 0:
            return 0
        data = self._reader.read(self._pos, want)
        buf[: len(data)] = data
        self._pos += len(data)
        return len(data)


def open_reader(reader: ContentReader, size: int) -> BinaryIO:
    """A seekable binary file object over a ContentReader."""
    return io.BufferedReader(_ReaderIO(reader, size), CHUNK)


def open_for_parsers(memory: bytearray | None, exported: str | None, reader: ContentReader,
                     size: int) -> Callable[[], BinaryIO]:
    """How a stream's parsers open it: from memory when it is kept there, else its export, else its reader."""
    if memory is not None:
        frozen = bytes(memory)
        return lambda: io.BytesIO(frozen)
    if exported is not None:
        return lambda: open(exported, "rb")
    return lambda: io.BufferedReader(_ReaderIO(reader, size))
