"""safari_history against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
from __future__ import annotations

from typing import Any

from pipelines.validate.comms import (
    Check,
    Field,
    Store,
    requirement,
    run_check,
)
from pipelines.validate.record import Tally

PARSER = "safari_history"
REQUIREMENT = requirement(
    PARSER, "Parser safari_history (Safari history)",
    "every history_visits row of History.db as a web visit",
    "sqlite3 shell CSV of history_visits joined to history_items (fixtures/comms/plaso/truth)")


def title(rec: dict[str, Any]) -> str:
    """The shell's CSV writes NULL and '' alike: compare the title as text."""
    return rec.get("title") or ""


CHECK = Check(PARSER, (
    Store("private/var/mobile/Library/Safari/History.db", "history_visits", ("plaso/truth/safari.visits.csv",),
          "id", "visit_time", "cocoa-s", (Field("url", "url"), Field("title", "title", mine=title))),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
