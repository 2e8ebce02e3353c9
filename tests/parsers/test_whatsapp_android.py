"""parsers.whatsapp_android against msgstore.db/wa.db built from the real schema text with
synthetic rows (truth: sqlite3 shell): groups, @lid identities through jid_map, revoked and
WAL-deleted messages, media resolved on shared storage, calls, the legacy messages table and
an encrypted backup."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parsers import whatsapp_android
from tests.parsers.comms_support import FIXTURES, of_kind, run, truth

HERE = FIXTURES / "whatsapp_android"
DB = "/data/data/com.whatsapp/databases/msgstore.db"
IMAGE = "/data/media/0/Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images/IMG-20231114-WA0001.jpg"


def _run():  # type: ignore[no-untyped-def]
    return run(whatsapp_android.parse, HERE / "msgstore.db", DB,
               extra={IMAGE: HERE / "media" / "WhatsApp Images" / "IMG-20231114-WA0001.jpg"})


def test_messages_as_the_shell_reads_them() -> None:
    records, warnings = _run()
    msgs = of_kind(records, "message")
    live = {m.provenance.rowid: m for m in msgs if m.deleted is None or "revoked" in m.deleted}
    rows = truth(HERE / "truth" / "message.with-wal.csv")
    assert sorted(live) == [int(r["_id"]) for r in rows]
    for row in rows:
        m = live[int(row["_id"])]
        assert m.time_utc == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(row["timestamp"]))
        assert m.direction == ("outgoing" if row["from_me"] == "1" else "incoming")
        if row["text_data"]:
            assert m.body == row["text_data"]
    assert live[1].sender_id == "+447700900123" and live[1].sender_name == "Alex Example"  # wa.db name
    assert live[2].sender is None and live[2].participant_ids == ("+447700900123",)
    group = live[4]
    assert group.thread == "120363000000000001@g.us" and group.thread_name == "Family <b>group</b>"
    assert group.sender_id == "+447700900456" and set(group.participant_ids) == {"+447700900456", "+447700900789"}
    (lid,) = truth(HERE / "truth" / "jid_map.csv")
    assert live[5].sender == lid["lid"] and live[5].sender_id == "+" + lid["phone"].split("@")[0]
    assert live[5].sender_name == "Lid Person"
    assert live[8].thread == lid["phone"] and live[8].sender_id == "+447700900789"
    (att,) = live[6].attachments
    assert att["path"] == IMAGE and att["mime"] == "image/jpeg" and live[6].body == "A photo caption"
    assert live[7].deleted == "deleted for everyone (message_revoked)"
    (gone,) = [m for m in msgs if m.deleted == "deleted or changed since last checkpoint"]
    assert gone.provenance.rowid == 3 and gone.body == "Soon to be deleted"
    assert warnings == []


def test_calls() -> None:
    records, _ = _run()
    calls = {c.provenance.rowid: c for c in of_kind(records, "call")}
    for row in truth(HERE / "truth" / "call_log.csv"):
        c = calls[int(row["_id"])]
        assert c.number == row["raw_string"] and c.duration_s == int(row["duration"])
        assert c.video is (row["video_call"] == "1")
    assert [calls[i].direction for i in (1, 2, 3)] == ["incoming", "outgoing", "missed"]
    assert calls[3].number_id == "+447700900789"  # the @lid caller mapped to a number


def test_legacy_messages_table() -> None:
    records, warnings = run(whatsapp_android.parse, HERE / "legacy" / "msgstore.db", DB)
    msgs = {m.provenance.rowid: m for m in of_kind(records, "message")}
    rows = [r for r in truth(HERE / "truth" / "legacy.messages.csv") if r["key_remote_jid"] != "-1"]
    assert sorted(msgs) == [int(r["_id"]) for r in rows]
    for row in rows:
        m = msgs[int(row["_id"])]
        assert m.thread == row["key_remote_jid"] and (m.body or "") == row["data"]
        assert m.time_raw == int(row["timestamp"])
    assert msgs[4].sender_id == "+447700900456" and msgs[3].direction == "outgoing"
    assert msgs[5].attachments[0]["mime"] == "image/jpeg"
    assert warnings == []


def test_encrypted_backup_is_recorded_not_parsed() -> None:
    path = "/data/media/0/Android/media/com.whatsapp/WhatsApp/Databases/msgstore-2023-11-14.1.db.crypt15"
    records, warnings = run(whatsapp_android.parse, HERE / "msgstore-2023-11-14.1.db.crypt15", path)
    (rec,) = records
    assert rec.record_type == "encrypted_store" and "key needed" in rec.note and warnings == []
