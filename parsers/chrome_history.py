"""Chrome and Chromium-family ``History`` (Android Chrome, Samsung Internet,
WebView, Edge, Brave; desktop profiles): one record per visit and per download.

``visits.visit_time`` and the newer ``downloads.start_time``/``end_time`` are
microseconds since 1601 (WebKit); the oldest ``downloads`` table (with
``full_path``) kept Unix seconds. A visit whose ``visit_source.source`` is 0
was synced from another device: it is flagged, it did not happen on this one.
``transition & 0xFF`` is the core transition type.
"""
from __future__ import annotations

from collections.abc import Iterator

from devicex import epochs
from devicex.comms import Download, WebVisit
from devicex.entries import Entry
from devicex.errors import NotMyFormat
from devicex.parsing import ParserContext
from devicex.records import Record
from devicex.sqlitedb import Database, open_database

DOWNLOAD_COLUMNS = ("mime_type", "received_bytes", "total_bytes", "start_time", "end_time", "state")

NAME = "chrome_history"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = ("*/app_chrome/*/History", "*/app_sbrowser/*/History", "*/app_webview/*/History",
         "*/Chrome/*/History", "*/google-chrome/*/History", "*/chromium/*/History", "*/Chromium/*/History",
         "*/Microsoft/Edge/*/History", "*/BraveSoftware/*/History")
TRANSITIONS = ("link", "typed", "auto_bookmark", "auto_subframe", "manual_subframe", "generated", "auto_toplevel",
               "form_submit", "reload", "keyword", "keyword_generated")
STATES = {0: "in progress", 1: "complete", 2: "cancelled", 3: "interrupted", 4: "interrupted"}


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    with open_database(entry, ctx) as db:
        if not (db.has("urls") and db.has("visits")):
            raise NotMyFormat("no urls/visits tables")
        app = _app(entry.path)
        yield from _visits(db, app)
        if db.has("downloads"):
            yield from _downloads(db, app)
        report = db.table_report("visits")
        if report:
            yield report


def _app(path: str) -> str:
    for marker, name in (("com.sec.android.app.sbrowser", "Samsung Internet"), ("app_webview", "Android WebView"),
                         ("com.microsoft.emmx", "Edge"), ("/Edge/", "Edge"), ("com.brave", "Brave"),
                         ("Brave", "Brave"), ("hromium", "Chromium")):
        if marker in path:
            return name
    return "Chrome"


def _visits(db: Database, app: str) -> Iterator[WebVisit]:
    source = "(SELECT s.source FROM {db}.visit_source s WHERE s.id = v.id)" if db.has("visit_source") else "NULL"
    sql = (f"SELECT v.id AS vid, v.visit_time AS visit_time, v.transition AS transition, u.url AS url, "
           f"u.title AS title, u.visit_count AS visit_count, {source} AS source "
           "FROM {db}.visits v LEFT JOIN {db}.urls u ON u.id = v.url")
    for row, deleted in db.rows(sql):
        core = None if row["transition"] is None else int(row["transition"]) & 0xFF
        yield WebVisit(
            provenance=db.provenance.row("visits", row["vid"]), app=app, url=row["url"], title=row["title"] or None,
            time_utc=epochs.convert(row["visit_time"], epochs.WEBKIT_US), time_raw=row["visit_time"],
            time_epoch=epochs.WEBKIT_US, visit_count=row["visit_count"],
            transition=None if core is None else (TRANSITIONS[core] if core < len(TRANSITIONS) else str(core)),
            synced=row["source"] == 0, deleted=deleted)


def _downloads(db: Database, app: str) -> Iterator[Download]:
    cols = set(db.table_columns("downloads"))
    if "full_path" in cols:  # the oldest layout: Unix seconds
        sql = ("SELECT id, full_path AS target, url, NULL AS mime, received_bytes, total_bytes, start_time, "
               "NULL AS end_time, state FROM {db}.downloads")
        epoch = epochs.UNIX_S
    else:
        chain = "(SELECT c.url FROM {db}.downloads_url_chains c WHERE c.id = d.id ORDER BY c.chain_index DESC " \
                "LIMIT 1)" if db.has("downloads_url_chains") else "NULL"
        sql = (f"SELECT d.id AS id, {db.columns('downloads', ('target_path',), 'd')}, "
               f"COALESCE({chain}, {'d.tab_url' if 'tab_url' in cols else 'NULL'}) AS url, "
               f"{db.columns('downloads', DOWNLOAD_COLUMNS, 'd', optional=('mime_type', 'end_time'))} "
               "FROM {db}.downloads d")
        epoch = epochs.WEBKIT_US
    for row, deleted in db.rows(sql):
        keys = row.keys()
        yield Download(
            provenance=db.provenance.row("downloads", row["id"]), app=app, url=row["url"],
            target_path=row["target"] if "target" in keys else row["target_path"],
            mime_type=(row["mime"] if "mime" in keys else row["mime_type"]) or None,
            received_bytes=row["received_bytes"], total_bytes=row["total_bytes"],
            time_utc=epochs.convert(row["start_time"], epoch), time_raw=row["start_time"], time_epoch=epoch,
            end_utc=epochs.convert(row["end_time"], epoch), state=STATES.get(row["state"]), deleted=deleted)
