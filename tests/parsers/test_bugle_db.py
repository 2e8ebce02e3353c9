"""parsers.bugle_db against a bugle_db built from AOSP Messaging's schema whose WAL holds the newest
messages (truth: sqlite3 shell, with and without the WAL)."""
from __future__ import annotations

from parsers import bugle_db
from tests.parsers.comms_support import FIXTURES, of_kind, run, truth

HERE = FIXTURES / "bugle_db"
PATH = "/data/data/com.google.android.apps.messaging/databases/bugle_db"


def test_messages_with_the_wal() -> None:
    records, warnings = run(bugle_db.parse, HERE / "bugle_db", PATH)
    msgs = {m.provenance.rowid: m for m in of_kind(records, "message")}
    rows = truth(HERE / "truth" / "messages.with-wal.csv")
    main_only = truth(HERE / "truth" / "messages.main-only.csv")
    assert len(main_only) < len(rows)  # the WAL holds messages the main file has not
    assert sorted(msgs) == [int(r["_id"]) for r in rows]
    for row in rows:
        m = msgs[int(row["_id"])]
        assert m.body == row["body"] and m.time_raw == int(row["received_timestamp"])
        expected = {"": "unknown", "-2": "incoming"}.get(row["sub_id"], "outgoing")
        assert m.direction == expected
        assert m.deleted is None
    assert msgs[1].sender_id == "+447700900123" and msgs[1].sender_name == "Alex Example"
    assert msgs[3].participant_ids == ("+447700900123", "+447700900456") and msgs[3].service == "MMS"
    assert msgs[3].attachments[0]["mime"] == "image/jpeg"
    assert msgs[4].service == "RCS"
    assert warnings == []
