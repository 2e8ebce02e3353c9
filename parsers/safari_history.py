"""Safari ``History.db`` (iOS and macOS): one record per visit, with the title
the page had at that visit. ``visit_time`` is Cocoa seconds since 2001 (REAL);
``origin`` other than 0 is a visit synced through iCloud from another device.
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

NAME = "safari_history"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = ("*/Safari/History.db", "*/Safari/Profiles/*/History.db")


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    with open_database(entry, ctx) as db:
        if not (db.has("history_items") and db.has("history_visits")):
            raise NotMyFormat("no history_items/history_visits tables")
        cols = db.columns("history_visits", ("visit_time", "title", "origin"), "v", optional=("origin",))
        sql = (f"SELECT v.id AS vid, {cols}, i.url AS url, i.visit_count AS visit_count "
               "FROM {db}.history_visits v LEFT JOIN {db}.history_items i ON i.id = v.history_item")
        for row, deleted in db.rows(sql):
            yield WebVisit(
                provenance=db.provenance.row("history_visits", row["vid"]), app="Safari", url=row["url"],
                title=row["title"], time_utc=epochs.convert(row["visit_time"], epochs.COCOA_S),
                time_raw=row["visit_time"], time_epoch=epochs.COCOA_S, visit_count=row["visit_count"],
                synced=None if row["origin"] is None else row["origin"] != 0, deleted=deleted)
        report = db.table_report("history_visits")
        if report:
            yield report
