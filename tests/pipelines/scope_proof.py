"""A phone image for the record-level scope proof: real SQLite databases made from the apps' real schema
text (fixtures/comms/*/schema.sql), holding conversations with several people, each message carrying a
unique marker (Android SMS/MMS with attachments, Google Messages, WhatsApp Android and iOS, iMessage,
Android and iOS call logs), packed into ext4 by mke2fs -d. ``expected(mode)`` says which markers a scope taking the
messages and calls with SUSPECT in WINDOW must bring out, for each ``group_chats`` mode.

People: SUSPECT (07700 900123), OTHER (+44 7700 900456), THIRD (+44 7700 900789); a WhatsApp linked
identity (@lid) with no mapping, and the suspect's own linked identity mapped through jid_map; CALLER
(+44 7700 900999) only ever calls. Groups: SUSPECT with OTHER, and OTHER with THIRD (the suspect not in it).
"""
from __future__ import annotations

import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "comms"
SUSPECT, OTHER, THIRD, CALLER = "447700900123", "447700900456", "447700900789", "447700900999"
IN, OUT = 1709467200, 1708430400  # 2024-03-03 12:00 UTC (in the window), 2024-02-20 12:00 UTC (before it)
COCOA = 978307200
MODES = ("member-messages", "whole-thread", "exclude")
ALL = frozenset(MODES)
WHOLE = frozenset({"whole-thread"})
MEMBER = frozenset({"member-messages", "whole-thread"})
NEVER: frozenset[str] = frozenset()

SCOPE = """scope_version = 1
[authorisation]
legal_basis = "PCSC 2022 s.37"
reference = "OP-TEST/12"
authorised_by = "DS 1 Test"
purpose = "Messages and calls with the suspect in the week of the offence"
user_agreement = true
dpn_reference = "DPN-12"
less_intrusive_means = "Screenshots offered: no metadata"

[[select]]
label = "messages and calls with the suspect, week of the offence"
communications = ["messages", "calls"]
participants = ["07700 900123"]
windows = [{ start = 2024-03-01, end = 2024-03-07 }]
group_chats = "%s"
"""


@dataclass
class Markers:
    """marker -> the group_chats modes in which it must be extracted (empty: never)."""

    wanted: dict[str, frozenset[str]] = field(default_factory=dict)
    n: int = 0

    def new(self, app: str, modes: frozenset[str]) -> str:
        self.n += 1
        marker = f"ZQ{app}{self.n:04d}X"
        self.wanted[marker] = modes
        return marker

    def expected(self, mode: str) -> tuple[set[str], set[str]]:
        """(markers that must be present, markers that must be absent) for a scope in ``mode``."""
        present = {m for m, modes in self.wanted.items() if mode in modes}
        return present, set(self.wanted) - present


def _schema(app: str) -> str:
    text = (FIXTURES / app / "schema.sql").read_text()
    return "\n".join(line for line in text.splitlines()
                     if not line.startswith("CREATE TABLE sqlite_sequence")
                     and not line.startswith("CREATE TABLE IF NOT EXISTS 'words_"))


def _db(path: Path, app: str, rows: list[tuple[str, tuple[object, ...]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(_schema(app))
    for sql, values in rows:
        conn.execute(sql, values)
    conn.commit()
    conn.close()


def _android_sms(root: Path, mk: Markers) -> None:
    sms = "INSERT INTO sms (thread_id, address, date, date_sent, type, read, body) VALUES (?, ?, ?, 0, ?, 1, ?)"
    rows: list[tuple[str, tuple[object, ...]]] = [
        ("INSERT INTO canonical_addresses (_id, address) VALUES (?, ?)", (1, "07700 900123")),
        ("INSERT INTO canonical_addresses (_id, address) VALUES (?, ?)", (2, "+44 7700 900456")),
        ("INSERT INTO threads (_id, recipient_ids) VALUES (?, ?)", (1, "1")),
        ("INSERT INTO threads (_id, recipient_ids) VALUES (?, ?)", (2, "2")),
        ("INSERT INTO threads (_id, recipient_ids) VALUES (?, ?)", (3, "1 2")),
        (sms, (1, "07700 900123", IN * 1000, 1, mk.new("sms", ALL))),
        (sms, (1, "07700 900123", IN * 1000 + 60_000, 2, mk.new("sms", ALL))),
        (sms, (1, "07700 900123", OUT * 1000, 1, mk.new("sms", NEVER))),
        (sms, (2, "+44 7700 900456", IN * 1000, 1, mk.new("sms", NEVER))),
    ]
    part_file = root / "data/user/0/com.android.providers.telephony/app_parts"
    part_file.mkdir(parents=True, exist_ok=True)
    mms = [  # (thread, box, sender or None for outgoing, recipients, modes)
        (1, 1, "07700 900123", [], ALL),
        (2, 1, "+44 7700 900456", [], NEVER),
        (3, 1, "07700 900123", ["+44 7700 900456"], MEMBER),
        (3, 1, "+44 7700 900456", ["07700 900123"], WHOLE),
        (3, 2, None, ["07700 900123", "+44 7700 900456"], WHOLE),
    ]
    for n, (thread, box, sender, to, modes) in enumerate(mms, 1):
        rows.append(("INSERT INTO pdu (_id, thread_id, date, date_sent, msg_box, read, m_type, ct_t) "
                     "VALUES (?, ?, ?, 0, ?, 1, ?, 'application/vnd.wap.multipart.related')",
                     (n, thread, IN + n, box, 132 if box == 1 else 128)))
        rows.append(("INSERT INTO addr (msg_id, address, type, charset) VALUES (?, ?, 137, 106)",
                     (n, sender or "insert-address-token")))
        for who in to:
            rows.append(("INSERT INTO addr (msg_id, address, type, charset) VALUES (?, ?, 151, 106)", (n, who)))
        rows.append(("INSERT INTO part (mid, seq, ct, cl, text) VALUES (?, 0, 'text/plain', 'text_0.txt', ?)",
                     (n, mk.new("mms", modes))))
        name = f"PART_{n}.jpg"  # the attachment's bytes carry a marker too
        (part_file / name).write_bytes(b"\xff\xd8\xff\xe0" + mk.new("att", modes).encode())
        rows.append(("INSERT INTO part (mid, seq, ct, name, cl, _data) VALUES (?, 1, 'image/jpeg', ?, ?, ?)",
                     (n, name, name, f"/data/user/0/com.android.providers.telephony/app_parts/{name}")))
    _db(root / "data/user/0/com.android.providers.telephony/databases/mmssms.db", "android_sms", rows)


def _whatsapp_android(root: Path, mk: Markers) -> None:
    jid = "INSERT INTO jid (_id, user, server, type, raw_string) VALUES (?, ?, ?, ?, ?)"
    rows: list[tuple[str, tuple[object, ...]]] = [
        (jid, (1, SUSPECT, "s.whatsapp.net", 0, f"{SUSPECT}@s.whatsapp.net")),
        (jid, (2, OTHER, "s.whatsapp.net", 0, f"{OTHER}@s.whatsapp.net")),
        (jid, (3, THIRD, "s.whatsapp.net", 0, f"{THIRD}@s.whatsapp.net")),
        (jid, (4, "120363000000000001", "g.us", 1, "120363000000000001@g.us")),
        (jid, (5, "120363000000000002", "g.us", 1, "120363000000000002@g.us")),
        (jid, (6, "99887766554433", "lid", 0, "99887766554433@lid")),
        (jid, (7, "11223344556677", "lid", 0, "11223344556677@lid")),  # the suspect's linked identity
        ("INSERT INTO jid_map (lid_row_id, jid_row_id, sort_id) VALUES (?, ?, ?)", (7, 1, 1)),
        ("INSERT INTO chat (_id, jid_row_id, subject) VALUES (?, ?, ?)", (1, 1, None)),
        ("INSERT INTO chat (_id, jid_row_id, subject) VALUES (?, ?, ?)", (2, 2, None)),
        ("INSERT INTO chat (_id, jid_row_id, subject) VALUES (?, ?, ?)", (3, 4, "With the suspect")),
        ("INSERT INTO chat (_id, jid_row_id, subject) VALUES (?, ?, ?)", (4, 5, "Without the suspect")),
        ("INSERT INTO chat (_id, jid_row_id, subject) VALUES (?, ?, ?)", (5, 6, None)),
        ("INSERT INTO chat (_id, jid_row_id, subject) VALUES (?, ?, ?)", (6, 7, None)),
    ]
    for group, user in ((4, 1), (4, 2), (5, 2), (5, 3)):
        rows.append(("INSERT INTO group_participant_user (group_jid_row_id, user_jid_row_id) VALUES (?, ?)",
                     (group, user)))
    messages = [  # chat, from_me, sender jid row (groups), time, modes
        (1, 0, None, IN, ALL), (1, 1, None, IN + 60, ALL), (1, 0, None, OUT, NEVER), (2, 0, None, IN, NEVER),
        (3, 0, 1, IN, MEMBER), (3, 0, 2, IN + 1, WHOLE), (3, 1, None, IN + 2, WHOLE),
        (4, 0, 2, IN, NEVER), (4, 0, 3, IN + 1, NEVER), (5, 0, None, IN, NEVER),
        (1, 0, None, None, NEVER),  # no time recorded: counted, not taken
        (6, 0, None, IN, ALL),  # with the suspect's linked identity, mapped through jid_map
    ]
    for n, (chat, mine, sender, when, modes) in enumerate(messages, 1):  # type: ignore[assignment]
        rows.append(("INSERT INTO message (_id, chat_row_id, from_me, key_id, sender_jid_row_id, status, timestamp, "
                     "message_type, text_data) VALUES (?, ?, ?, ?, ?, 0, ?, 0, ?)",
                     (n, chat, mine, f"K{n}", sender, when and when * 1000, mk.new("wa", modes))))
    calls = [(1, IN, ALL), (1, OUT, NEVER), (2, IN, NEVER)]
    for n, (who, when, modes) in enumerate(calls, 1):
        rows.append(("INSERT INTO call_log (_id, jid_row_id, from_me, call_id, timestamp, video_call, duration, "
                     "call_result) VALUES (?, ?, 0, ?, ?, 0, 30, 5)", (n, who, f"C{n}", _call_time(mk, when, modes))))
    _db(root / "data/data/com.whatsapp/databases/msgstore.db", "whatsapp_android", rows)


def _wa_names(root: Path, mk: Markers) -> None:
    """wa.db beside msgstore.db: the names the phone knows people by (its schema as fixtures/comms/whatsapp_android
    /build.sh writes it). A name is extracted only with a message taken from that person."""
    build = (FIXTURES / "whatsapp_android" / "build.sh").read_text()
    start = build.index("CREATE TABLE wa_contacts")
    schema = build[start:build.index(";", start) + 1]
    path = root / "data/data/com.whatsapp/databases/wa.db"
    conn = sqlite3.connect(path)
    conn.execute(schema)
    for number, modes in ((SUSPECT, ALL), (OTHER, WHOLE), (THIRD, NEVER)):
        conn.execute("INSERT INTO wa_contacts (jid, is_whatsapp_user, number, display_name) VALUES (?, 1, ?, ?)",
                     (f"{number}@s.whatsapp.net", f"+{number}", mk.new("waname", modes)))
    conn.commit()
    conn.close()


def _call_time(mk: Markers, when: int, modes: frozenset[str]) -> int:
    """A call's time in ms whose digits are its marker (calls carry no text)."""
    value = when * 1000 + 100 + mk.n
    mk.n += 1
    mk.wanted[str(value)] = modes
    return value


def _ios_sms(root: Path, mk: Markers) -> None:
    rows: list[tuple[str, tuple[object, ...]]] = [
        ("INSERT INTO handle (ROWID, id, country, service) VALUES (?, ?, 'gb', 'iMessage')", (1, f"+{SUSPECT}")),
        ("INSERT INTO handle (ROWID, id, country, service) VALUES (?, ?, 'gb', 'iMessage')", (2, f"+{OTHER}")),
    ]
    chats = [(1, 45, f"+{SUSPECT}", [1]), (2, 45, f"+{OTHER}", [2]), (3, 43, "chat900", [1, 2])]
    for rowid, style, ident, members in chats:
        rows.append(("INSERT INTO chat (ROWID, guid, style, chat_identifier, service_name) "
                     "VALUES (?, ?, ?, ?, 'iMessage')", (rowid, f"iMessage;-;{ident}", style, ident)))
        rows += [("INSERT INTO chat_handle_join (chat_id, handle_id) VALUES (?, ?)", (rowid, h)) for h in members]
    messages = [(1, 1, 0, IN, ALL), (1, 0, 1, IN + 60, ALL), (1, 1, 0, OUT, NEVER), (2, 2, 0, IN, NEVER),
                (3, 1, 0, IN, MEMBER), (3, 2, 0, IN + 1, WHOLE), (3, 0, 1, IN + 2, WHOLE)]
    for n, (chat, handle, mine, when, modes) in enumerate(messages, 1):
        rows.append(("INSERT INTO message (ROWID, guid, text, handle_id, service, date, is_from_me, is_read) "
                     "VALUES (?, ?, ?, ?, 'iMessage', ?, ?, 1)", (n, f"M{n}", mk.new("imsg", modes), handle,
                                                                 (when - COCOA) * 1_000_000_000, mine)))
        rows.append(("INSERT INTO chat_message_join (chat_id, message_id) VALUES (?, ?)", (chat, n)))
    _db(root / "private/var/mobile/Library/SMS/sms.db", "ios_sms", rows)


def _whatsapp_ios(root: Path, mk: Markers) -> None:
    rows: list[tuple[str, tuple[object, ...]]] = []
    sessions = [(1, 0, f"{SUSPECT}@s.whatsapp.net"), (2, 0, f"{OTHER}@s.whatsapp.net"),
                (3, 1, "120363000000000003@g.us")]
    for pk, kind, jid in sessions:
        rows.append(("INSERT INTO ZWACHATSESSION (Z_PK, Z_ENT, Z_OPT, ZSESSIONTYPE, ZCONTACTJID) VALUES "
                     "(?, 4, 1, ?, ?)", (pk, kind, jid)))
    for pk, jid in ((1, f"{SUSPECT}@s.whatsapp.net"), (2, f"{OTHER}@s.whatsapp.net")):
        rows.append(("INSERT INTO ZWAGROUPMEMBER (Z_PK, Z_ENT, Z_OPT, ZCHATSESSION, ZMEMBERJID) VALUES "
                     "(?, 5, 1, 3, ?)", (pk, jid)))
    messages = [(1, None, 0, f"{SUSPECT}@s.whatsapp.net", IN, ALL), (1, None, 1, None, IN + 60, ALL),
                (1, None, 0, f"{SUSPECT}@s.whatsapp.net", OUT, NEVER), (2, None, 0, f"{OTHER}@s.whatsapp.net", IN,
                                                                         NEVER),
                (3, 1, 0, "120363000000000003@g.us", IN, MEMBER), (3, 2, 0, "120363000000000003@g.us", IN + 1, WHOLE),
                (3, None, 1, None, IN + 2, WHOLE)]
    for n, (session, member, mine, sender, when, modes) in enumerate(messages, 1):
        rows.append(("INSERT INTO ZWAMESSAGE (Z_PK, Z_ENT, Z_OPT, ZISFROMME, ZCHATSESSION, ZGROUPMEMBER, "
                     "ZMESSAGEDATE, ZFROMJID, ZTEXT, ZMESSAGETYPE) VALUES (?, 9, 1, ?, ?, ?, ?, ?, ?, 0)",
                     (n, mine, session, member, when - COCOA, sender, mk.new("wai", modes))))
    _db(root / "private/var/mobile/Containers/Shared/AppGroup/0A1B2C3D-0000-0000-0000-000000000000/"
               "ChatStorage.sqlite", "whatsapp_ios", rows)


def _android_calls(root: Path, mk: Markers) -> None:
    rows: list[tuple[str, tuple[object, ...]]] = []
    for number, when, modes in (("07700 900123", IN, ALL), ("07700 900123", OUT, NEVER),
                                ("+44 7700 900999", IN, NEVER)):
        rows.append(("INSERT INTO calls (number, date, duration, type, features, deleted) VALUES (?, ?, 20, 1, 0, 0)",
                     (number, _call_time(mk, when, modes))))
    mk.wanted[CALLER] = NEVER  # the caller's number is nowhere in what is taken
    mk.wanted["Without the suspect"] = NEVER
    _db(root / "data/user/0/com.android.providers.contacts/databases/calllog.db", "android_calls", rows)


def _bugle(root: Path, mk: Markers) -> None:
    rows: list[tuple[str, tuple[object, ...]]] = []
    people = [(1, 1, "+447700900000"), (2, -2, f"+{SUSPECT}"), (3, -2, f"+{OTHER}")]
    for pid, sub, number in people:
        rows.append(("INSERT INTO participants (_id, sub_id, normalized_destination, send_destination) "
                     "VALUES (?, ?, ?, ?)", (pid, sub, number, number)))
    for cid, members in ((1, [2]), (2, [3]), (3, [2, 3])):
        rows.append(("INSERT INTO conversations (_id, name, participant_count) VALUES (?, ?, ?)",
                     (cid, f"conversation {cid}", len(members))))
        rows += [("INSERT INTO conversation_participants VALUES (?, ?)", (cid, m)) for m in members]
    messages = [(1, 2, IN, ALL), (1, 1, IN + 60, ALL), (1, 2, OUT, NEVER), (2, 3, IN, NEVER),
                (3, 2, IN, MEMBER), (3, 3, IN + 1, WHOLE), (3, 1, IN + 2, WHOLE)]
    for n, (conversation, sender, when, modes) in enumerate(messages, 1):
        rows.append(("INSERT INTO messages (_id, conversation_id, sender_id, sent_timestamp, received_timestamp, "
                     "message_protocol, message_status, read) VALUES (?, ?, ?, ?, ?, 0, 100, 1)",
                     (n, conversation, sender, when * 1000, when * 1000)))
        rows.append(("INSERT INTO parts (message_id, text, content_type, conversation_id) VALUES (?, ?, "
                     "'text/plain', ?)", (n, mk.new("bugle", modes), conversation)))
    _db(root / "data/data/com.google.android.apps.messaging/databases/bugle_db", "bugle_db", rows)


def _ios_calls(root: Path, mk: Markers) -> None:
    rows: list[tuple[str, tuple[object, ...]]] = []
    calls = [("07700 900123", IN, ALL), ("+447700900123", OUT, NEVER), ("+44 7700 900999", IN, NEVER)]
    for n, (number, when, modes) in enumerate(calls, 1):  # the name the phone showed carries the marker
        rows.append(("INSERT INTO ZCALLRECORD (Z_PK, Z_ENT, Z_OPT, ZANSWERED, ZCALLTYPE, ZORIGINATED, ZDATE, "
                     "ZDURATION, ZADDRESS, ZNAME, ZSERVICE_PROVIDER) VALUES (?, 2, 1, 1, 1, 0, ?, 12.0, ?, ?, "
                     "'com.apple.Telephony')", (n, float(when - COCOA), number, mk.new("ioscall", modes))))
    _db(root / "private/var/mobile/Library/CallHistoryDB/CallHistory.storedata", "ios_callhistory", rows)


def build(folder: Path) -> tuple[Path, Markers]:
    """The image (ext4, by mke2fs -d) and its markers."""
    root = folder / "root"
    mk = Markers()
    for make in (_android_sms, _bugle, _whatsapp_android, _wa_names, _ios_sms, _whatsapp_ios, _android_calls,
                 _ios_calls):
        make(root, mk)
    (root / "sdcard/DCIM").mkdir(parents=True)
    (root / "sdcard/DCIM/holiday.jpg").write_bytes(b"\xff\xd8\xff\xe0" + mk.new("photo", NEVER).encode())
    image = folder / "phone.img"
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-b", "4096", "-d", str(root), str(image), "8M"], check=True,
                   env={"PATH": "/usr/sbin:/sbin:/usr/bin:/bin", "E2FSPROGS_FAKE_TIME": "1709467200"})
    return image, mk
