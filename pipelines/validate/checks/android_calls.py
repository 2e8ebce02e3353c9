"""android_calls against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
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

PARSER = "android_calls"
REQUIREMENT = requirement(
    PARSER, "Parser android_calls (Android call log)",
    "every calls row of calllog.db as a call",
    "sqlite3 shell CSV of the calls table (fixtures/comms/android_calls/truth)")
# CallLog.Calls TYPE: 1 incoming, 2 outgoing, 3 missed, 4 voicemail, 5 rejected, 6 blocked, 7 answered elsewhere
CALL_TYPE = {"1": "incoming", "2": "outgoing", "3": "missed", "4": "incoming", "5": "rejected", "6": "rejected",
             "7": "incoming"}
CHECK = Check(PARSER, (
    Store("data/user/0/com.android.providers.contacts/databases/calllog.db", "calls",
          ("android_calls/truth/calls.csv",), "_id", "date", "unix-ms",
          (Field("number", "number"), Field("type", "direction", CALL_TYPE.__getitem__),
           Field("duration", "duration_s", int), Field("name", "name", text_or_none))),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
