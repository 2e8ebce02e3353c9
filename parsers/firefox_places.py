"""Firefox history from ``places.sqlite``: desktop and old Fennec (Gecko places,
``visit_date`` in microseconds since 1970) and Firefox for Android "Fenix"
(application-services places: milliseconds, and ``is_local = 0`` marks a visit
synced from another device).
"""
from __future__ import annotations

from collections.abc import Iterator

from devicex import epochs
from devicex.comms import WebVisit
from devicex.entries import Entry
from devicex.errors import NotMyFormat
from devicex.parsing import ParserContext
from devicex.records import Record
from devicex.sqlitedb import open_database

NAME = "firefox_places"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = ("*/places.sqlite",)
VISIT_TYPES = {1: "link", 2: "typed", 3: "bookmark", 4: "embed", 5: "redirect permanent", 6: "redirect temporary",
               7: "download", 8: "framed link", 9: "reload"}


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    with open_database(entry, ctx) as db:
        if not (db.has("moz_places") and db.has("moz_historyvisits")):
            raise NotMyFormat("no moz_places/moz_historyvisits tables")
        fenix = "is_local" in db.table_columns("moz_historyvisits")
        epoch = epochs.UNIX_MS if fenix else epochs.UNIX_US
        app = "Firefox for Android" if fenix else "Firefox"
        count = "p.visit_count_local" if fenix else "p.visit_count"
        local = "v.is_local" if fenix else "NULL"
        sql = (f"SELECT v.id AS vid, v.visit_date AS visit_date, v.visit_type AS visit_type, {local} AS is_local, "
               f"p.url AS url, p.title AS title, {count} AS visit_count "
               "FROM {db}.moz_historyvisits v LEFT JOIN {db}.moz_places p ON p.id = v.place_id")
        for row, deleted in db.rows(sql):
            yield WebVisit(
                provenance=db.provenance.row("moz_historyvisits", row["vid"]), app=app, url=row["url"],
                title=row["title"], time_utc=epochs.convert(row["visit_date"], epoch), time_raw=row["visit_date"],
                time_epoch=epoch, visit_count=row["visit_count"], transition=VISIT_TYPES.get(row["visit_type"]),
                synced=None if row["is_local"] is None else row["is_local"] == 0, deleted=deleted)
        report = db.table_report("moz_historyvisits")
        if report:
            yield report
