"""bugle_db against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
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

PARSER = "bugle_db"
REQUIREMENT = requirement(
    PARSER, "Parser bugle_db (Google Messages)",
    "every messages row of bugle_db (with its WAL) as a message",
    "sqlite3 shell CSV of the messages table (fixtures/comms/bugle_db/truth)")
CHECK = Check(PARSER, (
    Store("data/data/com.google.android.apps.messaging/databases/bugle_db", "messages",
          ("bugle_db/truth/messages.with-wal.csv", "bugle_db/truth/messages.main-only.csv"), "_id",
          "received_timestamp", "unix-ms",
          (Field("body", "body", text_or_none),)),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
