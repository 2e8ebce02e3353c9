"""parsers.ios_sms against plaso's real Messages chat.db (the iOS sms.db layout) and an sms.db
built from its schema text with nanosecond dates, attributedBody-only text, a group chat and an
attachment (truth: sqlite3 shell)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parsers import ios_sms
from tests.parsers.comms_support import FIXTURES, PLASO, of_kind, run, truth

COCOA = datetime(2001, 1, 1, tzinfo=UTC)
PATH = "/private/var/mobile/Library/SMS/sms.db"
HERE = FIXTURES / "ios_sms"
ATTACHMENT = "/private/var/mobile/Library/SMS/Attachments/ab/01/GUID-A1/IMG_0001.jpeg"


def test_plaso_chat_db() -> None:
    records, warnings = run(ios_sms.parse, PLASO / "sqlite_imessage_chat.db", "/Users/x/Library/Messages/chat.db")
    msgs = of_kind(records, "message")
    rows = truth(PLASO / "truth" / "imessage.message.csv")
    assert [m.provenance.rowid for m in msgs] == [int(r["ROWID"]) for r in rows]
    for m, row in zip(msgs, rows, strict=True):
        assert m.body == row["text"] and m.service == row["service"]
        assert m.time_utc == COCOA + timedelta(seconds=int(row["date"])) and m.time_epoch == "cocoa-s"
        assert m.direction == ("outgoing" if row["is_from_me"] == "1" else "incoming")
        if row["is_from_me"] == "0":
            assert m.sender == row["handle"]
    eighth = msgs[7]  # plaso's expectation
    assert eighth.time_utc == datetime(2015, 11, 30, 10, 48, 40, tzinfo=UTC)
    assert eighth.body == "Did you try to send me a message?"
    assert warnings == []


def test_nanoseconds_attributed_body_groups_and_attachments() -> None:
    records, warnings = run(ios_sms.parse, HERE / "sms.db", PATH,
                            extra={ATTACHMENT: HERE / "Attachments" / "ab" / "01" / "GUID-A1" / "IMG_0001.jpeg"})
    msgs = {m.provenance.rowid: m for m in of_kind(records, "message")}
    rows = {int(r["ROWID"]): r for r in truth(HERE / "truth" / "message.csv")}
    chats = {r["ROWID"]: r for r in truth(HERE / "truth" / "chat.csv")}
    assert sorted(msgs) == sorted(rows)
    for rowid, row in rows.items():
        raw = int(row["date"])
        m = msgs[rowid]
        expected = COCOA + (timedelta(microseconds=raw // 1000) if raw > 10**11 else timedelta(seconds=raw))
        assert m.time_utc == expected, rowid
        assert m.time_epoch == ("cocoa-ns" if raw > 10**11 else "cocoa-s")
        assert set(m.participants) == set(chats[row["chat_id"]]["members"].split())
    assert msgs[3].body == (HERE / "truth" / "attributed_text.txt").read_text(encoding="utf-8")
    assert msgs[4].thread_name == "Weekend <plans>" and msgs[4].sender_id == "someone@example.com"
    assert msgs[5].direction == "outgoing" and msgs[5].sender is None
    assert set(msgs[5].participant_ids) == {"someone@example.com", "+447700900456"}
    (att,) = msgs[6].attachments
    assert att["path"] == ATTACHMENT and att["mime"] == "image/jpeg"
    assert warnings == []
