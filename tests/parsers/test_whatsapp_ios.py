"""parsers.whatsapp_ios against a ChatStorage.sqlite built from the real iOS 15 schema text
(truth: sqlite3 shell)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parsers import whatsapp_ios
from tests.parsers.comms_support import FIXTURES, of_kind, run, truth

HERE = FIXTURES / "whatsapp_ios"
GROUP = "/private/var/mobile/Containers/Shared/AppGroup/0A1B2C3D-0000-0000-0000-000000000000"
MEDIA = f"{GROUP}/Message/Media/447700900123@s.whatsapp.net/a/b/photo.jpg"


def test_messages_groups_media() -> None:
    records, warnings = run(whatsapp_ios.parse, HERE / "ChatStorage.sqlite", f"{GROUP}/ChatStorage.sqlite",
                            extra={MEDIA: HERE / "Message/Media/447700900123@s.whatsapp.net/a/b/photo.jpg"})
    msgs = {m.provenance.rowid: m for m in of_kind(records, "message")}
    rows = truth(HERE / "truth" / "message.csv")
    assert sorted(msgs) == [int(r["Z_PK"]) for r in rows]
    for row in rows:
        m = msgs[int(row["Z_PK"])]
        assert m.time_utc == datetime(2001, 1, 1, tzinfo=UTC) + timedelta(seconds=int(row["ZMESSAGEDATE"]))
        assert (m.body or "") == row["ZTEXT"] and m.thread == row["ZCONTACTJID"]
        assert m.direction == ("outgoing" if row["ZISFROMME"] == "1" else "incoming")
    assert msgs[1].sender_id == "+447700900123" and msgs[1].sender_name == "Alex Example"
    group = msgs[4]  # the sender is the member, not the group's name
    assert group.sender == "447700900456@s.whatsapp.net" and group.sender_name == "Sam"
    assert set(group.participant_ids) == {"+447700900123", "+447700900456"}
    (att,) = msgs[3].attachments
    assert att["path"] == MEDIA
    assert warnings == []
