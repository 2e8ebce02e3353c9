"""iOS call history: ``ZCALLRECORD`` in ``CallHistory.storedata`` (Core Data, +WAL)
and ``CallHistoryTemp.storedata``: phone, FaceTime and CallKit apps (WhatsApp,
Signal...) calls.

``ZDATE`` is Cocoa seconds since 2001 (REAL), ``ZDURATION`` seconds.
``ZORIGINATED`` 1 is outgoing; an incoming call with ``ZANSWERED`` 0 is missed.
``ZCALLTYPE``: 1 phone, 8 FaceTime video, 16 FaceTime audio, 0 third-party app.
``ZADDRESS`` is text or, on some versions, a UTF-8 BLOB.
"""
from __future__ import annotations

from collections.abc import Iterator

from devicex import epochs
from devicex.comms import INCOMING, MISSED, OUTGOING, Call, identity
from devicex.entries import Entry
from devicex.parsing import ParserContext
from devicex.records import Record
from devicex.sqlitedb import open_database

NAME = "ios_callhistory"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = ("*/CallHistoryDB/CallHistory.storedata", "*/CallHistoryDB/CallHistoryTemp.storedata")
CALL_TYPES = {0: "third-party app", 1: "phone", 8: "FaceTime video", 16: "FaceTime audio"}
COLUMNS = ("ZDATE", "ZDURATION", "ZORIGINATED", "ZANSWERED", "ZCALLTYPE", "ZADDRESS", "ZNAME", "ZSERVICE_PROVIDER")


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    with open_database(entry, ctx) as db:
        if not db.require("ZCALLRECORD"):
            return
        cols = db.columns("ZCALLRECORD", COLUMNS, optional=("ZNAME", "ZSERVICE_PROVIDER", "ZANSWERED"))
        for row, deleted in db.rows(f"SELECT Z_PK, {cols} FROM {{db}}.ZCALLRECORD"):
            address = row["ZADDRESS"]
            if isinstance(address, bytes):
                address = address.decode("utf-8", "replace")
            if row["ZORIGINATED"] == 1:
                direction = OUTGOING
            else:
                direction = INCOMING if row["ZANSWERED"] != 0 else MISSED
            provider = row["ZSERVICE_PROVIDER"]
            app = "iOS phone" if provider in (None, "com.apple.Telephony") else \
                ("FaceTime" if provider == "com.apple.FaceTime" else f"iOS call ({provider})")
            kind = CALL_TYPES.get(row["ZCALLTYPE"])
            yield Call(
                provenance=db.provenance.row("ZCALLRECORD", row["Z_PK"]), app=app, direction=direction,
                call_type=kind, number=address, number_id=identity(address, ctx.region), name=row["ZNAME"],
                time_utc=epochs.convert(row["ZDATE"], epochs.COCOA_S), time_raw=row["ZDATE"],
                time_epoch=epochs.COCOA_S, duration_s=None if row["ZDURATION"] is None else round(row["ZDURATION"]),
                video=row["ZCALLTYPE"] == 8 if row["ZCALLTYPE"] is not None else None, deleted=deleted)
        report = db.table_report("ZCALLRECORD")
        if report:
            yield report
