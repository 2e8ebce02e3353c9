"""Communications parsers against the sqlite3 shell's truth of the shipped comms fixtures.

``fixtures/comms/comms.img`` carries every fixture database at its device path; its truth
is CSV written by the sqlite3 shell from the same databases (``fixtures/comms/*/truth/``).
One extraction of comms.img serves every parser check: per database, the set of row ids
must be the truth's, and per row the key fields must be equal - the raw time value and
its UTC conversion (computed here from the raw value and the store's epoch, not by
devicex), the text, the participant and the direction.
"""
from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.validate.record import Finding, Requirement, Tally

COMMS = Path(__file__).resolve().parents[2] / "fixtures" / "comms"
IMAGE = COMMS / "comms.img"
LABEL = "fixtures:comms.img"
SHELL = "sqlite3 shell 3.40 (Debian 12), .mode csv .headers on (fixtures/comms/*/build.sh)"
SKIP = object()  # a truth value that says nothing about the field (e.g. a caption kept in another table)
UNIX = datetime(1970, 1, 1, tzinfo=UTC)
EPOCHS: dict[str, Callable[[float], datetime]] = {
    "unix-s": lambda v: UNIX + timedelta(seconds=v),
    "unix-ms": lambda v: UNIX + timedelta(milliseconds=v),
    "unix-us": lambda v: UNIX + timedelta(microseconds=v),
    "webkit-us": lambda v: datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=v),
    # Apple's Cocoa epoch; iOS Messages stores nanoseconds when the value is that large (truncated to microseconds)
    "cocoa-s": lambda v: datetime(2001, 1, 1, tzinfo=UTC)
    + (timedelta(microseconds=int(v) // 1000) if abs(v) > 1e11 else timedelta(seconds=v)),
}


@dataclass(frozen=True)
class Field:
    """A truth column compared with a record's data field (``convert`` maps the CSV text)."""

    column: str
    record: str
    convert: Callable[[Any], Any] = str  # "*" columns get the whole row
    mine: Callable[[Any], Any] | None = None  # the record's value, when not data[record]


@dataclass(frozen=True)
class Store:
    """One database of comms.img, one table, and its truth CSVs (first file wins per row)."""

    path: str
    table: str
    truth: tuple[str, ...]
    rowid: str
    time: str | None = None
    epoch: str = ""
    fields: tuple[Field, ...] = ()
    kinds: tuple[str, ...] = ("message", "call", "contact", "web_visit", "download")


@dataclass(frozen=True)
class Check:
    parser: str
    stores: tuple[Store, ...]
    what: str = ""
    extra: tuple[Store, ...] = field(default_factory=tuple)


def requirement(parser: str, title: str, what: str, truth: str) -> Requirement:
    return Requirement(f"parser:{parser}", title, what, truth, SHELL,
                       "every row of the truth is a record and no other; row id, raw time and its UTC value, "
                       "text, participant and direction equal")


def comms_run(ctx: Any) -> Path:
    """The case.db of one extraction of comms.img, shared by every parser check."""
    cached = getattr(ctx, "comms_casedb", None)
    if cached is None:
        out, _ = ctx.extract(IMAGE, full_reason="validation", workers=2)
        cached = out / "data" / "case.db"
        ctx.comms_casedb = cached
    return Path(cached)


def read_truth(files: tuple[str, ...]) -> dict[str, list[dict[str, str]]]:
    """Rows by row id; a row that differs between the files (a WAL edit) is kept in each version."""
    rows: dict[str, list[dict[str, str]]] = {}
    for name in files:
        with (COMMS / name).open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                versions = rows.setdefault(next(iter(row.values())), [])
                if row not in versions:
                    versions.append(row)
    return rows


def records(casedb: Path, parser: str, store: Store) -> dict[str, list[dict[str, Any]]]:
    conn = sqlite3.connect(f"file:{casedb}?mode=ro", uri=True)
    try:
        got = conn.execute(
            "SELECT r.source_rowid, r.data FROM records r JOIN files f ON f.id = r.file_id "
            f"WHERE r.parser = ? AND r.source_table = ? AND f.path = ? AND r.record_type IN "
            f"({','.join('?' * len(store.kinds))}) ORDER BY r.source_rowid",
            (parser, store.table, "/" + store.path, *store.kinds)).fetchall()
    finally:
        conn.close()
    out: dict[str, list[dict[str, Any]]] = {}
    for rowid, data in got:
        out.setdefault(str(rowid), []).append(json.loads(data))
    return out


def _number(text: str) -> float | int:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def row_values(store: Store, truth: Mapping[str, str], rec: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, devicex's value, the truth's value) for one row."""
    out: list[tuple[str, Any, Any]] = []

    def report(name: str, mine: Any, theirs: Any) -> None:
        if theirs is not SKIP:
            out.append((name, mine, theirs))

    if store.time is not None:
        raw = truth[store.time]
        if raw == "":
            report("time (raw)", rec.get("time_raw"), None)
        else:
            value = _number(raw)
            report("time (raw)", rec.get("time_raw"), value)
            mine = _utc(rec.get("time_utc"))
            theirs = EPOCHS[store.epoch](value) if value else None
            if mine is not None and theirs is not None and abs((mine - theirs).total_seconds()) < 1e-6:
                mine = theirs
            report("time (UTC)", mine.isoformat() if mine else None, theirs.isoformat() if theirs else None)
    for f in store.fields:
        theirs = f.convert(truth) if f.column == "*" else f.convert(truth[f.column])  # "*": the whole row
        report(f.record, rec.get(f.record) if f.mine is None else f.mine(rec), theirs)
    return out


def compare_rows(store: Store, item: str, truth: list[dict[str, str]], recs: list[dict[str, Any]],
                 tally: Tally) -> None:
    """Each record against the version of its row it agrees with most (a WAL-edited row has two)."""
    if len(recs) != len(truth):
        tally.disagree(Finding(LABEL, f"{item} versions", f"{len(recs)} records", f"{len(truth)} distinct rows"))
    for rec in recs:
        candidates = [row_values(store, row, rec) for row in truth]
        best = max(candidates, key=lambda vals: sum(mine == theirs for _, mine, theirs in vals))
        for name, mine, theirs in best:
            if mine == theirs:
                tally.agree(LABEL)
            else:
                tally.disagree(Finding(LABEL, f"{item} {name}", repr(mine), repr(theirs)))


def run_check(ctx: Any, tally: Tally, check: Check) -> None:
    """Compare the parser's records of each store with the store's truth, into ``tally``."""
    casedb = comms_run(ctx)
    for store in check.stores:
        truth = read_truth(store.truth)
        got = records(casedb, check.parser, store)
        item = f"/{store.path} {store.table}"
        if set(got) == set(truth):
            tally.agree(LABEL)
        else:
            missing = sorted(set(truth) - set(got), key=int)
            extra = sorted(set(got) - set(truth), key=int)
            tally.disagree(Finding(LABEL, f"{item} row ids", f"{len(got)} records; not in truth: {extra}",
                                   f"{len(truth)} rows; no record: {missing}"))
        for rowid in sorted(set(got) & set(truth), key=int):
            compare_rows(store, f"{item} rowid {rowid}", truth[rowid], got[rowid], tally)
    tally.note = (f"{len(check.stores)} database table(s) of comms.img; counts and key fields per row "
                  f"(compared values, not rows)")


def from_me(text: str) -> str:
    """A from-me flag (WhatsApp, iOS): 1 sent by the device's user."""
    return "outgoing" if text == "1" else "incoming"


def text_or_none(text: str) -> str | None:
    return text if text != "" else None


def text_if_any(text: str) -> Any:
    """The text when the truth has one; an empty column is not compared (the text may be kept elsewhere)."""
    return text if text != "" else SKIP


def first(name: str, n: int) -> Callable[[Mapping[str, Any]], Any]:
    """The first ``n`` characters of a text field (the truth printed substr(body, 1, n))."""
    return lambda r: r[name][:n] if isinstance(r.get(name), str) else r.get(name)


def other_party(rec: Mapping[str, Any]) -> Any:
    """The row's other party as the store wrote it: the sender of a received message, else the recipient(s)."""
    if rec.get("direction") == "incoming":
        return rec.get("sender")
    parts = rec.get("participants") or []
    return parts[0] if len(parts) == 1 else parts
