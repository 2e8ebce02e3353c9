"""Android SMS and MMS from the telephony provider's ``mmssms.db``, in the
credential-encrypted (``data/data``, ``data/user/N``) and device-encrypted
(``data/user_de/N``) stores.

SMS ``date``/``date_sent`` are milliseconds since 1970; MMS ``pdu.date`` is
seconds (AOSP's own trigger multiplies it by 1000). Thread members come from
``threads.recipient_ids`` -> ``canonical_addresses``; MMS senders and
recipients from ``addr`` (137 from, 151 to, 130 cc, 129 bcc); MMS text and
attachments from ``part``, each attachment's ``_data`` file resolved to the
entry in ``app_parts`` beside ``databases``.
"""
from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from devicex import epochs
from devicex.comms import INCOMING, OUTGOING, UNKNOWN, Message, identities, identity
from devicex.entries import Entry
from devicex.parsing import ParserContext
from devicex.records import Record
from devicex.sqlitedb import Database, open_database

NAME = "android_sms"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = ("*/com.android.providers.telephony/databases/mmssms.db",)
APP = "Android Messages (SMS/MMS)"

SMS_BOX = {1: (INCOMING, "received"), 2: (OUTGOING, "sent"), 3: (OUTGOING, "draft"), 4: (OUTGOING, "outbox"),
           5: (OUTGOING, "failed"), 6: (OUTGOING, "queued")}
ADDR_FROM, ADDR_TO, ADDR_CC, ADDR_BCC = 137, 151, 130, 129
SELF_TOKEN = "insert-address-token"
SMS_COLUMNS = ("thread_id", "address", "date", "date_sent", "type", "read", "body", "subject")
PDU_COLUMNS = ("thread_id", "date", "date_sent", "msg_box", "read", "sub", "m_type")
PART_COLUMNS = ("mid", "seq", "ct", "name", "cl", "fn", "_data", "text")


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    with open_database(entry, ctx) as db:
        threads = _threads(db)
        if db.require("sms"):
            yield from _sms(db, ctx, threads)
            report = db.table_report("sms")
            if report:
                yield report
        if db.has("pdu"):
            yield from _mms(db, ctx, threads)
            report = db.table_report("pdu")
            if report:
                yield report


def _threads(db: Database) -> dict[int, list[str]]:
    """thread id -> its members' addresses as first stored."""
    if not (db.has("threads") and db.has("canonical_addresses")):
        return {}
    canonical = {r[0]: r[1] for r in db.conn.execute("SELECT _id, address FROM main.canonical_addresses")}
    out: dict[int, list[str]] = {}
    for tid, ids in db.conn.execute("SELECT _id, recipient_ids FROM main.threads"):
        members = [canonical.get(int(i)) for i in str(ids or "").split() if i.isdigit()]
        out[tid] = [m for m in members if m]
    return out


def _sms(db: Database, ctx: ParserContext, threads: dict[int, list[str]]) -> Iterator[Message]:
    sql = f"SELECT _id, {db.columns('sms', SMS_COLUMNS, optional=('subject', 'date_sent', 'read'))} FROM {{db}}.sms"
    region = ctx.region
    for row, deleted in db.rows(sql):
        direction, status = SMS_BOX.get(row["type"], (UNKNOWN, None))
        address = row["address"]
        members = threads.get(row["thread_id"]) or ([address] if address else [])
        sent = epochs.convert(row["date_sent"], epochs.UNIX_MS)
        yield Message(
            provenance=db.provenance.row("sms", row["_id"]), app=APP, service="SMS",
            thread=_thread_key(row["thread_id"]), direction=direction,
            sender=address if direction == INCOMING else None,
            sender_id=identity(address, region) if direction == INCOMING else None,
            participants=tuple(members), participant_ids=identities(members, region),
            body=row["body"], subject=row["subject"],
            time_utc=epochs.convert(row["date"], epochs.UNIX_MS), time_raw=row["date"], time_epoch=epochs.UNIX_MS,
            sent_utc=sent, read=_flag(row["read"]), status=status, deleted=deleted)


def _mms(db: Database, ctx: ParserContext, threads: dict[int, list[str]]) -> Iterator[Message]:
    addresses = _by_message(db, "addr", "msg_id", ("msg_id", "address", "type"))
    parts = _by_message(db, "part", "mid", PART_COLUMNS)
    columns = db.columns("pdu", PDU_COLUMNS, optional=("date_sent", "read", "sub", "m_type"))
    sql = f"SELECT _id, {columns} FROM {{db}}.pdu"
    region = ctx.region
    for row, deleted in db.rows(sql):
        direction, status = SMS_BOX.get(row["msg_box"], (UNKNOWN, None))
        addrs = addresses.get(row["_id"], [])
        sender = next((a["address"] for a in addrs if a["type"] == ADDR_FROM and a["address"] != SELF_TOKEN), None)
        others = [a["address"] for a in addrs if a["type"] != ADDR_FROM and a["address"] not in (None, SELF_TOKEN)]
        members = threads.get(row["thread_id"]) or _unique(([sender] if sender else []) + others)
        text, attachments = _content(db, ctx, parts.get(row["_id"], []))
        if direction == OUTGOING:
            sender = None
        yield Message(
            provenance=db.provenance.row("pdu", row["_id"]), app=APP, service="MMS",
            thread=_thread_key(row["thread_id"]), direction=direction,
            sender=sender, sender_id=identity(sender, region),
            participants=tuple(members), participant_ids=identities(members, region),
            body=text, subject=row["sub"], attachments=attachments,
            time_utc=epochs.convert(row["date"], epochs.UNIX_S), time_raw=row["date"], time_epoch=epochs.UNIX_S,
            sent_utc=epochs.convert(row["date_sent"], epochs.UNIX_S), read=_flag(row["read"]), status=status,
            deleted=deleted)


def _by_message(db: Database, table: str, key: str, columns: tuple[str, ...]) -> dict[int, list[Any]]:
    """Rows of an MMS side table grouped by message id (live rows, then those only in the main file)."""
    if not db.has(table):
        return {}
    out: dict[int, list[Any]] = {}
    for row, _ in db.rows(f"SELECT {db.columns(table, columns, optional=('seq', 'name', 'cl', 'fn'))} "
                          f"FROM {{db}}.{table}"):
        out.setdefault(row[key], []).append(row)
    return out


def _content(db: Database, ctx: ParserContext, parts: list[Any]) -> tuple[str | None, tuple[dict[str, Any], ...]]:
    texts: list[str] = []
    attachments: list[dict[str, Any]] = []
    for part in sorted(parts, key=lambda p: (p["seq"] or 0)):
        mime = (part["ct"] or "").lower()
        if mime == "application/smil":
            continue
        if mime == "text/plain" and part["text"] is not None and not part["_data"]:
            texts.append(part["text"])
            continue
        attachments.append(_attachment(ctx, part, mime))
    return ("\n".join(texts) if texts else None), tuple(attachments)


def _attachment(ctx: ParserContext, part: Any, mime: str) -> dict[str, Any]:
    stored = part["_data"]
    found = None
    if stored:
        base = posixpath.basename(str(stored))
        for folder in ("../app_parts/", "../parts/"):
            found = ctx.sibling(folder + base)
            if found is not None:
                break
    return {"name": part["name"] or part["cl"] or part["fn"], "mime": mime or None, "device_path": stored,
            "path": found.path if found else None, "size": found.size if found else None,
            "text": part["text"] if mime.startswith("text/") else None}


def _thread_key(thread_id: Any) -> str | None:
    return None if thread_id is None else f"thread {thread_id}"


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _unique(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out
