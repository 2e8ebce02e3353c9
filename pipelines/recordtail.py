"""The records of big streams, read from their spools while their parsers still run.

A worker parsing a big database spools its records in frames (:mod:`pipelines.recordsink`). The writer
reads those frames while the parser runs, so that it works beside the parsers instead of after them:

* the stream next due in walk order (everything before it written): its frames go straight into ``records``;
* a stream not yet due (another big one before it is still being parsed): its frames go into a table of its
  own in a private staging database beside the case, with no index, and when the stream comes due they are
  copied into ``records`` in one statement, in their order, before the frames still to come.

Either way the rows of ``records`` are those, in the order, that writing each result after its parser
finished would give; what this saves is the writer's time after the last parser has finished.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

from devicex.casedb import RECORD_COLUMNS, CaseDB
from devicex.parsing import ParserSpec
from pipelines.exportfile import STAGING
from pipelines.recordsink import spooled

_DATA_COLUMNS = RECORD_COLUMNS[3:]  # what a spooled row holds: type, time, data, table, rowid


class SpoolTail:
    """Frames of first-parser spools read ahead of their results, per file id."""

    def __init__(self, db: CaseDB, specs: Mapping[str, ParserSpec]) -> None:
        self.db, self._specs = db, specs
        self._folder = db.path.parent / STAGING / "records"
        self._read: dict[int, tuple[Path, int]] = {}  # file id -> (spool, offset of the frames not yet taken)
        self._staged: set[int] = set()  # file ids with frames in the staging database
        self._attached = False

    def write(self, file_id: int) -> None:
        """The stream is due: its staged rows, then the frames spooled since, into ``records``."""
        found = self._spool(file_id)
        if found is None:
            return
        path, spec = found
        self._unstage(file_id, spec)
        for batch, end in spooled(path, self._read[file_id][1]):
            self.db.add_records([(file_id, spec.name, spec.version, *row) for row in batch])
            self._read[file_id] = (path, end)

    def stage(self, file_id: int) -> None:
        """The stream is not yet due: the frames spooled so far into its staging table."""
        found = self._spool(file_id)
        if found is None:
            return
        path, _spec = found
        columns = ", ".join(_DATA_COLUMNS)
        for batch, end in spooled(path, self._read[file_id][1]):
            conn = self._staging()
            with conn:
                conn.execute(f"CREATE TABLE IF NOT EXISTS staged.f{file_id} ({columns})")
                conn.executemany(f"INSERT INTO staged.f{file_id} VALUES ({', '.join('?' * len(_DATA_COLUMNS))})",
                                 batch)
            self._staged.add(file_id)
            self._read[file_id] = (path, end)

    def resume(self, file_id: int, spool: Path, spec: ParserSpec) -> int:
        """The result of ``file_id`` has come: its staged rows into ``records``; returns the offset in its
        ``spool`` from which the frames are still to be written (0 if none was read ahead)."""
        known = self._read.pop(file_id, None)
        if known is None or known[0].name != spool.name:
            return 0
        self._unstage(file_id, spec)
        return known[1]

    def close(self) -> None:
        if self._attached:
            self.db.conn.commit()
            self.db.conn.execute("DETACH DATABASE staged")
            self._attached = False
            (self._folder / "staged.sqlite").unlink(missing_ok=True)

    def _spool(self, file_id: int) -> tuple[Path, ParserSpec] | None:
        known = self._read.get(file_id)
        if known is None:
            found = sorted(self._folder.glob(f"{file_id}-0-*.records"))
            if not found:
                return None
            known = self._read[file_id] = (found[0], 0)
        spec = self._specs.get(known[0].stem.split("-", 2)[2])
        return None if spec is None else (known[0], spec)

    def _unstage(self, file_id: int, spec: ParserSpec) -> None:
        if file_id not in self._staged:
            return
        self.db.flush()  # every row before these first
        columns = ", ".join(_DATA_COLUMNS)
        with self.db.conn:
            self.db.conn.execute(
                f"INSERT INTO main.records ({', '.join(RECORD_COLUMNS)}) "
                f"SELECT ?, ?, ?, {columns} FROM staged.f{file_id} ORDER BY rowid",
                (file_id, spec.name, spec.version))
            self.db.conn.execute(f"DROP TABLE staged.f{file_id}")
        self._staged.discard(file_id)

    def _staging(self) -> sqlite3.Connection:
        conn = self.db.conn
        if not self._attached:
            self.db.flush()
            conn.commit()  # ATTACH is refused inside a transaction
            conn.execute("ATTACH DATABASE ? AS staged", (str(self._folder / "staged.sqlite"),))
            conn.execute("PRAGMA staged.journal_mode = OFF")  # scratch, deleted at the end of the run
            conn.execute("PRAGMA staged.synchronous = OFF")
            self._attached = True
        return conn
