"""Google Messages (``com.google.android.apps.messaging``) ``bugle_db``: SMS, MMS
and RCS chat messages with their conversation, sender and parts. Its WAL
usually holds the most recent messages (read through the core SQLite helper).

Times are milliseconds since 1970. The sender is ``messages.sender_id`` ->
``participants``: ``sub_id = -2`` (another person) makes the message incoming,
any other value is one of the phone's own SIMs (outgoing), NULL is unknown.
Conversation members (``conversation_participants``) exclude the phone itself.
Text parts are joined as the body; other parts are attachments.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from devicex import epochs
from devicex.comms import INCOMING, OUTGOING, UNKNOWN, Message, identities, identity
from devicex.entries import Entry
from devicex.parsing import ParserContext
from devicex.records import Record
from devicex.sqlitedb import Database, open_database

NAME = "bugle_db"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = ("*/com.google.android.apps.messaging/databases/bugle_db",)
APP = "Google Messages"
OTHER_THAN_SELF = -2
PROTOCOLS = {0: "SMS", 1: "MMS", 2: "MMS"}
MESSAGE_COLUMNS = ("conversation_id", "sender_id", "sent_timestamp", "received_timestamp", "message_protocol",
                   "message_status", "read", "mms_subject")
PART_COLUMNS = ("message_id", "text", "uri", "content_type", "local_cache_path", "file_size_bytes")


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    with open_database(entry, ctx) as db:
        if not db.require("messages", "participants", "conversations"):
            return
        people = {r[0]: (r[1], r[2], r[3]) for r in db.conn.execute(
            f"SELECT _id, {db.columns('participants', ('sub_id', 'normalized_destination', 'full_name'))} "
            "FROM main.participants")}
        conversations = {r[0]: r[1] for r in db.conn.execute(
            f"SELECT _id, {db.columns('conversations', ('name',))} FROM main.conversations")}
        members = _members(db, people)
        parts = _parts(db)
        sql = f"SELECT _id, {db.columns('messages', MESSAGE_COLUMNS, optional=('mms_subject', 'read'))} " \
              "FROM {db}.messages"
        for row, deleted in db.rows(sql):
            sub_id, number, name = people.get(row["sender_id"], (None, None, None))
            direction = UNKNOWN if sub_id is None else (INCOMING if sub_id == OTHER_THAN_SELF else OUTGOING)
            party = members.get(row["conversation_id"], [])
            texts = [p["text"] for p in parts.get(row["_id"], []) if _is_text(p) and p["text"] is not None]
            files = tuple(_attachment(p) for p in parts.get(row["_id"], []) if not _is_text(p))
            when = row["received_timestamp"] or row["sent_timestamp"]
            yield Message(
                provenance=db.provenance.row("messages", row["_id"]), app=APP,
                service=PROTOCOLS.get(row["message_protocol"], "RCS" if row["message_protocol"] else None),
                thread=f"conversation {row['conversation_id']}", thread_name=conversations.get(row["conversation_id"]),
                direction=direction, sender=number if direction == INCOMING else None,
                sender_id=identity(number, ctx.region) if direction == INCOMING else None,
                sender_name=name if direction == INCOMING else None,
                participants=tuple(party), participant_ids=identities(party, ctx.region),
                body="\n".join(texts) if texts else None, subject=row["mms_subject"], attachments=files,
                time_utc=epochs.convert(when, epochs.UNIX_MS), time_raw=when, time_epoch=epochs.UNIX_MS,
                sent_utc=epochs.convert(row["sent_timestamp"], epochs.UNIX_MS),
                read=None if row["read"] is None else bool(row["read"]),
                status=None if row["message_status"] is None else f"status {row['message_status']}", deleted=deleted)
        report = db.table_report("messages")
        if report:
            yield report


def _members(db: Database, people: dict[int, tuple[Any, Any, Any]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if db.has("conversation_participants"):
        for cid, pid in db.conn.execute("SELECT conversation_id, participant_id FROM main.conversation_participants"):
            number = people.get(pid, (None, None, None))[1]
            if number and number not in out.setdefault(cid, []):
                out[cid].append(number)
    return out


def _parts(db: Database) -> dict[int, list[Any]]:
    if not db.has("parts"):
        return {}
    out: dict[int, list[Any]] = {}
    cols = db.columns("parts", PART_COLUMNS, optional=("local_cache_path", "file_size_bytes"))
    for row, _ in db.rows(f"SELECT {cols} FROM {{db}}.parts"):
        out.setdefault(row["message_id"], []).append(row)
    return out


def _is_text(part: Any) -> bool:
    return (part["content_type"] or "text/plain").lower().startswith("text/plain")


def _attachment(part: Any) -> dict[str, Any]:
    return {"name": None, "mime": part["content_type"], "device_path": part["local_cache_path"] or part["uri"],
            "path": None, "size": part["file_size_bytes"]}
