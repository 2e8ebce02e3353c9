"""Record-level scope decisions on records made as the parsers make them: one person however the
device stored the number (national, international, WhatsApp JID, a contact card's), WhatsApp linked
identities with and without their mapping, messages with no time, group chats in each mode, apps."""
from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import parsers
from devicex.comms import Call, Contact, Message, WebVisit, identities, identity
from devicex.records import Provenance
from devicex.scope import parse_text
from pipelines.extract import ExtractOptions, run
from pipelines.record_scope import NO_TIME, UNRESOLVED, RecordScope
from pipelines.select import ScopeSelector
from tests.devicex.test_scope import scope_text
from tests.parsers.comms_support import FIXTURES

ROW = Provenance("phone.img", "p1", "12", "/data/x.db", None, "message", 1)
IN = datetime(2024, 3, 3, 12, 0, tzinfo=UTC)
OUT = datetime(2024, 2, 20, 12, 0, tzinfo=UTC)
SUSPECT = "+447700900123"


def scope(select: str = "", groups: str = "member-messages", kinds: str = '"messages", "calls"') -> RecordScope:
    body = select or f"""
[[select]]
communications = [{kinds}]
participants = ["07700 900123"]
windows = [{{ start = 2024-03-01, end = 2024-03-07 }}]
group_chats = "{groups}"
"""
    return RecordScope(parse_text(scope_text(body)), parsers.registry())


def message(stored: list[str], *, sender: str | None = None, when: datetime | None = IN, thread: str | None = None,
            app: str = "WhatsApp", service: str | None = "WhatsApp") -> Message:
    return Message(provenance=ROW, app=app, service=service, thread=thread, sender=sender,
                   sender_id=identity(sender), participants=tuple(stored), participant_ids=identities(stored),
                   body="x", time_utc=when)


@pytest.mark.parametrize("stored", ["07700900123", "07700 900123", "+44 7700 900123", "447700900123@s.whatsapp.net",
                                    "+447700900123", "0044 7700 900123"])
def test_one_person_however_the_number_was_stored(stored: str) -> None:
    rs = scope()
    assert rs.judge(message([stored], sender=stored)) is None
    call = Call(provenance=ROW, app="Android call log", number=stored, number_id=identity(stored), time_utc=IN)
    assert rs.judge(call) is None
    assert rs.judge(message(["+44 7700 900456"])) == "message: participant not selected"


def test_contact_cards_only_of_the_participants() -> None:
    rs = RecordScope(parse_text(scope_text("""
[[select]]
communications = ["contacts"]
participants = ["07700 900123", "Suspect@Example.com"]
""")), parsers.registry())
    card = Contact(provenance=ROW, app="Android contacts", name="A", numbers=("07700 900123",),
                   number_ids=identities(["07700 900123"]))
    by_mail = Contact(provenance=ROW, app="iOS contacts", name="B", emails=("SUSPECT@example.com",))
    other = Contact(provenance=ROW, app="Android contacts", name="C", numbers=("07700 900456",),
                    number_ids=identities(["07700 900456"]))
    assert rs.judge(card) is None and rs.judge(by_mail) is None
    assert rs.judge(other) == "contact: participant not selected"


def test_whatsapp_linked_identity() -> None:
    rs = scope()
    mapped = message([f"{SUSPECT[1:]}@s.whatsapp.net"], sender=f"{SUSPECT[1:]}@s.whatsapp.net")  # via jid_map
    unmapped = message(["99887766554433@lid"], sender="99887766554433@lid")
    assert rs.judge(mapped) is None
    assert rs.judge(unmapped) == f"message: {UNRESOLVED}"  # neither taken nor silently dropped: counted
    call = Call(provenance=ROW, app="WhatsApp", number="99887766554433@lid", number_id="99887766554433@lid",
                time_utc=IN)
    assert rs.judge(call) == f"call: {UNRESOLVED}"


def test_no_time_and_windows() -> None:
    rs = scope()
    assert rs.judge(message([SUSPECT], when=None)) == f"message: {NO_TIME}"
    assert rs.judge(message([SUSPECT], when=OUT)) == "message: outside date windows"
    assert rs.judge(message(["+447700900456"], when=None)) == "message: participant not selected"


GROUP = "120363000000000001@g.us"


@pytest.mark.parametrize(("mode", "from_suspect", "from_other", "from_owner"), [
    ("member-messages", None, "message: group message not sent by a selected participant "
                              "(group_chats = member-messages)", "message: group message not sent by a selected "
                                                                 "participant (group_chats = member-messages)"),
    ("whole-thread", None, None, None),
    ("exclude", "message: group chat (group_chats = exclude)", "message: group chat (group_chats = exclude)",
     "message: group chat (group_chats = exclude)"),
])
def test_group_chats(mode: str, from_suspect: str | None, from_other: str | None, from_owner: str | None) -> None:
    rs = scope(groups=mode)
    members = [SUSPECT, "+447700900456"]
    assert rs.judge(message(members, sender=SUSPECT, thread=GROUP)) == from_suspect
    assert rs.judge(message(members, sender="+447700900456", thread=GROUP)) == from_other
    assert rs.judge(message(members, thread=GROUP)) == from_owner
    # a group the suspect is not in is never taken
    assert rs.judge(message(["+447700900456", "+447700900789"], sender="+447700900456", thread=GROUP)) == \
        "message: participant not selected"


def test_group_with_an_unmapped_member() -> None:
    members = ["+447700900456", "99887766554433@lid"]
    assert scope(groups="whole-thread").judge(message(members, sender="+447700900456", thread=GROUP)) == \
        f"message: {UNRESOLVED}"
    assert scope(groups="member-messages").judge(message(members, sender="99887766554433@lid", thread=GROUP)) == \
        f"message: {UNRESOLVED}"


def test_apps_kinds_and_several_selections() -> None:
    rs = RecordScope(parse_text(scope_text("""
[[select]]
communications = ["messages"]
participants = ["07700 900123"]
apps = ["imessage"]
group_chats = "exclude"
[[select]]
communications = ["web"]
apps = ["chrome"]
windows = [{ start = 2024-03-01, end = 2024-03-07 }]
""")), parsers.registry())
    imessage = message([SUSPECT], app="iOS Messages", service="iMessage")
    sms = message([SUSPECT], app="iOS Messages", service="SMS")
    assert rs.judge(imessage) is None
    assert rs.judge(sms) == "message: no selection matched (1: app not selected; 2: kind not selected)"
    visit: Any = WebVisit(provenance=ROW, app="Chrome", url="https://example.org/", time_utc=IN)
    assert rs.judge(visit) is None
    assert rs.judge(WebVisit(provenance=ROW, app="Firefox", url="u", time_utc=IN)) is not None
    assert {p.name for p in rs.parsers} == {"android_sms", "bugle_db", "ios_sms", "whatsapp_android", "whatsapp_ios",
                                            "chrome_history", "firefox_places", "safari_history"}


def test_contacts_only_for_the_participants_through_the_pipeline(tmp_path: Path) -> None:
    sc = parse_text(scope_text('[[select]]\ncommunications = ["contacts"]\nparticipants = ["07700 900123"]\n'))
    out = tmp_path / "out"
    summary = run(ExtractOptions(source=FIXTURES / "comms.img", out=out, selector=ScopeSelector(sc),
                                 scope_text=sc.text, workers=1))
    assert summary.fatal is None
    conn = sqlite3.connect(out / "data" / "case.db")
    taken = [json.loads(r[0]) for r in conn.execute("SELECT data FROM records")]
    assert taken and all(SUSPECT in c["number_ids"] for c in taken)
    assert {r[0] for r in conn.execute("SELECT DISTINCT record_type FROM records")} == {"contact"}
    left = dict(conn.execute("SELECT reason, count FROM exclusions WHERE record_type = 'contact'"))
    assert left["contact: participant not selected"] > 0
    assert conn.execute("SELECT count(*) FROM files WHERE export_path IS NOT NULL").fetchone()[0] == 0
