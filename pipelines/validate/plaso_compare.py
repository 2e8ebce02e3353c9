"""devicex's communications records against plaso's own test expectations.

The test databases of a folder with a plaso expectations sheet (see
:mod:`pipelines.validate.plaso_sheet`) are placed at the paths a device keeps them,
read as a folder source by one extraction, and per database the parser's records are
compared with the sheet: the record count (and the sub-counts the sheet gives), the
warnings, and every value of each record the sheet describes (found by its time).
A count that includes kinds devicex does not report (Firefox bookmarks) is a stated
limitation, not a pass; an empty text plaso reports as "none" is listed as a truth-tool
difference with the stored value as evidence.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.validate import process_checks
from pipelines.validate.checks.android_calls import CALL_TYPE
from pipelines.validate.checks.android_sms import SMS_TYPE
from pipelines.validate.comms import other_party
from pipelines.validate.plaso_sheet import MADE_BY, Expected, Row, read_sheet, sheet_in
from pipelines.validate.record import Finding, Tally, TruthFault

# Chrome's ui::PageTransition core types and Firefox's nsINavHistoryService TRANSITION_* values
CHROME_TRANSITIONS = ("link", "typed", "auto_bookmark", "auto_subframe", "manual_subframe", "generated",
                      "auto_toplevel", "form_submit", "reload", "keyword", "keyword_generated")
FIREFOX_VISIT_TYPES = {1: "link", 2: "typed", 3: "bookmark", 4: "embed", 5: "redirect permanent",
                       6: "redirect temporary", 7: "download", 8: "framed link", 9: "reload"}
UNREPORTED = ("bookmark", "annotation", "folder")  # record kinds plaso counts and devicex does not report


@dataclass(frozen=True)
class Plugin:
    parser: str  # devicex's parser for the databases plaso's plugin reads
    kind: str  # devicex's record type for the plugin's own records (downloads are "download")


PLUGINS = {"android_sms": Plugin("android_sms", "message"), "android_calls": Plugin("android_calls", "call"),
           "imessage": Plugin("ios_sms", "message"), "safari_history": Plugin("safari_history", "web_visit"),
           "firefox_history": Plugin("firefox_places", "web_visit"),
           "chrome_8_history": Plugin("chrome_history", "web_visit"),
           "chrome_27_history": Plugin("chrome_history", "web_visit")}
# where each test database is placed in the folder read as a source (the paths the parsers look for)
PLACES = {
    "android_mmssms.db": "data/user_de/0/com.android.providers.telephony/databases/mmssms.db",
    "android_contacts2.db": "data/data/com.android.providers.contacts/databases/contacts2.db",
    "sqlite_imessage_chat.db": "Users/mac/Library/Messages/chat.db",
    "safari_History.db": "Users/mac/Library/Safari/History.db",
    "firefox_places.sqlite": "home/user/.mozilla/firefox/default/places.sqlite",
    "chrome_History": "home/chrome8/.config/google-chrome/Default/History",
    "chrome_History-57.0.2987.133": "home/chrome57/.config/google-chrome/Default/History",
    "chrome_History-58.0.3029.96": "home/chrome58/.config/google-chrome/Default/History",
    "chrome_History-59.0.3071.86": "home/chrome59/.config/google-chrome/Default/History",
}
KINDS = ("message", "call", "web_visit", "download")


def _instant(text: Any) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if isinstance(text, str) else None


def devicex_value(plugin: str, name: str, rec: dict[str, Any]) -> Any:
    """devicex's value for the sheet's ``name`` (plaso's field name) of one record."""
    if name in ("address", "handle"):
        return other_party(rec)
    if name == "time":
        return _instant(rec.get("time_utc"))
    if name == "end":
        if plugin == "android_calls":  # a call's end: its start plus its duration
            start, duration = _instant(rec.get("time_utc")), rec.get("duration_s")
            return start + timedelta(seconds=duration) if start is not None and duration is not None else None
        return _instant(rec.get("end_utc"))
    if name in ("type", "visit_type", "transition"):
        return rec.get("direction") if name == "type" else rec.get("transition")
    if name == "duration":
        return rec.get("duration_s")
    return rec.get(name)


def sheet_value(plugin: str, name: str, value: object) -> Any:
    """The sheet's value in devicex's terms (codes named as the stores' documentation names them)."""
    if name in ("time", "end"):
        return _instant(value)
    if name == "type" and isinstance(value, int):
        return (CALL_TYPE if plugin == "android_calls" else SMS_TYPE).get(str(value), f"type {value}")
    if name == "visit_type" and isinstance(value, int):
        return FIREFOX_VISIT_TYPES.get(value, str(value))
    if name == "transition" and isinstance(value, int):
        core = value & 0xFF
        return CHROME_TRANSITIONS[core] if core < len(CHROME_TRANSITIONS) else str(core)
    if name == "read" and isinstance(value, int):
        return bool(value)
    return value


@dataclass
class Place:
    """One placed test database: its sheet row, its extraction and the label findings use."""

    row: Row
    casedb: Path
    copy: Path
    label: str


def _records(place: Place, parser: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{place.casedb}?mode=ro", uri=True)
    try:
        got = conn.execute(
            "SELECT r.record_type, r.source_table, r.source_rowid, r.data FROM records r JOIN files f "
            f"ON f.id = r.file_id WHERE r.parser = ? AND f.path = ? AND r.record_type IN ({','.join('?' * len(KINDS))})"
            " ORDER BY r.id", (parser, "/" + PLACES[place.row.file], *KINDS)).fetchall()
    finally:
        conn.close()
    return [{**json.loads(data), "_kind": kind, "_table": table, "_rowid": rowid} for kind, table, rowid, data in got]


def _problems(place: Place) -> list[str]:
    conn = sqlite3.connect(f"file:{place.casedb}?mode=ro", uri=True)
    try:
        return [f"{sev}: {msg}" for sev, msg in conn.execute(
            "SELECT e.severity, e.message FROM errors e JOIN files f ON f.id = e.file_id WHERE f.path = ? "
            "ORDER BY e.id", ("/" + PLACES[place.row.file],))]
    finally:
        conn.close()


def compare_counts(place: Place, recs: list[dict[str, Any]], tally: Tally) -> None:
    """The record count, the sheet's sub-counts and its warnings."""
    row, item = place.row, f"{PLACES[place.row.file]} ({place.row.plugin})"
    if len(recs) == row.count:
        tally.agree(place.label)
    elif any(word in row.records_text for word in UNREPORTED):
        tally.limited(Finding(place.label, f"{item} records", f"{len(recs)} records",
                              row.records_text,
                              f"known limitation: devicex's {PLUGINS[row.plugin].parser} reports "
                              f"{PLUGINS[row.plugin].kind} records only; plaso's count also includes kinds devicex "
                              "does not report (bookmarks, bookmark annotations, bookmark folders)"))
    else:
        tally.disagree(Finding(place.label, f"{item} records", f"{len(recs)} records", row.records_text,
                               "plaso's record count"))
    for what, n in row.subcounts:
        mine = sum(1 for r in recs if _is(what, r))
        if mine == n:
            tally.agree(place.label)
        else:
            tally.disagree(Finding(place.label, f"{item} {what} records", str(mine), str(n), "plaso's sub-count"))
    if row.warnings is not None:
        problems = _problems(place)
        if len(problems) == row.warnings:
            tally.agree(place.label)
        else:
            tally.disagree(Finding(place.label, f"{item} warnings", "; ".join(problems) or "none",
                                   f"{row.warnings} warnings", "plaso's warning count"))


def _is(what: str, rec: dict[str, Any]) -> bool:
    if what in ("sent", "received"):
        return rec.get("direction") == ("outgoing" if what == "sent" else "incoming")
    return rec["_kind"] == ("download" if what == "download" else "web_visit")


def _pairs(place: Place, expected: Expected, rec: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(name, devicex_value(place.row.plugin, name, rec), sheet_value(place.row.plugin, name, value))
            for name, value in expected.values]


def _stored(place: Place, rec: dict[str, Any], column: str) -> str:
    """The raw stored value of ``column`` of the record's row, from the placed copy (the evidence)."""
    conn = sqlite3.connect(f"file:{place.copy}?mode=ro", uri=True)
    try:
        got = conn.execute(f'SELECT typeof("{column}"), quote("{column}") FROM "{rec["_table"]}" WHERE rowid = ?',
                           (rec["_rowid"],)).fetchone()
    except sqlite3.Error as exc:
        return f"not read: {exc}"
    finally:
        conn.close()
    return f"SQLite: SELECT typeof({column}), quote({column}) FROM {rec['_table']} WHERE rowid = {rec['_rowid']} " \
           f"-> {got[0]}|{got[1]}" if got else "row not found"


def compare_expected(place: Place, expected: Expected, recs: list[dict[str, Any]], tally: Tally) -> None:
    """Each value of one record the sheet describes, against the record of that kind at that time."""
    kind = "download" if expected.kind == "download" else PLUGINS[place.row.plugin].kind
    when = _instant(expected.time)
    candidates = [r for r in recs if r["_kind"] == kind and when is not None and _instant(r.get("time_utc")) == when]
    item = f"{PLACES[place.row.file]} {kind} at {expected.time}"
    if not candidates:
        tally.disagree(Finding(place.label, item, "no such record", expected.text, "plaso's expected record"))
        return
    rec = max(candidates, key=lambda r: sum(m == t for _, m, t in _pairs(place, expected, r)))
    for name, mine, theirs in _pairs(place, expected, rec):
        where = f"{item} {name} ({rec['_table']} rowid {rec['_rowid']})"
        if mine == theirs:
            tally.agree(place.label)
        elif theirs is None and mine == "":
            tally.fault(TruthFault(place.label, where, repr(mine), "none",
                                   "plaso reports an empty text as no value",
                                   (f"the database holds the empty text in {name}, which devicex keeps as stored",),
                                   _stored(place, rec, name)))
        else:
            tally.disagree(Finding(place.label, where, repr(mine), repr(theirs), f"plaso: {expected.text}"))


def place_databases(folder: Path, rows: list[Row], tree: Path) -> list[Row]:
    """Copy each database the sheet names (and this devicex has a parser for) to its device path under ``tree``."""
    placed = []
    for row in rows:
        src = folder / row.file
        if row.plugin not in PLUGINS or row.file not in PLACES or not src.is_file():
            continue
        dst = tree / PLACES[row.file]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        placed.append(row)
    return placed


def with_upstream(tally: Tally) -> None:
    """Name plaso's expectations among the requirement's truth (once)."""
    req = tally.requirement
    if MADE_BY not in req.made_by:
        tally.requirement = replace(
            req, truth=f"{req.truth}; plaso's own test expectations (plaso-test-expectations.md)",
            made_by=f"{req.made_by}; {MADE_BY}",
            criterion=f"{req.criterion}; plaso's record count, sub-counts and warnings and every value of its "
                      "expected record equal")


def run(ctx: Any, tallies: dict[str, Tally], name: str, folder: Path) -> int:
    """Compare the parsers' records of ``folder``'s test databases with its sheet; the number of databases."""
    sheet = sheet_in(folder)
    if sheet is None:
        return 0
    tree = ctx.work / "plaso-trees" / name
    rows = place_databases(folder, read_sheet(sheet), tree)
    if not rows:
        return 0
    out, _ = ctx.extract(tree, full_reason="validation", workers=1, export=False)
    if "custody-chain" in tallies:
        process_checks.custody_chain(f"{name}/ (folder)", out / "custody.jsonl", tallies["custody-chain"])
    per_tally: dict[str, int] = {}
    for row in rows:
        plugin = PLUGINS[row.plugin]
        tally = tallies.get(f"parser:{plugin.parser}")
        if tally is None:
            continue
        with_upstream(tally)
        per_tally[tally.requirement.id] = per_tally.get(tally.requirement.id, 0) + 1
        place = Place(row, out / "data" / "case.db", tree / PLACES[row.file], f"{name}/{row.file}")
        recs = _records(place, plugin.parser)
        compare_counts(place, recs, tally)
        for expected in row.expected:
            compare_expected(place, expected, recs, tally)
    for rid, n in per_tally.items():
        said = f"{n} database(s) of {name}/ against plaso's expectations"
        tallies[rid].note = f"{tallies[rid].note}; {said}" if tallies[rid].note else said
    return len(rows)
