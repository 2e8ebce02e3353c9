"""firefox_places against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
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

PARSER = "firefox_places"
REQUIREMENT = requirement(
    PARSER, "Parser firefox_places (Firefox history)",
    "every moz_historyvisits row of places.sqlite as a web visit",
    "sqlite3 shell CSV of moz_historyvisits joined to moz_places (fixtures/comms/plaso/truth)")
CHECK = Check(PARSER, (
    Store("data/data/org.mozilla.firefox/files/places.sqlite", "moz_historyvisits",
          ("plaso/truth/firefox.visits.csv",), "id", "visit_date", "unix-us",
          (Field("url", "url"), Field("title", "title", text_or_none))),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
