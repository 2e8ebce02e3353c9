"""parsers.android_sms against plaso's real mmssms.db and a database built from the
Android 12 schema with MMS parts and an un-checkpointed WAL (truth: sqlite3 shell)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parsers import android_sms
from tests.parsers.comms_support import FIXTURES, PLASO, of_kind, run, truth

CE = "/data/user/0/com.android.providers.telephony/databases/mmssms.db"
DE = "/data/user_de/0/com.android.providers.telephony/databases/mmssms.db"
HERE = FIXTURES / "android_sms"
PART = "/data/user/0/com.android.providers.telephony/app_parts/PART_1700000000001.jpg"


def _ms(raw: str) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(raw))


def test_selected_by_path_in_both_stores() -> None:
    import parsers

    for path in (CE, DE, "/data/data/com.android.providers.telephony/databases/mmssms.db"):
        assert "android_sms" in [s.name for s in parsers.for_type("application/x-sqlite3", "db", path)]
    assert "android_sms" not in [s.name for s in parsers.for_type("application/x-sqlite3", "db", "/tmp/mmssms.db")]


def test_plaso_mmssms_every_sms_as_the_shell_reads_it() -> None:
    records, warnings = run(android_sms.parse, PLASO / "android_mmssms.db", CE, region="US")
    messages = of_kind(records, "message")
    rows = truth(PLASO / "truth" / "android_mmssms.sms.csv")
    assert len(messages) == len(rows) == 9
    for m, row in zip(messages, rows, strict=True):
        assert m.provenance.table == "sms" and m.provenance.rowid == int(row["_id"])
        assert m.body == row["body"]
        assert m.time_raw == int(row["date"]) and m.time_epoch == "unix-ms"
        assert m.time_utc == _ms(row["date"])
        assert m.direction == {"1": "incoming", "2": "outgoing"}[row["type"]]
        assert m.sent_utc == (None if row["date_sent"] == "0" else _ms(row["date_sent"]))
        assert m.deleted is None
    assert sum(m.direction == "outgoing" for m in messages) == 5  # plaso: 5 sent, 4 received
    first = messages[0]  # plaso's expected first record
    assert first.time_utc == datetime(2013, 10, 29, 16, 56, 28, 38000, tzinfo=UTC)
    assert first.body == "Yo Fred this is my new number." and first.read is True
    incoming = [m for m in messages if m.direction == "incoming"]
    assert {m.sender_id for m in incoming} == {"+15555215554"}  # US region: "15555215554" in E.164
    assert warnings == [] or all("lacks column" in w for w in warnings)


def test_wal_rows_and_rows_only_in_the_main_file() -> None:
    records, _ = run(android_sms.parse, HERE / "mmssms.db", CE,
                     extra={PART: HERE / "app_parts" / "PART_1700000000001.jpg"})
    sms = [m for m in of_kind(records, "message") if m.service == "SMS"]
    live = {m.provenance.rowid: m for m in sms if m.deleted is None}
    gone = {m.provenance.rowid: m for m in sms if m.deleted is not None}
    with_wal = truth(HERE / "truth" / "sms.with-wal.csv")
    main_only = truth(HERE / "truth" / "sms.main-only.csv")
    assert sorted(live) == [int(r["_id"]) for r in with_wal]
    for row in with_wal:
        m = live[int(row["_id"])]
        assert len(m.body) == int(row["length(body)"]) and m.body.startswith(row["substr(body, 1, 60)"])
    # rows of the main file that the WAL deleted (3) or changed (4): shown, marked
    changed = {int(r["_id"]) for r in main_only} - {int(r["_id"]) for r in with_wal} | {
        int(r["_id"]) for r in main_only for w in with_wal if r["_id"] == w["_id"] and r != w}
    assert sorted(gone) == sorted(changed) == [3, 4]
    assert all(m.deleted == "deleted or changed since last checkpoint" for m in gone.values())
    assert gone[4].body == "Original text before edit" and live[4].body == "Edited text after checkpoint"
    m5 = live[5]
    assert m5.sender == "07700 900123" and m5.sender_id == "+447700900123"
    assert m5.participant_ids == ("+447700900123",)
    assert "\u202e" in m5.body and "😀" in m5.body  # stored text kept as it is
    report = next(r for r in records if r.record_type == "sqlite_table" and r.table == "sms")
    assert report.gaps == ("3",) and report.missing_rowids == 1 and report.rows_only_without_log == 2


def test_mms_parts_addresses_and_seconds() -> None:
    records, _ = run(android_sms.parse, HERE / "mmssms.db", CE,
                     extra={PART: HERE / "app_parts" / "PART_1700000000001.jpg"})
    mms = {m.provenance.rowid: m for m in of_kind(records, "message") if m.service == "MMS"}
    pdu = {int(r["_id"]): r for r in truth(HERE / "truth" / "pdu.csv")}
    assert sorted(mms) == sorted(pdu)
    for rowid, row in pdu.items():  # pdu.date is seconds, not milliseconds
        assert mms[rowid].time_utc == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(row["date"]))
        assert mms[rowid].time_epoch == "unix-s"
    photo = mms[1]
    assert photo.direction == "incoming" and photo.sender_id == "+447700900123"
    assert photo.body == "Look at this" and photo.subject == "Photo"
    (att,) = photo.attachments
    assert att["mime"] == "image/jpeg" and att["path"] == PART
    assert att["size"] == (HERE / "app_parts" / "PART_1700000000001.jpg").stat().st_size
    group = mms[2]
    assert group.direction == "outgoing" and group.sender is None
    assert group.participant_ids == ("+447700900456", "+447700900789")
    assert group.body == "Group hello to you both"


def test_not_sqlite_is_one_warning(tmp_path) -> None:
    bad = tmp_path / "mmssms.db"
    bad.write_bytes(b"this is not a database" * 100)
    import pytest

    from devicex.errors import Damage

    with pytest.raises(Damage, match="not an SQLite database"):
        run(android_sms.parse, bad, CE)
