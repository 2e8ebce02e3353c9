"""ios_callhistory against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
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

PARSER = "ios_callhistory"
REQUIREMENT = requirement(
    PARSER, "Parser ios_callhistory (iOS call history)",
    "every ZCALLRECORD row of CallHistory.storedata as a call",
    "sqlite3 shell CSV of ZCALLRECORD (fixtures/comms/ios_callhistory/truth)")


def direction(row: dict[str, str]) -> str:
    """ZORIGINATED 1: outgoing; else ZANSWERED 0: missed."""
    return "outgoing" if row["ZORIGINATED"] == "1" else ("incoming" if row["ZANSWERED"] == "1" else "missed")


CHECK = Check(PARSER, (
    Store("private/var/mobile/Library/CallHistoryDB/CallHistory.storedata", "ZCALLRECORD",
          ("ios_callhistory/truth/calls.csv",), "Z_PK", "ZDATE", "cocoa-s",
          (Field("address", "number", text_or_none), Field("*", "direction", direction),
           Field("ZDURATION", "duration_s", lambda d: int(float(d)) if d else None))),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
