"""parsers.ios_callhistory against a CallHistory.storedata built from the columns iLEAPP reads
(truth: sqlite3 shell)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parsers import ios_callhistory
from tests.parsers.comms_support import FIXTURES, of_kind, run, truth

HERE = FIXTURES / "ios_callhistory"


def test_calls() -> None:
    records, warnings = run(ios_callhistory.parse, HERE / "CallHistory.storedata",
                            "/private/var/mobile/Library/CallHistoryDB/CallHistory.storedata")
    calls = {c.provenance.rowid: c for c in of_kind(records, "call")}
    rows = truth(HERE / "truth" / "calls.csv")
    assert sorted(calls) == [int(r["Z_PK"]) for r in rows]
    for row in rows:
        c = calls[int(row["Z_PK"])]
        expected = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(microseconds=round(float(row["ZDATE"]) * 1e6))
        assert c.time_utc == expected and c.number == row["address"]
        direction = "outgoing" if row["ZORIGINATED"] == "1" else ("incoming" if row["ZANSWERED"] == "1" else "missed")
        assert c.direction == direction
        assert c.duration_s == round(float(row["ZDURATION"]))
    assert calls[1].number_id == calls[2].number_id == "+447700900123"
    assert calls[4].app == "FaceTime" and calls[4].video is True and calls[4].number_id == "someone@example.com"
    assert "net.whatsapp.WhatsApp" in calls[5].app
    assert calls[6].number == "07700 900999"  # stored as a BLOB
    assert warnings == []
