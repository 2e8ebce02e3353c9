"""Investigators' marks on items of a case: the ``tags`` table of ``case.db``.

A tag says that one item (a file row or a parser record row of ``case.db``)
is ``relevant``, ``possibly-disclosable`` (might meet the disclosure test) or
``sensitive``, with a note, who marked it and when. Tags are their own table:
no other row of ``case.db`` and no exported file changes. Every import, from a
tags file or from the command line, is one ``tags-import`` custody entry
(who imported, when, how many, by mark, the file's SHA-256 and case.db's new
SHA-256).

The tags file (what the HTML report exports, what ``devicex tag import`` reads)::

    {"format": "devicex-tags", "version": 1,
     "case_ref": "OP-42",                       # optional; must equal the case's when given
     "tags": [{"item": "file:12",               # or "record:7": the case.db row id
               "path": "/DCIM/a.jpg",           # optional; the file's path (or volume + path, as the report
                                                #  shows it) when given
               "mark": "relevant",              # relevant | possibly-disclosable | sensitive
               "note": "sent on the night",     # required for sensitive (the reason), else optional
               "by": "DC Smith 1234",
               "at": "2024-05-01T12:00:00Z"}]}  # when the mark was made, with a time zone

A tag identical to one already held (item, mark, note, by, at) is not added again,
so importing the same file twice adds nothing.

A mark is taken back with :func:`remove_tags` (``devicex tag remove``): its row stays in ``tags`` with who
removed it, when and why (``removed_by``, ``removed_at``, ``removed_reason``), so the review history is kept,
and one ``tags-remove`` custody entry records the same. A removed mark is no longer held: the report and the
CPS drafts leave it out, and importing it again adds it again (with its own custody entry).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from devicex.casedb import connect
from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import Actor, Artefact, CustodyLog
from devicex.errors import DevicexError
from devicex.safetext import visible
from devicex.timeutil import iso, now_utc

FORMAT = "devicex-tags"
VERSION = 1
MARKS = ("relevant", "possibly-disclosable", "sensitive")
ITEM_KINDS = {"file": "files", "record": "records"}
MAX_NOTE = 4000

SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
  id INTEGER PRIMARY KEY, item_kind TEXT NOT NULL, item_id INTEGER NOT NULL, mark TEXT NOT NULL,
  note TEXT NOT NULL, tagged_by TEXT NOT NULL, tagged_at TEXT NOT NULL, imported_by TEXT NOT NULL,
  imported_at TEXT NOT NULL, origin TEXT NOT NULL, removed_by TEXT, removed_at TEXT, removed_reason TEXT);
CREATE INDEX IF NOT EXISTS tags_item ON tags(item_kind, item_id);
"""
REMOVAL_COLUMNS = ("removed_by", "removed_at", "removed_reason")


class TagError(DevicexError):
    """A tags file or tag that cannot be imported (one line naming the file and the problem)."""


@dataclass(frozen=True)
class Tag:
    item_kind: str   # "file" or "record"
    item_id: int
    mark: str
    note: str
    by: str
    at: str          # ISO 8601 UTC ending in Z

    @property
    def item(self) -> str:
        return f"{self.item_kind}:{self.item_id}"

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "mark": self.mark, "note": self.note, "by": self.by, "at": self.at}


@dataclass(frozen=True)
class ImportResult:
    added: int
    already_held: int
    custody_seq: int | None


@dataclass(frozen=True)
class RemoveResult:
    removed: int
    custody_seq: int


def parse_item(text: str) -> tuple[str, int]:
    kind, _, number = str(text).partition(":")
    if kind not in ITEM_KINDS or not number.isdigit():
        raise ValueError(f"item {text!r} is not file:N or record:N")
    return kind, int(number)


def utc_text(text: str) -> str:
    """An ISO 8601 time with a zone, as UTC text ending in Z."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"time {text!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return iso(moment) or ""


def make_tag(item: str, mark: str, note: str, by: str, at: str) -> Tag:
    kind, number = parse_item(item)
    if mark not in MARKS:
        raise ValueError(f"mark {mark!r} is not one of {', '.join(MARKS)}")
    note = str(note or "").strip()
    if mark == "sensitive" and not note:
        raise ValueError(f"{item}: a sensitive mark needs the reason as its note")
    if len(note) > MAX_NOTE:
        raise ValueError(f"{item}: note longer than {MAX_NOTE} characters")
    if not str(by or "").strip():
        raise ValueError(f"{item}: who made the mark ('by') is missing")
    return Tag(kind, number, mark, note, str(by).strip(), utc_text(at))


def read_file(path: Path, case_ref: str | None) -> tuple[list[Tag], dict[int, str]]:
    """The tags of a tags file, and the paths it gives for file items (checked on import)."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise TagError(f"{path}: not a readable JSON tags file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise TagError(f"{path}: not a {FORMAT} version {VERSION} file")
    if doc.get("case_ref") not in (None, case_ref):
        raise TagError(f"{path}: made for case {doc['case_ref']!r}, this case is {case_ref!r}")
    items = doc.get("tags")
    if not isinstance(items, list):
        raise TagError(f"{path}: 'tags' is not a list")
    tags, paths = [], {}
    for n, raw in enumerate(items, 1):
        try:
            if not isinstance(raw, dict):
                raise ValueError("not an object")
            tag = make_tag(raw.get("item", ""), raw.get("mark", ""), raw.get("note", ""), raw.get("by", ""),
                           raw.get("at", ""))
        except ValueError as exc:
            raise TagError(f"{path}: tag {n}: {exc}") from None
        if tag.item_kind == "file" and isinstance(raw.get("path"), str):
            paths[tag.item_id] = raw["path"]
        tags.append(tag)
    return tags, paths


def _check_items(conn: sqlite3.Connection, tags: Sequence[Tag], paths: dict[int, str], origin: str) -> None:
    for tag in tags:
        table = ITEM_KINDS[tag.item_kind]
        row = conn.execute(f"SELECT id{', path, volume, stream' if table == 'files' else ''} FROM {table} "
                           "WHERE id = ?", (tag.item_id,)).fetchone()
        if row is None:
            raise TagError(f"{origin}: {tag.item} is not in this case")
        if tag.item_kind == "file" and tag.item_id in paths and paths[tag.item_id] not in _path_forms(row):
            raise TagError(f"{origin}: {tag.item} is {row['path']!r} in this case, the tags file says "
                           f"{paths[tag.item_id]!r}")


def _path_forms(row: sqlite3.Row) -> set[str]:
    """The ways a file's path is written: as in case.db, and as the report shows it (volume, :stream, control
    and bidi characters escaped)."""
    full = f"{row['volume']}{row['path']}" + (f":{row['stream']}" if row["stream"] else "")
    return {row["path"], full, visible(full)}


def _held(conn: sqlite3.Connection) -> set[tuple[str, int, str, str, str, str]]:
    return {tuple(r) for r in conn.execute("SELECT item_kind, item_id, mark, note, tagged_by, tagged_at FROM tags"
                                           + _IN_EFFECT[_has_removal(conn)])}


_IN_EFFECT = {True: " WHERE removed_at IS NULL", False: ""}


def _has_removal(conn: sqlite3.Connection) -> bool:
    """Whether ``tags`` has the removal columns (a case whose tags were first imported before marks could be
    removed has not, until a write adds them)."""
    return "removed_at" in {r[1] for r in conn.execute("PRAGMA table_info(tags)")}


def _ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    if not _has_removal(conn):
        for column in REMOVAL_COLUMNS:
            conn.execute(f"ALTER TABLE tags ADD COLUMN {column} TEXT")


def import_tags(root: Path, tags: Sequence[Tag], actor: Actor, origin: str, *,
                input_file: Path | None = None, paths: dict[int, str] | None = None) -> ImportResult:
    """Add ``tags`` to the case at ``root`` (all or none) and record the import in its custody log."""
    db_path = root / "data" / "case.db"
    conn = connect(db_path)
    try:
        _check_items(conn, tags, paths or {}, origin)
        run = conn.execute("SELECT case_ref, exhibit_ref FROM runs ORDER BY id LIMIT 1").fetchone()
        held = _held(conn) if _has_table(conn) else set()
        now = iso(now_utc()) or ""
        new = []
        for tag in tags:
            key = (tag.item_kind, tag.item_id, tag.mark, tag.note, tag.by, tag.at)
            if key not in held:
                held.add(key)
                new.append(tag)
        if not new:
            return ImportResult(0, len(tags), None)
        with conn:
            _ensure_schema(conn)
            ids = [conn.execute("INSERT INTO tags (item_kind, item_id, mark, note, tagged_by, tagged_at, "
                                "imported_by, imported_at, origin) VALUES (?,?,?,?,?,?,?,?,?)",
                                (t.item_kind, t.item_id, t.mark, t.note, t.by, t.at, actor.name, now, origin)
                                ).lastrowid for t in new]
    finally:
        conn.close()
    log = CustodyLog(root / CUSTODY_FILE, actor, run["case_ref"] if run else None, run["exhibit_ref"] if run else None)
    inputs = [_artefact("tags-file", input_file.name, input_file)] if input_file else []
    entry = log.append("tags-import", inputs=inputs, outputs=[_artefact("case-database", "data/case.db", db_path)],
                       details={"origin": origin, "tags": len(new), "already_held": len(tags) - len(new),
                                "tag_ids": [ids[0], ids[-1]],
                                "marks": dict(sorted(Counter(t.mark for t in new).items())),
                                "table": "tags"})
    return ImportResult(len(new), len(tags) - len(new), entry["seq"])


def _artefact(role: str, ref: str, path: Path) -> Artefact:
    data = path.read_bytes()
    return Artefact(role, ref, hashlib.sha256(data).hexdigest(), len(data))


def _has_table(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tags'").fetchone() is not None


def read_tags(conn: sqlite3.Connection, *, removed: bool = False) -> list[dict[str, Any]]:
    """The marks held by a case (read-only connection), in id order; empty when none was ever imported. With
    ``removed``, the marks taken back instead (each with who removed it, when and why)."""
    if not _has_table(conn):
        return []
    if not _has_removal(conn):
        return [] if removed else [dict(r) for r in conn.execute("SELECT * FROM tags ORDER BY id")]
    where = "removed_at IS NOT NULL" if removed else "removed_at IS NULL"
    return [dict(r) for r in conn.execute(f"SELECT * FROM tags WHERE {where} ORDER BY id")]


def remove_tags(root: Path, items: Sequence[str], mark: str | None, reason: str, actor: Actor) -> RemoveResult:
    """Take back every mark held on ``items`` (only ``mark`` when given) of the case at ``root``, all or none,
    with ``reason``; one ``tags-remove`` custody entry. An item with no such mark is an error: nothing is
    removed silently and nothing is removed in part."""
    reason = str(reason or "").strip()
    if not reason:
        raise TagError("removing a mark needs the reason (--reason)")
    if mark is not None and mark not in MARKS:
        raise TagError(f"mark {mark!r} is not one of {', '.join(MARKS)}")
    try:
        keys = list(dict.fromkeys(parse_item(i) for i in items))
    except ValueError as exc:
        raise TagError(str(exc)) from None
    db_path = root / "data" / "case.db"
    conn = connect(db_path)
    try:
        held = read_tags(conn)
        chosen = [t for t in held if (t["item_kind"], t["item_id"]) in keys and mark in (None, t["mark"])]
        found = {(t["item_kind"], t["item_id"]) for t in chosen}
        missing = [f"{k}:{n}" for k, n in keys if (k, n) not in found]
        if missing:
            raise TagError(f"{', '.join(missing)}: no {mark or 'mark'} held on this item in this case; "
                           "nothing removed")
        now = iso(now_utc()) or ""
        with conn:
            _ensure_schema(conn)
            conn.executemany("UPDATE tags SET removed_by = ?, removed_at = ?, removed_reason = ? WHERE id = ?",
                             [(actor.name, now, reason, t["id"]) for t in chosen])
        run = conn.execute("SELECT case_ref, exhibit_ref FROM runs ORDER BY id LIMIT 1").fetchone()
    finally:
        conn.close()
    log = CustodyLog(root / CUSTODY_FILE, actor, run["case_ref"] if run else None, run["exhibit_ref"] if run else None)
    entry = log.append("tags-remove", outputs=[_artefact("case-database", "data/case.db", db_path)],
                       details={"reason": reason, "tags": len(chosen), "tag_ids": [t["id"] for t in chosen],
                                "items": [f"{k}:{n}" for k, n in keys],
                                "marks": dict(sorted(Counter(t["mark"] for t in chosen).items())),
                                "table": "tags"})
    return RemoveResult(len(chosen), entry["seq"])


def export_document(tags: Iterable[Tag], case_ref: str | None) -> dict[str, Any]:
    """A tags file document (the format above) for ``tags``."""
    return {"format": FORMAT, "version": VERSION, "case_ref": case_ref, "tags": [t.as_dict() for t in tags]}
