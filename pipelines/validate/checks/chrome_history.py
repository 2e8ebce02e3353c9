"""chrome_history against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pipelines.validate.comms import (
    EPOCHS,
    Check,
    Field,
    Store,
    requirement,
    run_check,
    text_or_none,
)
from pipelines.validate.record import Tally

PARSER = "chrome_history"
REQUIREMENT = requirement(
    PARSER, "Parser chrome_history (Chrome history)",
    "every visits row of a Chrome History database as a web visit, every downloads row as a download",
    "sqlite3 shell CSV of visits joined to urls, and of downloads (fixtures/comms/plaso/truth)")
# Chromium download::DownloadItem::DownloadState as the History database stores it (4: an old interrupted value)
STATE = {"0": "in progress", "1": "complete", "2": "cancelled", "3": "interrupted", "4": "interrupted"}


def webkit(text: str) -> datetime | None:
    """A WebKit time (microseconds since 1601); 0 or empty: none."""
    return EPOCHS["webkit-us"](int(text)) if text not in ("", "0") else None


def end_time(rec: dict[str, Any]) -> datetime | None:
    value = rec.get("end_utc")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


PATH = "data/data/com.android.chrome/app_chrome/Default/History"
CHECK = Check(PARSER, (
    Store(PATH, "visits", ("plaso/truth/chrome_History-59.0.3071.86.visits.csv",), "id", "visit_time", "webkit-us",
          (Field("url", "url"), Field("title", "title", text_or_none)), kinds=("web_visit",)),
    Store(PATH, "downloads", ("plaso/truth/chrome_History-59.0.3071.86.downloads.csv",), "id", "start_time",
          "webkit-us", (Field("target_path", "target_path"), Field("received_bytes", "received_bytes", int),
                        Field("total_bytes", "total_bytes", int), Field("state", "state", STATE.__getitem__),
                        Field("mime_type", "mime_type", text_or_none),
                        Field("end_time", "end_utc", webkit, mine=end_time)), kinds=("download",)),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
