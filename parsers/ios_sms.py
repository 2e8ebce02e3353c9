"""iOS Messages (SMS, iMessage, RCS) from ``sms.db``, and the same layout in
macOS ``chat.db``: messages with their chat, handles and attachments.

``message.date``/``date_read`` are Cocoa seconds (older) or nanoseconds (iOS 11
on) since 2001, decided per value. When ``text`` is NULL the text is read from
``attributedBody`` (an NSArchiver "typedstream" NSAttributedString). Chat
members come from ``chat_handle_join``; the sender of an incoming message is its
``handle_id`` (outgoing group messages have none). Attachment ``filename`` values
(``~/Library/SMS/Attachments/...``) are resolved to entries of the same image.
Reactions (tapbacks, ``associated_message_type`` 2000-3999) are kept as
messages with status "reaction".
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from devicex import epochs
from devicex.comms import INCOMING, OUTGOING, Message, identities, identity
from devicex.entries import Entry
from devicex.parsing import ParserContext
from devicex.records import Record
from devicex.sqlitedb import Database, open_database

NAME = "ios_sms"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = ("*/Library/SMS/sms.db", "*/Library/Messages/chat.db")
APP = "iOS Messages"
COLUMNS = ("guid", "text", "attributedBody", "handle_id", "service", "date", "date_read", "is_from_me", "is_read",
           "associated_message_type", "subject", "error")
OPTIONAL = ("attributedBody", "associated_message_type", "subject", "error", "date_read", "is_read")


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    with open_database(entry, ctx) as db:
        if not db.require("message"):
            return
        handles = _handles(db)
        chats, members = _chats(db, handles)
        attachments = _attachments(db, ctx, entry)
        link = "(SELECT j.chat_id FROM {db}.chat_message_join j WHERE j.message_id = m.ROWID LIMIT 1)" \
            if db.has("chat_message_join") else "NULL"
        sql = f"SELECT m.ROWID AS rid, {db.columns('message', COLUMNS, 'm', OPTIONAL)}, {link} AS chat_id " \
              "FROM {db}.message m"
        for row, deleted in db.rows(sql):
            yield _message(db, ctx, row, deleted, handles, chats, members, attachments)
        report = db.table_report("message")
        if report:
            yield report


def _message(db: Database, ctx: ParserContext, row: Any, deleted: str | None, handles: dict[int, str],
             chats: dict[int, tuple[str | None, str | None]], members: dict[int, list[str]],
             attachments: dict[int, list[dict[str, Any]]]) -> Message:
    outgoing = row["is_from_me"] == 1
    handle = handles.get(row["handle_id"]) if row["handle_id"] else None
    chat_id = row["chat_id"]
    identifier, name = chats.get(chat_id, (None, None)) if chat_id is not None else (None, None)
    party = members.get(chat_id, []) if chat_id is not None else []
    if not party and handle:
        party = [handle]
    text = row["text"]
    if text is None and row["attributedBody"] is not None:
        text = attributed_text(row["attributedBody"])
    when, epoch = epochs.cocoa(row["date"])
    kind = row["associated_message_type"] or 0
    return Message(
        provenance=db.provenance.row("message", row["rid"]), app=APP, service=row["service"],
        thread=identifier or (handle if not outgoing else None), thread_name=name,
        direction=OUTGOING if outgoing else INCOMING,
        sender=None if outgoing else handle, sender_id=None if outgoing else identity(handle, ctx.region),
        participants=tuple(party), participant_ids=identities(party, ctx.region), body=text,
        subject=row["subject"], attachments=tuple(attachments.get(row["rid"], ())),
        time_utc=when, time_raw=row["date"], time_epoch=epoch if row["date"] is not None else None,
        read=None if row["is_read"] is None else bool(row["is_read"]),
        status="reaction" if 2000 <= kind < 4000 else ("error" if row["error"] else None),
        deleted=deleted)


def attributed_text(blob: bytes) -> str | None:
    """The string of an NSAttributedString archived as a typedstream: after the
    ``NSString`` class name, a ``+`` marks the UTF-8 bytes, preceded by their length
    (one byte; ``0x81`` + 2 bytes or ``0x82`` + 4 bytes little-endian when longer)."""
    data = bytes(blob)
    at = data.find(b"NSString")
    if at < 0:
        return None
    plus = data.find(b"+", at + 8)
    if plus < 0 or plus + 2 > len(data):
        return None
    length, start = data[plus + 1], plus + 2
    if length == 0x81:
        length, start = int.from_bytes(data[start:start + 2], "little"), start + 2
    elif length == 0x82:
        length, start = int.from_bytes(data[start:start + 4], "little"), start + 4
    if start + length > len(data):
        return None
    return data[start:start + length].decode("utf-8", "replace")


def _handles(db: Database) -> dict[int, str]:
    if not db.has("handle"):
        return {}
    return {r[0]: r[1] for r in db.conn.execute("SELECT ROWID, id FROM main.handle")}


def _chats(db: Database, handles: dict[int, str]) -> tuple[dict[int, tuple[str | None, str | None]],
                                                           dict[int, list[str]]]:
    chats: dict[int, tuple[str | None, str | None]] = {}
    if db.has("chat"):
        cols = db.columns("chat", ("chat_identifier", "display_name"), optional=("display_name",))
        chats = {r[0]: (r[1], r[2] or None) for r in db.conn.execute(f"SELECT ROWID, {cols} FROM main.chat")}
    members: dict[int, list[str]] = {}
    if db.has("chat_handle_join"):
        for chat_id, handle_id in db.conn.execute("SELECT chat_id, handle_id FROM main.chat_handle_join"):
            handle = handles.get(handle_id)
            if handle and handle not in members.setdefault(chat_id, []):
                members[chat_id].append(handle)
    return chats, members


def _attachments(db: Database, ctx: ParserContext, entry: Entry) -> dict[int, list[dict[str, Any]]]:
    if not (db.has("attachment") and db.has("message_attachment_join")):
        return {}
    cols = db.columns("attachment", ("filename", "mime_type", "transfer_name", "total_bytes"), "a",
                      optional=("transfer_name", "total_bytes"))
    home = entry.path.split("/Library/", 1)[0] if "/Library/" in entry.path else ""
    out: dict[int, list[dict[str, Any]]] = {}
    sql = f"SELECT j.message_id AS mid, {cols} FROM main.message_attachment_join j " \
          "JOIN main.attachment a ON a.ROWID = j.attachment_id"
    for row in db.conn.execute(sql):
        stored = row[1]
        found = None
        if stored:
            path = home + stored[1:] if stored.startswith("~/") else stored
            found = ctx.sibling(path)
        out.setdefault(row[0], []).append({
            "name": row[3] or (stored.rsplit("/", 1)[-1] if stored else None), "mime": row[2],
            "device_path": stored, "path": found.path if found else None,
            "size": found.size if found else row[4]})
    return out
