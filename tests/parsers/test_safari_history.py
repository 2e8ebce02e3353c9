"""parsers.safari_history against plaso's real Safari History.db (truth: sqlite3 shell)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parsers import safari_history
from tests.parsers.comms_support import PLASO, of_kind, run, truth


def test_every_visit() -> None:
    records, warnings = run(safari_history.parse, PLASO / "safari_History.db",
                            "/private/var/mobile/Library/Safari/History.db")
    visits = of_kind(records, "web_visit")
    rows = truth(PLASO / "truth" / "safari.visits.csv")
    assert [v.provenance.rowid for v in visits] == [int(r["id"]) for r in rows] and len(visits) == 25
    for v, row in zip(visits, rows, strict=True):
        assert v.url == row["url"] and (v.title or "") == row["title"] and v.synced is False
        expected = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(microseconds=round(float(row["visit_time"]) * 1e6))
        assert abs(v.time_utc - expected) <= timedelta(microseconds=1)
    second = visits[1]  # plaso's expectation
    assert second.url == "http://facebook.com/" and second.visit_count == 2
    assert abs(second.time_utc - datetime(2017, 11, 9, 21, 24, 28, 829571, tzinfo=UTC)) <= timedelta(microseconds=1)
    assert warnings == []
