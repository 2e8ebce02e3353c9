"""Parser records on their way from a worker to the case database, in bounded memory.

A worker serialises each record as it is yielded (the case-database row less its
file id). Up to :data:`IN_MEMORY` rows travel back with the worker's result; past
that, every row (the first ones too, so the spool holds them all, in order) is
appended in frames of :data:`BATCH` rows to a spool file in the run's staging
folder, which the single writer streams into ``case.db`` frame by frame and then
deletes. A frame is a length and a pickled batch, written whole and flushed, so
the writer may read the frames already written while the parser is still running
(see :meth:`pipelines.store.ResultWriter.tail`). A parser's records are thus never
all in memory, in the worker or in the writer, whatever their number.
"""
from __future__ import annotations

import pickle
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devicex.records import Record, schema_json, serialise

IN_MEMORY = 1000   # rows kept in the result before spooling starts
BATCH = 5000       # rows per spooled batch (and per writer transaction)

Row = tuple[str, "str | None", str, "str | None", "int | None"]  # type, time, data JSON, table, rowid


def to_row(record: Record) -> Row:
    prov = record.provenance
    data, time = serialise(record)
    return (record.record_type, time, data, prov.table, prov.rowid)


class RecordSink:
    """Collects one parser's rows for one stream; spools past :data:`IN_MEMORY`."""

    def __init__(self, spool: str | Path) -> None:
        self.rows: list[Row] = []
        self.count = 0
        self.kinds: dict[str, str] = {}  # record type -> schema JSON
        self.spool: Path | None = None
        self._spool_path = spool
        self._pending: list[Row] = []

    def add(self, record: Record) -> None:
        if record.record_type not in self.kinds:
            self.kinds[record.record_type] = schema_json(type(record))
        row = to_row(record)
        self.count += 1
        if self.spool is None:
            self.rows.append(row)
            if len(self.rows) > IN_MEMORY:  # too many to carry: all of them go to the spool, in order
                self._pending, self.rows = self.rows, []
                self._spill()
            return
        self._pending.append(row)
        if len(self._pending) >= BATCH:
            self._spill()

    def _spill(self) -> None:
        if not self._pending:
            return
        if self.spool is None:
            self.spool = Path(self._spool_path)  # (made only now: most sinks never spool)
            self.spool.parent.mkdir(parents=True, exist_ok=True)
        blob = pickle.dumps(self._pending, protocol=pickle.HIGHEST_PROTOCOL)
        with open(self.spool, "ab") as fh:
            fh.write(_LENGTH.pack(len(blob)) + blob)
        self._pending = []

    def close(self) -> None:
        self._spill()


_LENGTH = struct.Struct("<Q")


def spooled(path: Path, offset: int = 0) -> Iterator[tuple[list[Any], int]]:
    """The complete frames of the spool ``path`` from ``offset`` (a file written by
    :class:`RecordSink`, perhaps still being written), each batch with the offset after it."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        while True:
            head = fh.read(_LENGTH.size)
            if len(head) < _LENGTH.size:
                return
            (size,) = _LENGTH.unpack(head)
            blob = fh.read(size)
            if len(blob) < size:  # a frame still being written: read again later
                return
            offset += _LENGTH.size + size
            yield pickle.loads(blob), offset
