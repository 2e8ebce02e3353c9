"""parsers.chrome_history against plaso's real Chrome History files of two schema generations
(truth: sqlite3 shell; plaso's own expectations)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import parsers
from parsers import chrome_history
from tests.parsers.comms_support import PLASO, of_kind, run, truth

PATH = "/data/data/com.android.chrome/app_chrome/Default/History"
WEBKIT = datetime(1601, 1, 1, tzinfo=UTC)


def test_chrome_8_visits_and_downloads() -> None:
    records, warnings = run(chrome_history.parse, PLASO / "chrome_History", PATH)
    visits, downloads = of_kind(records, "web_visit"), of_kind(records, "download")
    rows = truth(PLASO / "truth" / "chrome_History.visits.csv")
    assert [v.provenance.rowid for v in visits] == [int(r["id"]) for r in rows]
    for v, row in zip(visits, rows, strict=True):
        assert v.url == row["url"] and (v.title or "") == row["title"]
        assert v.time_utc == WEBKIT + timedelta(microseconds=int(row["visit_time"]))
        assert v.synced is False
    assert len(visits) + len(downloads) == 71  # plaso: 71 events
    assert visits[0].time_utc == datetime(2011, 4, 7, 12, 3, 11, tzinfo=UTC) and visits[0].transition == "link"
    drows = truth(PLASO / "truth" / "chrome_History.downloads.csv")
    for d, row in zip(downloads, drows, strict=True):
        assert d.url == row["url"] and d.target_path == row["full_path"]
        assert d.total_bytes == int(row["total_bytes"])
        assert d.time_utc == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(row["start_time"]))
    assert downloads[0].time_utc == datetime(2011, 5, 23, 8, 35, 30, tzinfo=UTC)
    assert warnings == []


def test_chrome_59() -> None:
    records, warnings = run(chrome_history.parse, PLASO / "chrome_History-59.0.3071.86", PATH)
    (visit,) = of_kind(records, "web_visit")
    (download,) = of_kind(records, "download")
    (vrow,) = truth(PLASO / "truth" / "chrome_History-59.0.3071.86.visits.csv")
    (drow,) = truth(PLASO / "truth" / "chrome_History-59.0.3071.86.downloads.csv")
    assert visit.url == vrow["url"] and visit.time_raw == int(vrow["visit_time"])
    assert visit.time_utc == datetime(2018, 1, 21, 14, 8, 52, 37692, tzinfo=UTC)  # plaso's expectation
    assert visit.transition == "auto_toplevel"  # 805306374 & 0xFF = 6
    assert download.target_path == drow["target_path"] and download.url == drow["tab_url"]
    assert download.time_utc == datetime(2018, 1, 21, 14, 8, 51, 811123, tzinfo=UTC)
    assert download.end_utc == datetime(2018, 1, 21, 14, 8, 52, 662377, tzinfo=UTC)
    assert download.mime_type == drow["mime_type"] and download.state == "complete"
    assert warnings == []


def test_selected_for_browser_profiles_only() -> None:
    def names(p: str) -> list[str]:
        return [s.name for s in parsers.for_type("application/x-sqlite3", "", p)]

    assert "chrome_history" in names(PATH)
    assert "chrome_history" in names("/home/u/.config/google-chrome/Default/History")
    assert "chrome_history" not in names("/home/u/History")
