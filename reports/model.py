"""Read-only view of a finished case folder or bundle, for the report renderers.

A case is the output folder of ``devicex extract`` (or a sealed BagIt bundle
of it): ``data/case.db``, exported files under ``data/`` and ``custody.jsonl``.
Nothing here opens the evidence image; the database is opened read-only.

Every string read here comes from evidence or from a file that could have
been edited: renderers escape it for their own output format.
"""
from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devicex import TOOL_NAME, __version__
from devicex.casedb import connect
from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import GENESIS, read_chain
from reports.cameratime import DeviceZone, check_zone, converted, found_on_device

REPORT_DIR = "report"
EXPORT_DIR = "export"

# Timeline codes for file-system times, in the order mactime prints them.
FS_TIMES = (
    ("mtime", "M", "Modified"), ("atime", "A", "Accessed"), ("ctime", "C", "Changed (metadata)"),
    ("crtime", "B", "Born (created)"),
    ("fn_mtime", "FN-M", "$FILE_NAME modified"), ("fn_atime", "FN-A", "$FILE_NAME accessed"),
    ("fn_ctime", "FN-C", "$FILE_NAME changed"), ("fn_crtime", "FN-B", "$FILE_NAME born"),
)


class CaseError(Exception):
    """The given path is not a readable, finished devicex case."""


@dataclass(frozen=True)
class Event:
    """One timeline event: a UTC time of one file or one parser record."""

    time: str          # ISO 8601 UTC text ending in Z
    file_id: int
    path: str          # volume + full path (with :stream)
    code: str          # "M", "A", "C", "B", "FN-M"..., or "<parser>:<field>"
    description: str   # human-readable meaning of the time
    source: str        # "file system" or the parser's name


@dataclass
class CustodyView:
    entries: list[dict[str, Any]] = field(default_factory=list)
    chain_ok: bool = True
    problem: str | None = None
    head: str = GENESIS


def generated_time() -> str:
    """The one rendering time recorded in a report (SOURCE_DATE_EPOCH wins)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        moment = datetime.fromtimestamp(int(epoch), UTC)
    else:
        moment = datetime.now(UTC).replace(microsecond=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def locate(path: Path) -> Path:
    """The case root (the folder holding ``data/case.db``) for a case folder,
    bundle, its ``data`` folder or the ``case.db`` file itself."""
    path = Path(path)
    candidates = [path, path.parent] if path.name != "case.db" else [path.parent.parent]
    if path.name == "data":
        candidates.insert(0, path.parent)
    for root in candidates:
        if (root / "data" / "case.db").is_file():
            return root
    raise CaseError(f"{path}: not a devicex case folder or bundle (no data/case.db)")


class Case:
    """A finished case, opened read-only."""

    def __init__(self, path: Path, generated: str | None = None, timezone: str | None = None) -> None:
        self.root = locate(path).resolve()
        self.data_dir = self.root / "data"
        self.db_path = self.data_dir / "case.db"
        try:
            self.conn = connect(self.db_path, readonly=True)
            self.conn.execute("SELECT count(*) FROM files").fetchone()
        except sqlite3.DatabaseError as exc:
            raise CaseError(f"{self.db_path}: cannot read the case database: {exc}") from None
        self.generated = generated or generated_time()
        self.tool = f"{TOOL_NAME} {__version__}"
        self.sealed = (self.root / "bagit.txt").is_file()
        self._custody: CustodyView | None = None
        unfinished = self.conn.execute("SELECT count(*) FROM runs WHERE finished IS NULL").fetchone()[0]
        if unfinished:
            raise CaseError(f"{self.root}: extraction not finished (run still marked running)")
        self.zone = self._zone(timezone)
        self.conn.create_function("camera_utc", 1, self._camera_utc, deterministic=True)

    def _zone(self, given: str | None) -> DeviceZone | None:
        """The device's time zone: given to ``report``, else given to ``extract``, else found on the device."""
        if given:
            return DeviceZone(check_zone(given), "given by the examiner (devicex report --timezone)")
        try:
            at_extract = json.loads(self.first_run().get("params") or "{}").get("timezone")
        except (ValueError, AttributeError):
            at_extract = None
        if isinstance(at_extract, str) and at_extract:
            return DeviceZone(check_zone(at_extract), "given by the examiner (devicex extract --timezone)")
        return found_on_device(self)

    def _camera_utc(self, local: object) -> str | None:
        conv = converted(local if isinstance(local, str) else None, self.zone)
        return conv[0] if conv else None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def report_dir(self) -> Path:
        return self.data_dir / REPORT_DIR

    @property
    def export_dir(self) -> Path:
        return self.data_dir / EXPORT_DIR

    # ------------------------------------------------------------------ tables
    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(sql, params)]

    def runs(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM runs ORDER BY id")

    def sources(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM sources ORDER BY id")

    def volumes(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM volumes ORDER BY source_id, start, id")

    def filesystems(self) -> list[dict[str, Any]]:
        return self.rows("SELECT f.*, v.source_id FROM filesystems f JOIN volumes v ON v.id = f.volume_id "
                         "ORDER BY f.id")

    def parser_runs(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM parser_runs ORDER BY run_id, parser")

    def exclusions(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM exclusions ORDER BY run_id, reason")

    def errors(self) -> Iterator[dict[str, Any]]:
        for r in self.conn.execute("SELECT * FROM errors ORDER BY id"):
            yield dict(r)

    def first_run(self) -> dict[str, Any]:
        runs = self.runs()
        return runs[0] if runs else {}

    def files(self, where: str = "", params: tuple[Any, ...] = ()) -> Iterator[dict[str, Any]]:
        sql = "SELECT * FROM files" + (f" WHERE {where}" if where else "") + " ORDER BY id"
        for r in self.conn.execute(sql, params):
            yield dict(r)

    def records(self, parser: str | None = None) -> Iterator[dict[str, Any]]:
        """Parser records with their file's provenance, ``data`` decoded."""
        have = {c[1] for c in self.conn.execute("PRAGMA table_info(records)")}
        row_cols = "r.source_table, r.source_rowid" if "source_table" in have else \
            "NULL AS source_table, NULL AS source_rowid"  # a case made before records carried their row
        sql = ("SELECT r.id, r.file_id, r.parser, r.parser_version, r.record_type, r.timestamp, r.data, "
               f"{row_cols}, f.volume, f.path, f.stream, f.address, f.sha256, f.export_path, f.category "
               "FROM records r JOIN files f ON f.id = r.file_id")
        params: tuple[Any, ...] = ()
        if parser:
            sql += " WHERE r.parser = ?"
            params = (parser,)
        for r in self.conn.execute(sql + " ORDER BY r.id", params):
            row = dict(r)
            try:
                data = json.loads(row["data"])
            except ValueError:
                data = {"_unreadable": row["data"]}
            row["data"] = data if isinstance(data, dict) else {"value": data}
            yield row

    def counts(self) -> dict[str, Any]:
        def one(sql: str) -> int:
            return int(self.conn.execute(sql).fetchone()[0] or 0)

        cats = self.rows("SELECT COALESCE(category, '(none)') AS category, count(*) AS n FROM files "
                         "WHERE kind NOT IN ('dir', 'virtual-dir') GROUP BY 1 ORDER BY 1")
        status = self.rows("SELECT status, count(*) AS n FROM files GROUP BY 1 ORDER BY 1")
        alloc = self.rows("SELECT alloc, count(*) AS n FROM files GROUP BY 1 ORDER BY 1")
        return {
            "entries": one("SELECT count(*) FROM files"),
            "directories": one("SELECT count(*) FROM files WHERE kind IN ('dir', 'virtual-dir')"),
            "streams_read": one("SELECT count(*) FROM files WHERE sha256 IS NOT NULL"),
            "bytes_read": one("SELECT sum(bytes_read) FROM files"),
            "exported": one("SELECT count(*) FROM files WHERE export_path IS NOT NULL"),
            "deleted": one("SELECT count(*) FROM files WHERE alloc != 'allocated'"),
            "recovered": one("SELECT count(*) FROM files WHERE recovered = 1"),
            "guessed": one("SELECT count(*) FROM files WHERE status = 'guessed'"),
            "mismatches": one("SELECT count(*) FROM files WHERE ext_mismatch = 1"),
            "records": one("SELECT count(*) FROM records"),
            "gps": one("SELECT count(*) FROM records WHERE json_extract(data, '$.latitude') IS NOT NULL "
                       "AND json_extract(data, '$.longitude') IS NOT NULL"),
            "warnings": one("SELECT count(*) FROM errors WHERE severity = 'warning'"),
            "errors": one("SELECT count(*) FROM errors WHERE severity != 'warning'"),
            "by_category": {c["category"]: c["n"] for c in cats},
            "by_status": {s["status"]: s["n"] for s in status},
            "by_alloc": {a["alloc"]: a["n"] for a in alloc},
        }

    # ---------------------------------------------------------------- timeline
    def timeline(self) -> Iterator[Event]:
        """All file-system and parser times, sorted by time, file, code."""
        parts: list[str] = []
        for col, code, desc in FS_TIMES:
            parts.append(f"SELECT {col} AS t, id AS fid, '{code}' AS code, '{desc}' AS descr, "
                         f"'file system' AS src, {len(parts)} AS ord FROM files WHERE {col} IS NOT NULL")
        parts.append("SELECT j.value AS t, r.file_id AS fid, r.parser || ':' || j.key AS code, "
                     "r.parser || ' ' || j.key AS descr, r.parser AS src, 100 AS ord "
                     "FROM records r, json_each(r.data) j "
                     "WHERE j.type = 'text' AND j.key LIKE '%\\_utc' ESCAPE '\\' AND j.value LIKE '____-__-__T%Z'")
        if self.zone is not None:
            parts.append(f"SELECT * FROM (SELECT camera_utc(json_extract(r.data, '$.taken_local')) AS t, "
                         "r.file_id AS fid, r.parser || ':taken_local' AS code, "
                         f"r.parser || ' camera clock, converted from ' || {sql_text(self.zone.name)} AS descr, "
                         "r.parser AS src, 101 AS ord FROM records r "
                         "WHERE json_extract(r.data, '$.taken_utc') IS NULL "
                         "AND json_type(r.data, '$.taken_local') = 'text') WHERE t IS NOT NULL")
        sql = ("SELECT e.t, e.fid, e.code, e.descr, e.src, f.volume, f.path, f.stream FROM ("
               + " UNION ALL ".join(parts) + ") e JOIN files f ON f.id = e.fid "
               "ORDER BY substr(e.t, 1, 19), rtrim(e.t, 'Z'), e.fid, e.ord, e.code")
        for t, fid, code, descr, src, volume, path, stream in self.conn.execute(sql):
            yield Event(t, int(fid), full_path(volume, path, stream), code, descr, src)

    # ------------------------------------------------------------------ custody
    def custody(self) -> CustodyView:
        """The custody log's entries and whether its hash chain holds (the core's check)."""
        if self._custody is not None:
            return self._custody
        view = CustodyView()
        path = self.root / CUSTODY_FILE
        if not path.is_file():
            view.chain_ok, view.problem = False, "custody.jsonl is missing"
        else:
            chain = read_chain(path)
            view.entries = [e.entry for e in chain.entries]
            view.head = chain.head
            if not chain.ok:
                view.chain_ok, view.problem = False, chain.issues[0].message
        self._custody = view
        return view

    # -------------------------------------------------------------- exported
    def exported(self, export_path: str | None) -> Path | None:
        """The exported file for ``files.export_path``, only if it stays inside data/."""
        if not export_path:
            return None
        target = (self.data_dir / export_path).resolve()
        try:
            target.relative_to(self.data_dir)
        except ValueError:
            return None
        return target if target.is_file() else None


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def full_path(volume: str, path: str, stream: str | None) -> str:
    """Volume label + path as ``devicex ls`` prints it (``:stream`` for named streams)."""
    return f"{volume}{path}:{stream}" if stream else f"{volume}{path}"


def open_case(path: Path, generated: str | None = None, timezone: str | None = None) -> Case:
    return Case(path, generated, timezone)
