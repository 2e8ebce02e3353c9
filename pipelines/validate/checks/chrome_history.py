"""chrome_history against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
from __future__ import annotations

from typing import Any

from pipelines.validate.comms import (
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
    "every visits row of a Chrome History database as a web visit",
    "sqlite3 shell CSV of visits joined to urls (fixtures/comms/plaso/truth)")
CHECK = Check(PARSER, (
    Store("data/data/com.android.chrome/app_chrome/Default/History", "visits",
          ("plaso/truth/chrome_History-59.0.3071.86.visits.csv",), "id", "visit_time", "webkit-us",
          (Field("url", "url"), Field("title", "title", text_or_none))),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
