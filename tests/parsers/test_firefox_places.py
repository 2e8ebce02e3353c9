"""parsers.firefox_places against plaso's real places.sqlite (desktop, microseconds) and a Fenix
places.sqlite built from application-services' schema text (milliseconds, synced visits)."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from parsers import firefox_places
from tests.parsers.comms_support import PLASO, of_kind, run, truth

FENIX_SCHEMA = """
CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url LONGVARCHAR NOT NULL, title LONGVARCHAR, visit_count_local INTEGER NOT NULL DEFAULT 0, visit_count_remote INTEGER NOT NULL DEFAULT 0, hidden INTEGER DEFAULT 0 NOT NULL, typed INTEGER DEFAULT 0 NOT NULL, frecency INTEGER DEFAULT -1 NOT NULL, last_visit_date_local INTEGER NOT NULL DEFAULT 0, last_visit_date_remote INTEGER NOT NULL DEFAULT 0, guid TEXT NOT NULL UNIQUE, foreign_count INTEGER DEFAULT 0 NOT NULL, url_hash INTEGER DEFAULT 0 NOT NULL, description TEXT, preview_image_url TEXT, origin_id INTEGER, sync_status TINYINT NOT NULL DEFAULT 1, sync_change_counter INTEGER NOT NULL DEFAULT 0);
CREATE TABLE moz_historyvisits (id INTEGER PRIMARY KEY, is_local INTEGER NOT NULL, from_visit INTEGER, place_id INTEGER NOT NULL, visit_date INTEGER NOT NULL, visit_type INTEGER NOT NULL);
"""


def test_desktop_places() -> None:
    records, warnings = run(firefox_places.parse, PLASO / "firefox_places.sqlite",
                            "/home/u/.mozilla/firefox/x.default/places.sqlite")
    (visit,) = of_kind(records, "web_visit")
    (row,) = truth(PLASO / "truth" / "firefox.visits.csv")
    assert visit.url == row["url"] and visit.title == row["title"] and visit.time_epoch == "unix-us"
    assert visit.time_utc == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(row["visit_date"]))
    assert visit.time_utc == datetime(2011, 7, 1, 11, 16, 21, 371935, tzinfo=UTC)  # plaso's expectation
    assert visit.transition == "typed" and visit.synced is None
    assert warnings == []


def test_fenix_milliseconds_and_synced_visits(tmp_path: Path) -> None:
    db = tmp_path / "places.sqlite"  # built with the real schema text; truth is what was inserted
    with sqlite3.connect(db) as conn:
        conn.executescript(FENIX_SCHEMA)
        conn.execute("INSERT INTO moz_places (id, url, title, visit_count_local, guid) VALUES "
                     "(1, 'https://example.org/', 'Example', 2, 'g1')")
        conn.execute("INSERT INTO moz_historyvisits VALUES (1, 1, NULL, 1, 1700000000123, 1), "
                     "(2, 0, NULL, 1, 1700000100456, 2)")
    records, warnings = run(firefox_places.parse, db, "/data/data/org.mozilla.firefox/files/places.sqlite")
    local, synced = of_kind(records, "web_visit")
    assert local.app == "Firefox for Android" and local.time_epoch == "unix-ms"
    assert local.time_utc == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert (local.synced, synced.synced) == (False, True)
    assert warnings == []
