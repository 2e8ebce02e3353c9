"""SQLite databases for parsers: private scratch copies, read with and without
their write-ahead log or rollback journal.

The evidence (and the exported copy whose hash is in the custody log) is never
opened by SQLite: the stream and its ``-wal``/``-journal`` siblings are copied
into the context's scratch folder. The copy WITH the log is the database as the
app would see it now; a second copy of the main file alone (opened immutable,
so no log is applied) is attached as ``nowal``. Rows a query finds only in the
``nowal`` view were deleted or changed since the last checkpoint: parsers get
them marked :data:`~devicex.comms.DELETED_WAL`.

Schema drift is tolerated: :meth:`Database.columns` gives every wanted column,
as ``NULL`` when the table lacks it, with one warning naming what was missing.
A corrupt or non-SQLite file raises :class:`~devicex.errors.Damage` (one
warning for the file, the run goes on).
"""
from __future__ import annotations

import posixpath
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, ClassVar

from devicex.entries import Entry
from devicex.errors import Damage, NotMyFormat
from devicex.parsing import ParserContext
from devicex.records import Provenance, Record

MAGIC = b"SQLite format 3\x00"
LOGS = ("-wal", "-journal")
NOWAL = "nowal"
GAP_LIST = 20  # gap ranges listed per table (all are counted)
_COPY = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class TableReport(Record):
    """Rows of one database table as read: live rows, rows present only without the
    log, and gaps in its row ids (deleted rows leave them)."""

    table: str
    rows: int
    rows_only_without_log: int | None
    max_rowid: int | None
    sequence: int | None
    missing_rowids: int
    gaps: tuple[str, ...]

    record_type: ClassVar[str] = "sqlite_table"
    label: ClassVar[str] = "Database table"
    roles: ClassVar[dict[str, str]] = {"table": "title", "rows": "count"}


class Database:
    """Scratch copies of one SQLite database; use as a context manager."""

    def __init__(self, ctx: ParserContext, name: str, opener: Callable[[], BinaryIO], head: bytes,
                 provenance: Provenance) -> None:
        if not head.startswith(MAGIC):
            if head[:16].startswith(b"SQLite format"):
                raise Damage(f"{name}: SQLite header damaged")
            raise Damage(f"{name}: not an SQLite database (no SQLite header)")
        self.ctx, self.name, self._opener = ctx, name, opener
        self.provenance = provenance
        self._dir = Path(ctx.scratch_dir()) / f"sqlite-{id(self):x}"
        self.logs: list[str] = []
        self._warned: set[str] = set()
        self._columns: dict[tuple[str, str], list[str]] = {}
        self.conn = self._open()

    # ------------------------------------------------------------------ opening
    def _open(self) -> sqlite3.Connection:
        live, main_only = self._dir / "live", self._dir / "main"
        live.mkdir(parents=True)
        with self._opener() as src:
            _copy(src, live / self.name)
        for suffix in LOGS:
            sib = self.ctx.sibling(self.name + suffix)
            if sib is not None and sib.size > 0:
                with sib.open() as src:
                    _copy(src, live / (self.name + suffix))
                self.logs.append(suffix.lstrip("-"))
        try:
            conn = sqlite3.connect(f"file:{(live / self.name).as_posix()}", uri=True)
            conn.execute("PRAGMA temp_store=FILE")
            conn.execute("PRAGMA cache_size=-16000")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a hot journal is rolled back here
            conn.execute("PRAGMA query_only=1")
            if self.logs:
                main_only.mkdir()
                with self._opener() as src:  # the main file as found, before any log was applied
                    _copy(src, main_only / self.name)
                conn.execute(f"ATTACH DATABASE ? AS {NOWAL}",
                             (f"file:{(main_only / self.name).as_posix()}?immutable=1",))
                conn.execute(f"SELECT count(*) FROM {NOWAL}.sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise Damage(f"database unreadable: {exc}") from None
        return conn

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def has_log(self) -> bool:
        return bool(self.logs)

    # ------------------------------------------------------------------ schema
    def tables(self, schema: str = "main") -> set[str]:
        return {r[0] for r in self.conn.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type IN "
                                                "('table', 'view')")}

    def has(self, table: str) -> bool:
        return table in self.tables()

    def table_columns(self, table: str, schema: str = "main") -> list[str]:
        key = (schema, table)
        if key not in self._columns:
            rows = self.conn.execute(f"PRAGMA {schema}.table_info({_quote(table)})").fetchall()
            self._columns[key] = [r[1] for r in rows]
        return self._columns[key]

    def columns(self, table: str, wanted: Sequence[str], alias: str | None = None,
                optional: Sequence[str] = ()) -> str:
        """A select list of ``wanted`` columns of ``table`` (qualified by ``alias``):
        absent ones as ``NULL AS name``, named once in a warning unless ``optional``
        (columns that some versions of the app never had). Columns are those both
        views share when the log changed the schema."""
        present = set(self.table_columns(table))
        if self.has_log and table in self.tables(NOWAL):
            present &= set(self.table_columns(table, NOWAL))
        missing = [c for c in wanted if c not in present and c not in optional]
        if missing:
            self.warn(f"table {table} lacks column(s) {', '.join(missing)}: parsed without them")
        prefix = f"{alias}." if alias else ""
        return ", ".join(f"{prefix}{_quote(c)} AS {_quote(c)}" if c in present else f"NULL AS {_quote(c)}"
                         for c in wanted)

    def require(self, *tables: str) -> bool:
        """True if every table exists; else one warning naming the missing ones."""
        missing = [t for t in tables if not self.has(t)]
        if missing:
            self.warn(f"table(s) {', '.join(missing)} missing: not parsed")
        return not missing

    def warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self.ctx.warn(f"{self.name}: {message}")

    # ------------------------------------------------------------------ reading
    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[sqlite3.Row, str | None]]:
        """``sql`` (its tables written ``{db}.table``) on the live view, each row with
        ``None``; then, when a log was applied, the rows the same query finds only in
        the main file alone, with the reason they are shown."""
        from devicex.comms import DELETED_WAL

        self.conn.row_factory = sqlite3.Row
        try:
            for row in self.conn.execute(sql.format(db="main"), params):
                yield row, None
            if self.has_log:
                query = f"{sql.format(db=NOWAL)} EXCEPT {sql.format(db='main')}"
                for row in self.conn.execute(query, (*params, *params)):
                    yield row, DELETED_WAL
        except sqlite3.DatabaseError as exc:
            raise Damage(f"{self.name}: database unreadable while reading: {exc}") from None

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            row = self.conn.execute(sql, params).fetchone()
        except sqlite3.DatabaseError:
            return None
        return row[0] if row else None

    def table_report(self, table: str) -> TableReport | None:
        """Row count, rows only in the main file, and row-id gaps of ``table``."""
        if not self.has(table):
            return None
        q = _quote(table)
        try:
            count = int(self.value(f"SELECT count(*) FROM main.{q}") or 0)
            max_rowid = self.value(f"SELECT max(rowid) FROM main.{q}")
            seq = self.value("SELECT seq FROM main.sqlite_sequence WHERE name = ?", (table,)) \
                if self.has("sqlite_sequence") else None
            gaps: list[str] = []
            missing = 0
            sql = (f"SELECT rowid + 1, nxt - 1 FROM (SELECT rowid, lead(rowid) OVER (ORDER BY rowid) AS nxt "
                   f"FROM main.{q}) WHERE nxt > rowid + 1")
            first = self.value(f"SELECT min(rowid) FROM main.{q}")
            if first is not None and first > 1:
                gaps.append(_range(1, first - 1))
                missing += first - 1
            for lo, hi in self.conn.execute(sql):
                missing += hi - lo + 1
                if len(gaps) < GAP_LIST:
                    gaps.append(_range(lo, hi))
            if seq is not None and max_rowid is not None and seq > max_rowid:
                missing += seq - max_rowid
                gaps.append(_range(max_rowid + 1, seq))
            only_main = None
            if self.has_log and table in self.tables(NOWAL):
                only_main = int(self.value(f"SELECT count(*) FROM (SELECT * FROM {NOWAL}.{q} "
                                           f"EXCEPT SELECT * FROM main.{q})") or 0) \
                    if self.table_columns(table) == self.table_columns(table, NOWAL) else \
                    int(self.value(f"SELECT count(*) FROM {NOWAL}.{q} WHERE rowid NOT IN "
                                   f"(SELECT rowid FROM main.{q})") or 0)
        except sqlite3.DatabaseError as exc:
            self.warn(f"table {table} unreadable: {exc}")
            return None
        return TableReport(provenance=self.provenance.row(table, None), table=table, rows=count,
                           rows_only_without_log=only_main, max_rowid=max_rowid, sequence=seq,
                           missing_rowids=missing, gaps=tuple(gaps))


def open_database(entry: Entry, ctx: ParserContext) -> Database:
    """The database behind ``ctx`` (NotMyFormat if the stream is empty)."""
    if ctx.size == 0:
        raise NotMyFormat("empty file")
    return Database(ctx, entry.name, ctx.open, ctx.head, Provenance.from_entry(entry))


def open_sibling(entry: Entry, ctx: ParserContext, relative: str) -> Database | None:
    """Another database beside (or relative to) the entry, e.g. WhatsApp's ``wa.db``, read
    the same way (with its own log); None if absent or empty. Its records' provenance
    names the sibling's path."""
    sib = ctx.sibling(relative)
    if sib is None or sib.size == 0:
        return None
    with sib.open() as fh:
        head = fh.read(100)
    name = posixpath.basename(sib.path)
    ctx.databases.append(sib.path)  # recorded (path and hashes) when only selected records are taken
    prov = Provenance(entry.source, entry.volume, "", sib.path)
    return Database(ctx, name, sib.open, head, prov)


def _copy(src: BinaryIO, target: Path) -> None:
    with open(target, "wb") as out:
        shutil.copyfileobj(src, out, _COPY)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _range(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"
