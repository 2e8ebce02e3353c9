"""Communications in a finished case, for every renderer: record kinds with their
declared schemas (``record_kinds``), records of a kind with their row provenance,
conversations (messages grouped by app and counterpart, the same message found in
two copies of a database shown once) and counts per app.

Nothing here knows a parser: kinds, fields and roles come from case.db.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from devicex.scope import ScopeError, banner, parse_text
from devicex.scope.comms import KIND_WORDS
from reports.model import Case, full_path

MESSAGE, CALL, CONTACT, VISIT, DOWNLOAD = "message", "call", "contact", "web_visit", "download"


def kinds(case: Case) -> dict[str, dict[str, Any]]:
    """record type -> its declared schema (empty for a case made before kinds were declared)."""
    if not _has_table(case, "record_kinds"):
        return {}
    out = {}
    for r in case.conn.execute("SELECT record_type, schema FROM record_kinds ORDER BY record_type"):
        try:
            out[r[0]] = json.loads(r[1])
        except ValueError:
            continue
    return out


def records(case: Case, kind: str) -> Iterator[dict[str, Any]]:
    """Records of one kind in case order: id, parser, file (path, export), row (table, rowid), data."""
    row_cols = "r.source_table, r.source_rowid" if _has_column(case, "records", "source_table") else \
        "NULL AS source_table, NULL AS source_rowid"
    sql = ("SELECT r.id, r.file_id, r.parser, r.timestamp, r.data, " + row_cols + ", f.volume, f.path, f.stream, "
           "f.export_path, f.sha256 FROM records r JOIN files f ON f.id = r.file_id WHERE r.record_type = ? "
           "ORDER BY r.id")
    for r in case.conn.execute(sql, (kind,)):
        row = dict(r)
        row["data"] = _data(row["data"])
        row["full_path"] = full_path(row["volume"], row["path"], row["stream"])
        yield row


def count(case: Case, kind: str) -> int:
    return int(case.conn.execute("SELECT count(*) FROM records WHERE record_type = ?", (kind,)).fetchone()[0])


def per_app(case: Case) -> list[tuple[str, str, int]]:
    """(kind, app, records) for messages, calls, contacts, visits and downloads."""
    sql = ("SELECT record_type, COALESCE(json_extract(data, '$.app'), parser), count(*) FROM records "
           "WHERE record_type IN (?, ?, ?, ?, ?) GROUP BY 1, 2 ORDER BY 1, 2")
    return [(r[0], r[1], int(r[2])) for r in case.conn.execute(sql, (MESSAGE, CALL, CONTACT, VISIT, DOWNLOAD))]


def scope_banner(case: Case) -> str | None:
    """What the case's communications are, in plain words, when a communications scope chose them:
    the run's selections and how many records of each kind it left on the device
    ("Only messages and calls between the device user and +44 7700 900123, 1 to 7 March 2024 (UTC).
    5,234 other messages and 310 other calls on the device were not extracted."); None otherwise.
    When several runs took records into the case (a scope widened after review), each run's scope and
    what that run left are stated in turn, since what one run left a later one may have taken."""
    said = [(run["id"], *told) for run in case.runs() if (told := _run_sentence(run)) is not None]
    if not said:
        return None
    if len(said) == 1:
        run_id, sentence, kinds = said[0]
        return sentence + _left_words(case, run_id, kinds, "")
    parts = [f"Records were taken in {len(said)} runs into this case, each with its own scope."]
    parts += [f"Run {run_id}: {sentence}{_left_words(case, run_id, kinds, ' by that run')}"
              for run_id, sentence, kinds in said]
    return " ".join(parts)


def _run_sentence(run: dict[str, Any]) -> tuple[str, frozenset[str]] | None:
    """A run's banner sentence and the record types its scope selects, if it has a communications scope."""
    if not run.get("scope"):
        return None
    try:
        scope = parse_text(run["scope"])
    except ScopeError:
        return None
    sentence = banner(scope)
    if sentence is None:
        return None
    return sentence, frozenset(k for sel in scope.comms_selections if sel.comms for k in sel.comms.kinds)


def _left_words(case: Case, run_id: int, kinds: frozenset[str], by: str) -> str:
    """How many records of the selected kinds the run left (kinds it did not select are not counted here:
    it did not read every store of those, so a count would understate them)."""
    if not _has_column(case, "exclusions", "record_type"):
        return ""
    left = dict(case.conn.execute(
        "SELECT record_type, sum(count) FROM exclusions WHERE run_id = ? AND record_type IS NOT NULL "
        "GROUP BY record_type", (run_id,)).fetchall())
    shown = [k for k in KIND_WORDS if k in kinds and left.get(k)]
    parts = [f"{left[k]:,} other {KIND_WORDS[k][0 if left[k] == 1 else 1]}" for k in shown]
    if not parts:
        return " No other records of these kinds were found in the databases read."
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f" {text} on the device {'was' if sum(left[k] for k in shown) == 1 else 'were'} " \
           f"not extracted{by}."


@dataclass
class Thread:
    key: str
    app: str
    label: str
    participants: list[str] = field(default_factory=list)
    participant_ids: list[str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0


def threads(case: Case) -> Iterator[Thread]:
    """Conversations, each with its messages in time order. A conversation is one app's
    messages with one set of counterparts (a group: its group id); a message found again
    in another copy of the database (Android keeps mmssms.db in two stores) is kept once,
    with the other copies named in ``also_in``."""
    key_sql = ("json_extract(r.data, '$.app') || '|' || CASE WHEN json_extract(r.data, '$.thread') LIKE '%@g.us' "
               "OR json_array_length(json_extract(r.data, '$.participant_ids')) = 0 "
               "THEN COALESCE(json_extract(r.data, '$.thread'), '?') "
               "ELSE json_extract(r.data, '$.participant_ids') END")
    row_cols = "r.source_table, r.source_rowid" if _has_column(case, "records", "source_table") else \
        "NULL AS source_table, NULL AS source_rowid"
    sql = (f"SELECT {key_sql} AS k, r.id, r.file_id, r.timestamp, r.data, {row_cols}, f.volume, f.path, f.stream "
           "FROM records r JOIN files f ON f.id = r.file_id WHERE r.record_type = 'message' "
           "ORDER BY k, r.timestamp IS NULL, r.timestamp, r.id")
    current: Thread | None = None
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in case.conn.execute(sql):
        data = _data(r["data"])
        if current is None or r["k"] != current.key:
            if current is not None:
                yield current
            current = Thread(r["k"] or "?", str(data.get("app") or "?"), "")
            seen = {}
        msg = {"id": r["id"], "file_id": r["file_id"], "time": r["timestamp"],
               "path": full_path(r["volume"], r["path"], r["stream"]), "table": r["source_table"],
               "rowid": r["source_rowid"], "data": data, "also_in": []}
        ident = (r["timestamp"], data.get("direction"), data.get("body"), data.get("sender_id"), data.get("deleted"))
        twin = seen.get(ident)
        if twin is not None and twin["file_id"] != r["file_id"]:
            twin["also_in"].append(f"{msg['path']} ({msg['table']} {msg['rowid']})")
            current.duplicates += 1
            continue
        seen[ident] = msg
        _join(current, data)
        current.messages.append(msg)
    if current is not None:
        yield current


def _join(thread: Thread, data: dict[str, Any]) -> None:
    for raw, ident in zip(data.get("participants") or [], data.get("participant_ids") or [], strict=False):
        if ident not in thread.participant_ids:
            thread.participant_ids.append(ident)
            thread.participants.append(raw)
    if not thread.label:
        thread.label = str(data.get("thread_name") or ", ".join(thread.participants) or data.get("thread") or "")
    sender = data.get("sender_id")
    if sender and data.get("direction") == "incoming" and sender not in thread.participant_ids:
        thread.participant_ids.append(sender)
        thread.participants.append(str(data.get("sender") or sender))


def _data(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {"_unreadable": text}
    return value if isinstance(value, dict) else {"value": value}


def _has_table(case: Case, name: str) -> bool:
    return case.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() \
        is not None


def _has_column(case: Case, table: str, column: str) -> bool:
    return any(r[1] == column for r in case.conn.execute(f"PRAGMA table_info({table})"))
