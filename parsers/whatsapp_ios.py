"""WhatsApp for iOS: ``ChatStorage.sqlite`` (Core Data, +WAL) in the app's shared
group container: ``ZWAMESSAGE`` with its chat session, group member and media item.

``ZMESSAGEDATE``/``ZSENTDATE`` are Cocoa seconds since 2001. ``ZISFROMME`` 1 is
outgoing. A chat session's ``ZCONTACTJID`` is the counterpart's or the group's
JID (``ZSESSIONTYPE`` 1 = group) and ``ZPARTNERNAME`` its display name; in groups
the sender is ``ZGROUPMEMBER`` -> ``ZWAGROUPMEMBER.ZMEMBERJID`` (never the group's
name). Media ``ZMEDIALOCALPATH`` is relative to the group container.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from devicex import epochs
from devicex.comms import INCOMING, OUTGOING, Message, identity
from devicex.entries import Entry
from devicex.parsing import ParserContext
from devicex.records import Record
from devicex.sqlitedb import Database, open_database

NAME = "whatsapp_ios"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = ("*/ChatStorage.sqlite",)
APP = "WhatsApp"
GROUP = 1
MESSAGE_COLUMNS = ("ZISFROMME", "ZCHATSESSION", "ZGROUPMEMBER", "ZMEDIAITEM", "ZMESSAGEDATE", "ZSENTDATE",
                   "ZFROMJID", "ZTEXT", "ZMESSAGETYPE", "ZMESSAGESTATUS", "ZPUSHNAME")


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    with open_database(entry, ctx) as db:
        if not db.require("ZWAMESSAGE", "ZWACHATSESSION"):
            return
        sessions = {r[0]: (r[1], r[2], r[3]) for r in db.conn.execute(
            f"SELECT Z_PK, {db.columns('ZWACHATSESSION', ('ZCONTACTJID', 'ZPARTNERNAME', 'ZSESSIONTYPE'))} "
            "FROM main.ZWACHATSESSION")}
        members = _members(db)
        media = _media(db)
        sql = f"SELECT Z_PK, {db.columns('ZWAMESSAGE', MESSAGE_COLUMNS, optional=('ZPUSHNAME', 'ZSENTDATE'))} " \
              "FROM {db}.ZWAMESSAGE"
        for row, deleted in db.rows(sql):
            jid, partner, kind = sessions.get(row["ZCHATSESSION"], (None, None, None))
            group = kind == GROUP
            outgoing = row["ZISFROMME"] == 1
            member = members.get(row["ZGROUPMEMBER"], (None, None, None))
            if outgoing:
                sender = name = None
            elif group:
                sender, name = member[1] or row["ZFROMJID"], member[2] or row["ZPUSHNAME"]
            else:
                sender, name = row["ZFROMJID"] or jid, partner
            party = [m[1] for m in members.values() if m[0] == row["ZCHATSESSION"] and m[1]] if group else \
                ([jid] if jid else [])
            item = media.get(row["ZMEDIAITEM"]) if row["ZMEDIAITEM"] else None
            yield Message(
                provenance=db.provenance.row("ZWAMESSAGE", row["Z_PK"]), app=APP, service="WhatsApp",
                thread=jid, thread_name=partner, direction=OUTGOING if outgoing else INCOMING,
                sender=sender, sender_id=identity(sender, ctx.region), sender_name=name,
                participants=tuple(party),
                participant_ids=tuple(i for i in (identity(p, ctx.region) for p in party) if i),
                body=row["ZTEXT"], attachments=(_attachment(ctx, item),) if item else (),
                time_utc=epochs.convert(row["ZMESSAGEDATE"], epochs.COCOA_S), time_raw=row["ZMESSAGEDATE"],
                time_epoch=epochs.COCOA_S, sent_utc=epochs.convert(row["ZSENTDATE"], epochs.COCOA_S),
                status=None if row["ZMESSAGESTATUS"] is None else f"status {row['ZMESSAGESTATUS']}", deleted=deleted)
        report = db.table_report("ZWAMESSAGE")
        if report:
            yield report


def _members(db: Database) -> dict[int, tuple[Any, Any, Any]]:
    if not db.has("ZWAGROUPMEMBER"):
        return {}
    cols = db.columns("ZWAGROUPMEMBER", ("ZCHATSESSION", "ZMEMBERJID", "ZCONTACTNAME"))
    return {r[0]: (r[1], r[2], r[3]) for r in db.conn.execute(f"SELECT Z_PK, {cols} FROM main.ZWAGROUPMEMBER")}


def _media(db: Database) -> dict[int, tuple[Any, Any, Any]]:
    if not db.has("ZWAMEDIAITEM"):
        return {}
    cols = db.columns("ZWAMEDIAITEM", ("ZMEDIALOCALPATH", "ZFILESIZE", "ZTITLE"), optional=("ZTITLE",))
    return {r[0]: (r[1], r[2], r[3]) for r in db.conn.execute(f"SELECT Z_PK, {cols} FROM main.ZWAMEDIAITEM")}


def _attachment(ctx: ParserContext, item: tuple[Any, Any, Any]) -> dict[str, Any]:
    stored, size, title = item
    found = ctx.sibling(stored.lstrip("/")) if stored else None
    return {"name": title or (stored.rsplit("/", 1)[-1] if stored else None), "mime": None, "device_path": stored,
            "path": found.path if found else None, "size": found.size if found else size}
