"""parsers.android_calls against plaso's contacts2.db (old calls table) and a calllog.db built
from the Android 12 schema with every call type (truth: sqlite3 shell)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parsers import android_calls
from tests.parsers.comms_support import FIXTURES, PLASO, of_kind, run, truth

CALLLOG = "/data/user/0/com.android.providers.contacts/databases/calllog.db"
CONTACTS2 = "/data/data/com.android.providers.contacts/databases/contacts2.db"


def _ms(raw: str) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(raw))


def test_plaso_contacts2_calls() -> None:
    records, warnings = run(android_calls.parse, PLASO / "android_contacts2.db", CONTACTS2, region="US")
    calls = of_kind(records, "call")
    rows = truth(PLASO / "truth" / "android_contacts2.calls.csv")
    assert [c.provenance.rowid for c in calls] == [int(r["_id"]) for r in rows]
    for c, row in zip(calls, rows, strict=True):
        assert c.number == row["number"] and c.name == row["name"] and c.duration_s == int(row["duration"])
        assert c.time_utc == _ms(row["date"]) and c.time_raw == int(row["date"])
    first = calls[0]  # plaso's expectation: missed, 2013-11-06T21:17:16.690Z, duration 0
    assert first.direction == "missed" and first.time_utc == datetime(2013, 11, 6, 21, 17, 16, 690000, tzinfo=UTC)
    assert first.number_id == "+15404561685"
    assert warnings == []


def test_every_call_type_of_android_12() -> None:
    here = FIXTURES / "android_calls"
    records, warnings = run(android_calls.parse, here / "calllog.db", CALLLOG)
    calls = {c.provenance.rowid: c for c in of_kind(records, "call")}
    rows = {int(r["_id"]): r for r in truth(here / "truth" / "calls.csv")}
    assert sorted(calls) == sorted(rows)
    expected = {"1": ("incoming", "incoming"), "2": ("outgoing", "outgoing"), "3": ("missed", "missed"),
                "4": ("incoming", "voicemail"), "5": ("rejected", "rejected"), "6": ("rejected", "blocked"),
                "7": ("incoming", "answered externally")}
    for rowid, row in rows.items():
        c = calls[rowid]
        assert (c.direction, c.call_type) == expected[row["type"]]
        assert c.video is (row["features"] == "1")
        assert (c.deleted is not None) is (row["deleted"] == "1")
        assert c.time_utc == _ms(row["date"])
    assert calls[1].number_id == calls[2].number_id == "+447700900123"
    assert calls[9].number_id is None and "com.whatsapp" in calls[9].app  # a VoIP call through Telecom
    report = next(r for r in records if r.record_type == "sqlite_table")
    assert report.gaps == ("8",) and report.missing_rowids == 1
    assert warnings == []
