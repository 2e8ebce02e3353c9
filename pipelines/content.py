"""Lazy, counted access to one stream's content while deciding whether to take it."""
from __future__ import annotations

from collections.abc import Iterator

from devicex.entries import BytesContent, ContentReader, Entry
from devicex.errors import one_line
from devicex.filetype import HEAD_SIZE, WHOLE_FILE_LIMIT, WHOLE_FILE_TYPES, FileType, identify
from devicex.hashing import CHUNK


class Content:
    """Lazy, counted access to one stream for selection.

    ``head(n)`` reads the first ``n`` bytes once; ``chunks()`` streams the whole
    content once (keeping a copy in ``memory`` when the stream is at most
    ``keep`` bytes). ``bytes_read`` counts what was read from the image;
    ``error`` holds the first read failure.
    """

    def __init__(self, entry: Entry, reader: ContentReader | None, keep: int = 0) -> None:
        self.entry = entry
        self.size = entry.size if reader is not None else 0
        self._reader = reader
        self._keep = keep
        self._head = b""
        self._head_want = 0
        self._ftype: FileType | None = None
        self.memory: bytes | None = None  # whole stream, when read completely and small enough
        self.bytes_read = 0
        self.error: str | None = None if reader is not None else "no content available"

    @classmethod
    def from_bytes(cls, entry: Entry, data: bytes) -> Content:
        c = cls(entry, BytesContent(data), keep=len(data))
        c.size = len(data)
        return c

    def _read(self, offset: int, size: int) -> bytes:
        if self._reader is None or size <= 0:
            return b""
        try:
            data = self._reader.read(offset, size)
        except OSError as exc:
            self.error = self.error or one_line(exc)
            return b""
        self.bytes_read += len(data)
        return data

    def head(self, n: int = HEAD_SIZE) -> bytes:
        n = min(n, self.size)
        if n > self._head_want:
            more = b""
            if len(self._head) == self._head_want:  # no short read so far
                more = self._read(len(self._head), n - len(self._head))
            self._head += more
            self._head_want = n
        return self._head[:n]

    @property
    def ftype(self) -> FileType:
        if self._ftype is None:
            self._ftype = identify(self.head(HEAD_SIZE)[:HEAD_SIZE], self.entry.extension)
            if self._ftype.mime in WHOLE_FILE_TYPES and self.size <= WHOLE_FILE_LIMIT:
                whole = self.head(self.size)  # an OLE document is typed on all of it, as file(1) does
                if len(whole) == self.size:
                    self._ftype = identify(whole, self.entry.extension, whole=True)
        return self._ftype

    def chunks(self) -> Iterator[bytes]:
        """The whole stream once, in chunks (reusing the head already read)."""
        keep = bytearray() if self.size <= self._keep else None
        offset = 0
        complete = True
        while offset < self.size:
            if offset < len(self._head):
                data = self._head[offset:offset + CHUNK]
            else:
                data = self._read(offset, min(CHUNK, self.size - offset))
            if not data:
                complete = False
                break
            if keep is not None:
                keep += data
            offset += len(data)
            yield data
        if keep is not None and complete and self.error is None:
            self.memory = bytes(keep)

    def reader(self, original: ContentReader | None) -> ContentReader | None:
        """What the worker should read the stream from next: memory if the
        whole stream is already there, else the original reader."""
        if self.memory is not None and len(self.memory) == self.size:
            return BytesContent(self.memory)
        return original
