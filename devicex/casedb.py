"""The case database (SQLite, ``data/case.db``).

Schema (times are ISO 8601 UTC text ending in ``Z``; NULL means unknown):

* ``meta(key, value)`` -- schema version, tool name and version.
* ``runs`` -- one row per extraction run: case/exhibit refs, examiner,
  parameters (JSON), scope (JSON + SHA-256), start/finish, status.
* ``sources`` -- the evidence container: path, container type, segments,
  size, intake hashes, re-verification hashes and verdict, hashes stored in
  an E01 and whether they matched.
* ``volumes`` -- partitions (or the whole media): table type, offset, length,
  description, allocation, whether it runs past the end of the media, and
  ``recovery``: NULL when the partition table was read as it is, else how
  the volume was found despite a damaged table (``table-entry``: its entry
  read directly after TSK refused the table; ``backup-gpt``; ``signature``:
  a file-system signature found by a scan).
* ``filesystems`` -- file systems opened in a volume: type, block size/count,
  whether the type had to be forced.
* ``files`` -- one row per name (and per NTFS data stream): original path and
  name (``name_hex`` when the raw name was not valid UTF-8), TSK address and
  inode (NULL for sources that are not a file system read by TSK: folders,
  archives), the source's ``locator`` (how it finds the entry again: TSK
  address, archive member number and offset, path in a folder), the archive
  member's ``stored_name`` exactly as stored, ``mtime_local`` (a zone-less
  local time, zip's DOS time, when it is the only time: never turned into
  UTC), ``extra`` (JSON: source-specific metadata, e.g. tar owner names and PAX
  extended attributes, zip extra-field facts), kind, allocation state (allocated/deleted/orphan), realloc flag, size,
  MACB times (+ NTFS $FILE_NAME times), uid/gid/mode, hashes of the bytes
  read, libmagic MIME/description, category, extension mismatch, recovered
  flag, status (ok/guessed/partial/unreadable/no-content/excluded), export path
  relative to ``data/`` and ``byte_runs`` (JSON list of file_offset,
  fs_offset, img_offset and len in bytes, as fiwalk's DFXML; NULL when the
  data is resident in the metadata or not on disk). ``content_guess`` says
  why the content of a deleted entry may not be its own (``no-cluster-chain``:
  a deleted FAT/exFAT file of several clusters, read as if contiguous;
  ``reallocated``: its metadata now belongs to another file); such content
  has status ``guessed`` when read in full and is never counted as recovered.
  ``utc_offsets`` (JSON ``{"mtime": "+03:00", ...}``): the UTC offset the file
  system recorded with each of these times (exFAT), already applied, so the
  times are UTC.
* ``records`` -- parser output: parser, version, record type, primary time,
  JSON data, linked to its file; for a database row also its table and rowid.
* ``record_kinds`` -- each record type's declared schema (JSON: fields, their
  types and roles such as time, participant, text, direction), so renderers
  show any kind of record without knowing the parser.
* ``errors`` -- everything that went wrong, by stage and severity
  (warning = recoverable damage, error = failure for that item).
* ``parser_runs`` -- per run and parser: files seen, records, warnings, failures.
* ``exclusions`` -- per run and scope rule: count and bytes left in the image; rows with a
  ``record_type`` count records a communications selection left behind (``reason`` is
  ``"<record type>: <rule>"``, ``bytes`` 0): never their content.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from devicex.errors import OutputBusy

SCHEMA_VERSION = "2"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT, tool TEXT NOT NULL,
  tool_version TEXT NOT NULL, case_ref TEXT, exhibit_ref TEXT, examiner TEXT,
  params TEXT NOT NULL, settings_sha256 TEXT NOT NULL, scope TEXT, scope_sha256 TEXT,
  full_extraction_reason TEXT, status TEXT);
CREATE TABLE IF NOT EXISTS sources (
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), path TEXT NOT NULL,
  name TEXT NOT NULL, container TEXT NOT NULL, segments TEXT NOT NULL, size INTEGER NOT NULL,
  md5 TEXT, sha1 TEXT, sha256 TEXT, verify_md5 TEXT, verify_sha1 TEXT, verify_sha256 TEXT,
  verified TEXT NOT NULL DEFAULT 'not-run', stored_md5 TEXT, stored_sha1 TEXT, stored_sha256 TEXT,
  stored_check TEXT NOT NULL DEFAULT 'none', ewf_headers TEXT, partition_table TEXT);
CREATE TABLE IF NOT EXISTS volumes (
  id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES sources(id), label TEXT NOT NULL,
  tbl TEXT NOT NULL, addr INTEGER, start INTEGER NOT NULL, length INTEGER NOT NULL,
  sector_size INTEGER NOT NULL, description TEXT, allocated INTEGER NOT NULL, past_end INTEGER NOT NULL,
  recovery TEXT);
CREATE TABLE IF NOT EXISTS filesystems (
  id INTEGER PRIMARY KEY, volume_id INTEGER NOT NULL REFERENCES volumes(id), label TEXT NOT NULL,
  offset INTEGER NOT NULL, fs_type TEXT NOT NULL, block_size INTEGER, block_count INTEGER,
  forced INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS files (
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, source_id INTEGER NOT NULL, fs_id INTEGER NOT NULL,
  volume TEXT NOT NULL, path TEXT NOT NULL, name TEXT NOT NULL, name_hex TEXT, stream TEXT,
  address TEXT, inode INTEGER, kind TEXT NOT NULL, alloc TEXT NOT NULL,
  realloc INTEGER NOT NULL, size INTEGER NOT NULL,
  mtime TEXT, atime TEXT, ctime TEXT, crtime TEXT, fn_mtime TEXT, fn_atime TEXT, fn_ctime TEXT, fn_crtime TEXT,
  uid INTEGER, gid INTEGER, mode INTEGER, link_target TEXT,
  md5 TEXT, sha1 TEXT, sha256 TEXT, bytes_read INTEGER, mime TEXT, magic TEXT, category TEXT,
  extension TEXT, ext_mismatch INTEGER, recovered INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL, export_path TEXT, byte_runs TEXT, content_guess TEXT, locator TEXT, stored_name TEXT,
  mtime_local TEXT, extra TEXT, utc_offsets TEXT);
CREATE INDEX IF NOT EXISTS files_sha256 ON files(sha256);
CREATE INDEX IF NOT EXISTS files_path ON files(path);
CREATE TABLE IF NOT EXISTS records (
  id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id), parser TEXT NOT NULL,
  parser_version TEXT NOT NULL, record_type TEXT NOT NULL, timestamp TEXT, data TEXT NOT NULL,
  source_table TEXT, source_rowid INTEGER);
CREATE INDEX IF NOT EXISTS records_file ON records(file_id);
CREATE INDEX IF NOT EXISTS records_type ON records(record_type);
CREATE TABLE IF NOT EXISTS record_kinds (
  record_type TEXT PRIMARY KEY, parser TEXT NOT NULL, schema TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS errors (
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, source_id INTEGER, volume TEXT, file_id INTEGER,
  path TEXT, stage TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parser_runs (
  run_id INTEGER NOT NULL, parser TEXT NOT NULL, version TEXT NOT NULL, files INTEGER NOT NULL,
  records INTEGER NOT NULL, warnings INTEGER NOT NULL, failures INTEGER NOT NULL,
  PRIMARY KEY (run_id, parser));
CREATE TABLE IF NOT EXISTS exclusions (
  run_id INTEGER NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL,
  record_type TEXT, PRIMARY KEY (run_id, reason));
"""

class FileRow(NamedTuple):
    """One ``files`` row, in column order."""

    id: int
    run_id: int
    source_id: int
    fs_id: int
    volume: str
    path: str
    name: str
    name_hex: str | None
    stream: str | None
    address: str | None
    inode: int | None
    kind: str
    alloc: str
    realloc: int
    size: int
    mtime: str | None
    atime: str | None
    ctime: str | None
    crtime: str | None
    fn_mtime: str | None
    fn_atime: str | None
    fn_ctime: str | None
    fn_crtime: str | None
    uid: int | None
    gid: int | None
    mode: int | None
    link_target: str | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    bytes_read: int | None
    mime: str | None
    magic: str | None
    category: str | None
    extension: str | None
    ext_mismatch: int | None
    recovered: int
    status: str
    export_path: str | None
    byte_runs: str | None
    content_guess: str | None
    locator: str | None
    stored_name: str | None
    mtime_local: str | None
    extra: str | None
    utc_offsets: str | None


class RecordRow(NamedTuple):
    """One ``records`` row."""

    file_id: int
    parser: str
    parser_version: str
    record_type: str
    timestamp: str | None
    data: str
    source_table: str | None = None
    source_rowid: int | None = None


class ErrorRow(NamedTuple):
    """One ``errors`` row: a problem of the run, of a volume or of one file."""

    run_id: int
    source_id: int | None
    volume: str | None
    file_id: int | None
    path: str | None
    stage: str
    severity: str
    message: str


FILE_COLUMNS = FileRow._fields
RECORD_COLUMNS = RecordRow._fields
ERROR_COLUMNS = ErrorRow._fields


_ADDED_COLUMNS = {"files": ("content_guess", "utc_offsets"), "volumes": ("recovery",),
                  "records": ("source_table", "source_rowid INTEGER"), "exclusions": ("record_type",)}


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """A case made by an earlier version gets the optional columns added since (NULL in its rows)."""
    for table, columns in _ADDED_COLUMNS.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for column in columns:
            name, _, kind = column.partition(" ")
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind or 'TEXT'}")


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{Path(path).as_posix()}?mode=ro", uri=True)
    else:
        conn = sqlite3.connect(str(path))
    conn.row_factory = sqlite3.Row
    return conn


FILE_BATCH = 2000  # files (and errors) rows held before they are written in one transaction
RECORD_BATCH = 20_000  # records held before they are written in one transaction


def _insert(table: str, columns: tuple[str, ...]) -> str:
    """The statement inserting a row of ``columns`` (its values in their order) into ``table``."""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


_INSERT_FILES = _insert("files", FILE_COLUMNS)
_INSERT_HELD = _insert("held.files", FILE_COLUMNS)
_INSERT_RECORDS = _insert("records", RECORD_COLUMNS)
_INSERT_ERRORS = _insert("errors", ERROR_COLUMNS)


class CaseDB:
    """Single-writer access to the case database, batching inserts."""

    def __init__(self, path: Path, batch: int | None = None) -> None:
        self.path = path
        self.conn = connect(path)
        self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        # one transaction: each statement on its own would be a commit, and a file sync, of its own
        self.conn.executescript(f"BEGIN;\n{SCHEMA}\nCOMMIT;")
        _add_missing_columns(self.conn)
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        self.conn.commit()
        self._batch = FILE_BATCH if batch is None else batch
        self._files: list[FileRow | tuple[Any, ...]] = []
        self._records: list[RecordRow | tuple[Any, ...]] = []
        self._errors: list[ErrorRow] = []
        row = self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM files").fetchone()
        self._next_file_id = int(row[0]) + 1
        self._lock_fd = -1
        self._hold: Path | None = None  # the scratch database holding files rows ahead of their turn (hold_ahead)
        self._held = 0  # rows in it
        self._hold_attached = False
        self._settled = self._next_file_id - 1  # every files row up to this id has been added (hold_ahead)

    def lock_for_run(self) -> None:
        """Hold the case for one run (an advisory lock on the database file, released when this
        process ends however it ends): a run that finds another run's row ``running`` while it holds
        the lock knows that run is dead. Raises :class:`OutputBusy` if another run holds it."""
        self._lock_fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = -1
            raise OutputBusy(f"{self.path}: another devicex run is writing to this case; wait for it to "
                              "finish") from None

    def next_file_id(self) -> int:
        value = self._next_file_id
        self._next_file_id += 1
        return value

    def insert(self, table: str, row: dict[str, Any]) -> int:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cur = self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))
        self.conn.commit()
        return int(cur.lastrowid or 0)

    def update(self, table: str, row_id: int, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        self.conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?", (*values.values(), row_id))
        self.conn.commit()

    def add_file(self, row: FileRow | tuple[Any, ...]) -> None:
        """A ``files`` row (FileRow, or a plain tuple of its fields in its order), in the order of file ids: every
        row before it has been added (or never will be)."""
        self._settled = max(self._settled, row[0])
        self.add_file_ahead(row)

    def add_file_ahead(self, row: FileRow | tuple[Any, ...]) -> None:
        """A ``files`` row added before rows of lower file ids may be (``hold_ahead``): inserted once ``settle``
        has passed it."""
        self._files.append(row)
        if len(self._files) >= self._batch:
            self.flush()

    def settle(self, file_id: int) -> None:
        """Every ``files`` row up to ``file_id`` has been added (or never will be)."""
        self._settled = max(self._settled, file_id)

    def add_records(self, rows: Iterable[RecordRow | tuple[Any, ...]]) -> None:
        """``records`` rows (RecordRow, or plain tuples of its fields in its order)."""
        self._records.extend(rows)
        if len(self._records) >= RECORD_BATCH:  # records come by the million: fewer, bigger transactions
            self.flush()

    def add_kind(self, record_type: str, parser: str, schema: str) -> None:
        """A record type's declared schema (the first parser to produce it declares it)."""
        self.conn.execute("INSERT OR IGNORE INTO record_kinds VALUES (?, ?, ?)", (record_type, parser, schema))

    def add_error(self, row: ErrorRow) -> None:
        self._errors.append(row)
        if len(self._errors) >= self._batch:
            self.flush()

    def hold_ahead(self, scratch: Path) -> None:
        """From now on ``files`` rows may be added ahead of their turn (``add_file_ahead``); those still ahead of
        ``settle`` when written wait in a private database at ``scratch``, so that every row goes into ``files``
        in the order of file ids, as if added in that order (the same table, laid out the same, and a run that
        stops leaves an unbroken run of rows), whatever order they come in. ``end_hold`` ends it."""
        self._hold = scratch

    def end_hold(self) -> None:
        """Write what is settled; drop the scratch database, and the rows never settled (none, unless the run
        stopped early)."""
        self._files = [row for row in self._files if row[0] <= self._settled]
        try:
            self.flush()
        finally:
            scratch, self._hold, self._held = self._hold, None, 0
            if self._hold_attached:
                self.conn.commit()
                self.conn.execute("DETACH DATABASE held")
                self._hold_attached = False
            if scratch is not None:
                scratch.unlink(missing_ok=True)

    def flush(self) -> None:
        files, settled = self._files, self._settled
        ahead = [row for row in files if row[0] > settled] if self._hold is not None else []
        if ahead and not self._hold_attached:
            self._attach_hold()
        with self.conn:
            if ahead or self._held:
                self._files_held(files, ahead)
            elif files:
                if self._hold is not None:
                    files.sort()  # rows added ahead and since settled among them
                self.conn.executemany(_INSERT_FILES, files)
            for statement, rows in ((_INSERT_RECORDS, self._records), (_INSERT_ERRORS, self._errors)):
                if rows:
                    self.conn.executemany(statement, rows)
        self._files.clear()
        self._records.clear()
        self._errors.clear()

    def _files_held(self, files: list[FileRow | tuple[Any, ...]], ahead: list[FileRow | tuple[Any, ...]]) -> None:
        """The settled rows, held or just added, into ``files`` in the order of their ids, and the rows ahead of
        their turn into the held ones. Few held rows settled (a handful of entries waiting long, the others in
        walk order: ext4): they are taken back and written with the others; many (NTFS: most rows wait): the
        rows just added join them, and they are moved by the index, no row bound from Python values twice."""
        now = [row for row in files if row[0] <= self._settled] if ahead else files
        held = self.conn.execute("SELECT count(*) FROM held.files WHERE id <= ?", (self._settled,)).fetchone()[0]
        if held <= len(now):
            back = [tuple(row) for row in self.conn.execute("SELECT * FROM held.files WHERE id <= ?",
                                                            (self._settled,))]
            self.conn.execute("DELETE FROM held.files WHERE id <= ?", (self._settled,))
            now = sorted([*now, *back])
            self.conn.executemany(_INSERT_FILES, now)
            self._hold_rows(ahead)
            self._held -= len(back)
            return
        self._hold_rows(files)
        moved = self.conn.execute(f"INSERT INTO main.files ({', '.join(FILE_COLUMNS)}) SELECT * FROM held.files "
                                  "WHERE id <= ? ORDER BY id", (self._settled,)).rowcount
        self.conn.execute("DELETE FROM held.files WHERE id <= ?", (self._settled,))
        self._held -= moved

    def _hold_rows(self, rows: list[FileRow | tuple[Any, ...]]) -> None:
        if rows:
            self.conn.executemany(_INSERT_HELD, rows)
            self._held += len(rows)

    def _attach_hold(self) -> None:
        assert self._hold is not None
        self.conn.commit()  # ATTACH is refused inside a transaction
        self._hold.unlink(missing_ok=True)
        self.conn.execute("ATTACH DATABASE ? AS held", (str(self._hold),))
        self.conn.execute("PRAGMA held.journal_mode = OFF")  # scratch, deleted at the end of the run
        self.conn.execute("PRAGMA held.synchronous = OFF")
        self.conn.execute(f"CREATE TABLE held.files ({', '.join(FILE_COLUMNS)})")  # rows in the order they came
        self.conn.execute("CREATE INDEX held.files_id ON files(id)")
        self._hold_attached = True

    def drop_pending(self) -> None:
        """Forget rows not yet written (the output cannot take them), held ones too."""
        self._files.clear()
        self._records.clear()
        self._errors.clear()
        self._hold, self._held = None, 0

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.conn.close()
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1
