"""WhatsApp for Android: ``msgstore.db`` (the normalised ``message``/``chat``/``jid``
schema of 2022 on, or the legacy single ``messages`` table) with contact names
from ``wa.db`` beside it, calls from ``call_log``; encrypted backups
(``msgstore*.db.crypt14``/``.crypt15``) are recorded as needing the key.

Times are milliseconds since 1970. ``@lid`` (linked identity) JIDs carry no
phone number: they are mapped to the phone-number JID through ``jid_map``.
Media ``file_path`` is relative to the WhatsApp folder on shared storage and is
resolved to the entry there (Android 11+ ``Android/media/com.whatsapp``, or the
older ``WhatsApp`` folder). A message revoked ("deleted for everyone") is kept
with its key and time and marked.
"""
from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from devicex import epochs
from devicex.comms import INCOMING, MISSED, OUTGOING, Call, Message, identity
from devicex.entries import Entry
from devicex.parsing import ParserContext
from devicex.records import Provenance, Record
from devicex.sqlitedb import Database, open_database, open_sibling

NAME = "whatsapp_android"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = ("*/com.whatsapp/databases/msgstore.db", "*/com.whatsapp.w4b/databases/msgstore.db",
         "*/msgstore*.db.crypt14", "*/msgstore*.db.crypt15", "*/msgstore*.db.crypt12")
SIBLINGS = ("*/com.whatsapp/databases/wa.db", "*/com.whatsapp.w4b/databases/wa.db")  # contact names
APP = "WhatsApp"
REVOKED = "deleted for everyone (message_revoked)"
MEDIA_ROOTS = ("media/0/Android/media/com.whatsapp/WhatsApp/", "media/0/WhatsApp/")
TYPES = {1: "image", 2: "audio", 3: "video", 4: "contact", 5: "location", 9: "document", 13: "gif", 20: "sticker"}
MESSAGE_COLUMNS = ("chat_row_id", "from_me", "key_id", "sender_jid_row_id", "status", "timestamp",
                   "received_timestamp", "message_type", "text_data")
MEDIA_COLUMNS = ("file_path", "file_size", "mime_type", "media_name", "media_caption")
LEGACY_COLUMNS = ("key_remote_jid", "key_from_me", "data", "timestamp", "received_timestamp", "remote_resource",
                  "media_mime_type", "media_name", "media_caption", "media_size", "media_wa_type", "status")


@dataclass(frozen=True, slots=True, kw_only=True)
class EncryptedBackup(Record):
    """A WhatsApp backup that cannot be read without the user's key."""

    app: str
    note: str
    size: int

    record_type: ClassVar[str] = "encrypted_store"
    label: ClassVar[str] = "Encrypted store"
    roles: ClassVar[dict[str, str]] = {"app": "app", "note": "text"}


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    if ".db.crypt" in entry.name:
        yield EncryptedBackup(provenance=Provenance.from_entry(entry), app=APP, size=ctx.size,
                              note=f"encrypted WhatsApp backup ({entry.name.rsplit('.', 1)[1]}): key needed")
        return
    names = _names(entry, ctx)
    with open_database(entry, ctx) as db:
        people = _People(db, names, ctx.region)
        if db.has("message") and db.has("chat") and db.has("jid"):
            yield from _modern(db, ctx, entry, people)
            table = "message"
        elif db.require("messages"):
            yield from _legacy(db, ctx, people)
            table = "messages"
        else:
            return
        yield from _calls(db, people)
        report = db.table_report(table)
        if report:
            yield report


def _names(entry: Entry, ctx: ParserContext) -> dict[str, str]:
    """JID -> the name the phone's address book (else the user's WhatsApp profile) gives it, from wa.db."""
    db = open_sibling(entry, ctx, "wa.db")
    if db is None:
        return {}
    with db:
        if not db.has("wa_contacts"):
            return {}
        sql = f"SELECT {db.columns('wa_contacts', ('jid', 'display_name', 'wa_name'), optional=('wa_name',))} " \
              "FROM {db}.wa_contacts"
        return {r["jid"]: r["display_name"] or r["wa_name"] for r, state in db.rows(sql)
                if r["jid"] and (r["display_name"] or r["wa_name"]) and state is None}


class _People:
    """JIDs by row id (``@lid`` ones mapped to phone-number JIDs), and their names."""

    def __init__(self, db: Database, names: dict[str, str], region: str) -> None:
        self.names, self.region = names, region
        self.jids: dict[int, str] = {}
        if db.has("jid"):
            cols = db.columns("jid", ("user", "server", "raw_string"), optional=("raw_string",))
            for row, state in db.rows(f"SELECT _id, {cols} FROM {{db}}.jid"):
                if state is None or row["_id"] not in self.jids:
                    self.jids[row["_id"]] = row["raw_string"] or f"{row['user']}@{row['server']}"
        self.lid: dict[int, int] = {}
        if db.has("jid_map"):
            self.lid = {r[0]: r[1] for r in db.conn.execute("SELECT lid_row_id, jid_row_id FROM main.jid_map")}

    def jid(self, row_id: Any) -> str | None:
        return None if row_id is None else self.jids.get(row_id)

    def phone_jid(self, row_id: Any) -> str | None:
        """The JID to identify a person by: a ``@lid`` JID's phone-number JID when mapped."""
        mapped = self.lid.get(row_id) if row_id is not None else None
        return self.jid(mapped) if mapped is not None else self.jid(row_id)

    def ident(self, jid: str | None) -> str | None:
        return identity(jid, self.region)

    def name(self, jid: str | None) -> str | None:
        return self.names.get(jid) if jid else None


def _modern(db: Database, ctx: ParserContext, entry: Entry, people: _People) -> Iterator[Message]:
    chats = {r[0]: (r[1], r[2]) for r in db.conn.execute(
        f"SELECT _id, jid_row_id, {db.columns('chat', ('subject',))} FROM main.chat")}
    members = _members(db, people)
    media = db.columns("message_media", MEDIA_COLUMNS, "mm") if db.has("message_media") else \
        ", ".join(f"NULL AS {c}" for c in MEDIA_COLUMNS)
    join = "LEFT JOIN {db}.message_media mm ON mm.message_row_id = m._id " if db.has("message_media") else ""
    revoked = "EXISTS (SELECT 1 FROM {db}.message_revoked v WHERE v.message_row_id = m._id)" \
        if db.has("message_revoked") else "0"
    sql = (f"SELECT m._id AS _id, {db.columns('message', MESSAGE_COLUMNS, 'm')}, {media}, {revoked} AS revoked "
           f"FROM {{db}}.message m {join}")
    for row, deleted in db.rows(sql):
        chat_jid_row, subject = chats.get(row["chat_row_id"], (None, None))
        chat_jid = people.phone_jid(chat_jid_row)
        group = bool(chat_jid and chat_jid.endswith("@g.us"))
        outgoing = row["from_me"] == 1
        sender = None if outgoing else (people.phone_jid(row["sender_jid_row_id"]) if group else chat_jid)
        stored_sender = None if outgoing else people.jid(row["sender_jid_row_id"] if group else chat_jid_row)
        party = members.get(chat_jid_row, []) if group else ([chat_jid] if chat_jid else [])
        attachment = _attachment(ctx, entry, row["file_path"], row["mime_type"], row["media_name"],
                                 row["file_size"], TYPES.get(row["message_type"]))
        body = row["text_data"] if row["text_data"] is not None else row["media_caption"]
        yield Message(
            provenance=db.provenance.row("message", row["_id"]), app=APP, service="WhatsApp",
            thread=chat_jid, thread_name=subject if group else people.name(chat_jid),
            direction=OUTGOING if outgoing else INCOMING,
            sender=stored_sender, sender_id=people.ident(sender), sender_name=people.name(sender),
            participants=tuple(party), participant_ids=tuple(i for i in map(people.ident, party) if i),
            body=body, attachments=(attachment,) if attachment else (),
            time_utc=epochs.convert(row["timestamp"], epochs.UNIX_MS), time_raw=row["timestamp"],
            time_epoch=epochs.UNIX_MS, status=None if row["status"] is None else f"status {row['status']}",
            deleted=deleted or (REVOKED if row["revoked"] else None))


def _members(db: Database, people: _People) -> dict[int, list[str]]:
    """group chat's JID row id -> its members' JIDs (phone-number JIDs where mapped)."""
    if not db.has("group_participant_user"):
        return {}
    out: dict[int, list[str]] = {}
    for gid, uid in db.conn.execute("SELECT group_jid_row_id, user_jid_row_id FROM main.group_participant_user"):
        jid = people.phone_jid(uid)
        if jid and jid not in out.setdefault(gid, []):
            out[gid].append(jid)
    return out


def _legacy(db: Database, ctx: ParserContext, people: _People) -> Iterator[Message]:
    sql = f"SELECT _id, {db.columns('messages', LEGACY_COLUMNS, optional=LEGACY_COLUMNS[4:])} FROM {{db}}.messages"
    for row, deleted in db.rows(sql):
        chat_jid = row["key_remote_jid"]
        if chat_jid == "-1":  # WhatsApp's own first row
            continue
        group = bool(chat_jid and chat_jid.endswith("@g.us"))
        outgoing = row["key_from_me"] == 1
        sender = None if outgoing else (row["remote_resource"] if group else chat_jid)
        attachment = None
        if row["media_mime_type"] or row["media_name"]:
            attachment = {"name": row["media_name"], "mime": row["media_mime_type"], "size": row["media_size"],
                          "device_path": None, "path": None, "kind": row["media_wa_type"]}
        yield Message(
            provenance=db.provenance.row("messages", row["_id"]), app=APP, service="WhatsApp",
            thread=chat_jid, thread_name=None if group else people.name(chat_jid),
            direction=OUTGOING if outgoing else INCOMING, sender=sender, sender_id=people.ident(sender),
            sender_name=people.name(sender), participants=(chat_jid,) if chat_jid and not group else (),
            participant_ids=tuple(i for i in (people.ident(chat_jid),) if i and not group),
            body=row["data"] if row["data"] is not None else row["media_caption"],
            attachments=(attachment,) if attachment else (),
            time_utc=epochs.convert(row["timestamp"], epochs.UNIX_MS), time_raw=row["timestamp"],
            time_epoch=epochs.UNIX_MS, status=None if row["status"] is None else f"status {row['status']}",
            deleted=deleted)


def _calls(db: Database, people: _People) -> Iterator[Call]:
    if not db.has("call_log"):
        return
    cols = db.columns("call_log", ("jid_row_id", "from_me", "timestamp", "video_call", "duration", "call_result"),
                      optional=("video_call", "call_result"))
    for row, deleted in db.rows(f"SELECT _id, {cols} FROM {{db}}.call_log"):
        jid = people.phone_jid(row["jid_row_id"])
        if row["from_me"] == 1:
            direction = OUTGOING
        else:
            direction = INCOMING if (row["duration"] or 0) > 0 else MISSED
        yield Call(provenance=db.provenance.row("call_log", row["_id"]), app=APP, direction=direction,
                   call_type="video" if row["video_call"] else "voice", number=people.jid(row["jid_row_id"]),
                   number_id=people.ident(jid), name=people.name(jid),
                   time_utc=epochs.convert(row["timestamp"], epochs.UNIX_MS), time_raw=row["timestamp"],
                   time_epoch=epochs.UNIX_MS, duration_s=row["duration"],
                   video=None if row["video_call"] is None else bool(row["video_call"]), deleted=deleted)


def _attachment(ctx: ParserContext, entry: Entry, file_path: str | None, mime: str | None, name: str | None,
                size: int | None, kind: str | None) -> dict[str, Any] | None:
    if not (file_path or mime or name):
        return None
    found = None
    if file_path:
        for candidate in _media_candidates(entry.path, file_path):
            found = ctx.sibling(candidate)
            if found is not None:
                break
    return {"name": name or (posixpath.basename(file_path) if file_path else None), "mime": mime, "kind": kind,
            "device_path": file_path, "path": found.path if found else None,
            "size": found.size if found else size}


def _media_candidates(db_path: str, file_path: str) -> list[str]:
    """Where shared storage's WhatsApp folder is, seen from the database's path: the data
    partition's root is above ``data/<pkg>`` or ``user/N/<pkg>``."""
    if file_path.startswith("/"):
        return [file_path]
    parts = db_path.split("/")
    try:
        pkg = next(i for i, p in enumerate(parts) if p.startswith("com.whatsapp"))
    except StopIteration:
        return []
    up = 2 if pkg >= 2 and parts[pkg - 2] == "user" else 1
    root = "/".join(parts[:pkg - up]) or ""
    rel = file_path.removeprefix("./")
    return [f"{root}/{media}{rel}" for media in MEDIA_ROOTS]
