"""Parser records on their way from a worker to the case database, in bounded memory.

A worker serialises each record as it is yielded (the case-database row less its
file id). The first :data:`IN_MEMORY` rows travel back with the worker's result;
beyond that they are appended in batches to a spool file in the worker's staging
folder, which the single writer streams into ``case.db`` batch by batch and then
deletes. A parser's records are thus never all in memory, in the worker or in the
writer, whatever their number.
"""
from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devicex.records import Record, canonical_json
from devicex.timeutil import iso

IN_MEMORY = 1000   # rows kept in the result before spooling starts
BATCH = 5000       # rows per spooled batch (and per writer transaction)

Row = tuple[str, "str | None", str, "str | None", "int | None"]  # type, time, data JSON, table, rowid


def to_row(record: Record) -> Row:
    prov = record.provenance
    return (record.record_type, iso(record.primary_time()), canonical_json(record.data()), prov.table, prov.rowid)


class RecordSink:
    """Collects one parser's rows for one stream; spools past :data:`IN_MEMORY`."""

    def __init__(self, spool: Path) -> None:
        self.rows: list[Row] = []
        self.count = 0
        self.kinds: dict[str, str] = {}  # record type -> schema JSON
        self.spool: Path | None = None
        self._spool_path = spool
        self._pending: list[Row] = []

    def add(self, record: Record) -> None:
        if record.record_type not in self.kinds:
            self.kinds[record.record_type] = canonical_json(type(record).schema())
        row = to_row(record)
        self.count += 1
        if self.spool is None and len(self.rows) < IN_MEMORY:
            self.rows.append(row)
            return
        self._pending.append(row)
        if len(self._pending) >= BATCH:
            self._spill()

    def _spill(self) -> None:
        if not self._pending:
            return
        if self.spool is None:
            self._spool_path.parent.mkdir(parents=True, exist_ok=True)
            self.spool = self._spool_path
        with open(self.spool, "ab") as fh:
            pickle.dump(self._pending, fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending = []

    def close(self) -> None:
        self._spill()


def spooled(path: Path) -> Iterator[list[Any]]:
    """The spooled batches of ``path``, in order (a file written by :class:`RecordSink`)."""
    with open(path, "rb") as fh:
        while True:
            try:
                yield pickle.load(fh)
            except EOFError:
                return
