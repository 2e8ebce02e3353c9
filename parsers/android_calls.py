"""Android call log: ``calls`` in ``calllog.db`` (CE store), ``calllog_shadow.db``
(device-encrypted store) and, before Android 7, ``contacts2.db``; the same table
in Samsung's contacts provider.

``date`` is milliseconds since 1970, ``duration`` seconds. ``type``: 1 incoming,
2 outgoing, 3 missed, 4 voicemail, 5 rejected, 6 blocked, 7 answered on another
device. ``features`` bit 0 is a video call. ``name`` is the contact name cached
at call time. A row with ``deleted = 1`` is kept by the provider for sync and
shown marked.
"""
from __future__ import annotations

from collections.abc import Iterator

from devicex import epochs
from devicex.comms import INCOMING, MISSED, OUTGOING, REJECTED, UNKNOWN, Call, identity
from devicex.entries import Entry
from devicex.parsing import ParserContext
from devicex.records import Record
from devicex.sqlitedb import open_database

NAME = "android_calls"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = tuple(f"*/{pkg}/databases/{db}" for pkg in ("com.android.providers.contacts",
                                                    "com.samsung.android.providers.contacts")
              for db in ("calllog.db", "calllog_shadow.db", "contacts2.db"))
APP = "Android call log"

TYPES = {1: (INCOMING, "incoming"), 2: (OUTGOING, "outgoing"), 3: (MISSED, "missed"), 4: (INCOMING, "voicemail"),
         5: (REJECTED, "rejected"), 6: (REJECTED, "blocked"), 7: (INCOMING, "answered externally")}
COLUMNS = ("number", "date", "duration", "type", "name", "features", "deleted", "subscription_component_name")
OPTIONAL = ("name", "features", "deleted", "subscription_component_name")
MARKED_DELETED = "marked deleted in the database"


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    with open_database(entry, ctx) as db:
        if not db.has("calls"):
            if entry.name != "contacts2.db":  # contacts2.db of Android 7+ has no calls: nothing to say
                db.require("calls")
            return
        sql = f"SELECT _id, {db.columns('calls', COLUMNS, optional=OPTIONAL)} FROM {{db}}.calls"
        for row, deleted in db.rows(sql):
            direction, label = TYPES.get(row["type"], (UNKNOWN, None if row["type"] is None else str(row["type"])))
            app = APP
            if row["subscription_component_name"] and "telephony" not in str(row["subscription_component_name"]):
                app = f"{APP} ({str(row['subscription_component_name']).split('/')[0]})"
            yield Call(
                provenance=db.provenance.row("calls", row["_id"]), app=app, direction=direction, call_type=label,
                number=row["number"], number_id=identity(row["number"], ctx.region), name=row["name"],
                time_utc=epochs.convert(row["date"], epochs.UNIX_MS), time_raw=row["date"],
                time_epoch=epochs.UNIX_MS, duration_s=row["duration"],
                video=None if row["features"] is None else bool(int(row["features"]) & 1),
                deleted=deleted or (MARKED_DELETED if row["deleted"] == 1 else None))
        report = db.table_report("calls")
        if report:
            yield report
