"""Parsers' sibling entries in a streamed view (a tar, read in one pass).

A streamed member cannot be opened again by path once the walk has gone past it,
and in an archive a database may come before its ``-wal`` or its attachments.
So, for each streamed view:

* every regular member's path and size are indexed (an attachment is found by
  path; the index is an SQLite file in a private scratch folder, so memory
  does not grow with the archive; a name met twice is the later member, as an
  extraction of the archive would leave it);
* the content of a member a parser may read as a sibling (a ``-wal`` or
  ``-journal`` of a database a parser wants, what parsers list in ``SIBLINGS``)
  is kept as a private scratch copy while it streams past;
* an entry a parser wants by path (its database) is kept the same way and is
  processed (hashed, exported, parsed) once the view's walk has ended, when
  every sibling has passed.

Nothing is decompressed twice. A member whose content is not kept is still a
sibling by path and size; opening it is a clear error naming it.
"""
from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import BinaryIO

import parsers
from devicex.entries import KIND_FILE, BytesContent, ContentReader, Entry
from devicex.errors import one_line
from devicex.hashing import CHUNK
from devicex.parsing import Sibling
from devicex.sqlitedb import LOGS
from pipelines.readerio import open_reader


class KeptContent:
    """A member's bytes as copied while it streamed past; if the copy stopped at damage, reading past
    what was copied raises that damage again (so it is reported as it would have been)."""

    def __init__(self, path: Path, copied: int, failure: str | None) -> None:
        self.path, self.copied, self.failure = path, copied, failure

    def read(self, offset: int, size: int) -> bytes:
        if offset >= self.copied and self.failure:
            raise OSError(self.failure)
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            return fh.read(min(size, self.copied - offset))


def _content_wanted(path: str) -> tuple[bool, bool]:
    """(keep its content, defer its processing) for a member at ``path``."""
    specs = parsers.registry()
    if any(spec.wants_path(path) for spec in specs):
        return True, True
    if any(spec.reads_sibling(path) for spec in specs):
        return True, False
    base = next((path[: -len(s)] for s in LOGS if path.endswith(s)), None)
    if base and any(spec.wants_path(base) or spec.reads_sibling(base) for spec in specs):
        return True, False
    return False, False


class StreamedSiblings:
    """The sibling index and kept copies of one streamed view (see the module docstring)."""

    def __init__(self) -> None:
        # outside the output folder: a database taken for selected records only never reaches OUT,
        # not even as a temporary copy
        folder = self.folder = Path(tempfile.mkdtemp(prefix="devicex-streamed-"))
        self._index = sqlite3.connect(folder / "index.db")
        self._index.execute("PRAGMA journal_mode=OFF")
        self._index.execute("PRAGMA synchronous=OFF")
        self._index.execute("CREATE TABLE members (path TEXT PRIMARY KEY, size INTEGER, copy TEXT)")
        self._kept = 0

    def take(self, entry: Entry, reader: ContentReader | None, included: bool) -> tuple[ContentReader | None, bool]:
        """Index one walked entry, keep its content if a parser may want it later; the reader to
        process it with now (its kept copy once the content has been read), and whether its
        processing waits for the end of the view (``included``: the scope has not excluded it)."""
        if entry.kind != KIND_FILE or reader is None:
            return reader, False
        keep, defer = _content_wanted(entry.path)
        defer = defer and included
        copy: str | None = None
        if keep and (defer or not isinstance(reader, BytesContent)):
            kept = self._keep(reader, entry.size)
            copy, reader = kept.path.name, kept
        elif keep:
            assert isinstance(reader, BytesContent)
            copy = self._write(reader.data)
        self._index.execute("INSERT OR REPLACE INTO members VALUES (?, ?, ?)", (entry.path, entry.size, copy))
        return reader, defer

    def find(self, volume: str, path: str) -> Sibling | None:
        """The member at ``path`` (``WorkerSettings.siblings``), None if the archive has none there."""
        row = self._index.execute("SELECT size, copy FROM members WHERE path = ?", (path,)).fetchone()
        if row is None:
            return None
        size, copy = int(row[0]), row[1]
        if copy is None:
            return Sibling(path, size, lambda: _not_kept(path))
        kept = self.folder / copy
        copied = kept.stat().st_size
        return Sibling(path, copied, lambda: open_reader(KeptContent(kept, copied, None), copied))

    def close(self) -> None:
        self._index.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _name(self) -> Path:
        self._kept += 1
        return self.folder / f"{self._kept}.member"

    def _write(self, data: bytes) -> str:
        target = self._name()
        target.write_bytes(data)
        return target.name

    def _keep(self, reader: ContentReader, size: int) -> KeptContent:
        """Copy a member's content as it streams past (until its end, or damage)."""
        target = self._name()
        copied, failure = 0, None
        with open(target, "wb") as out:
            while copied < size:
                try:
                    data = reader.read(copied, min(CHUNK, size - copied))
                except OSError as exc:
                    failure = one_line(exc)
                    break
                if not data:
                    break
                out.write(data)
                copied += len(data)
        return KeptContent(target, copied, failure)


def _not_kept(path: str) -> BinaryIO:
    raise OSError(f"{path}: a streamed archive member whose content no parser declared it reads "
                  "(SIBLINGS) is not kept")

