"""ios_sms against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
from __future__ import annotations

from typing import Any

from pipelines.validate.comms import (
    Check,
    Field,
    Store,
    from_me,
    other_party,
    requirement,
    run_check,
    text_if_any,
    text_or_none,
)
from pipelines.validate.record import Tally

PARSER = "ios_sms"
REQUIREMENT = requirement(
    PARSER, "Parser ios_sms (iOS Messages)",
    "every message row of sms.db and chat.db as a message",
    "sqlite3 shell CSV of message joined to handle (fixtures/comms/ios_sms/truth, fixtures/comms/plaso/truth)")
CHECK = Check(PARSER, (
    Store("private/var/mobile/Library/SMS/sms.db", "message", ("ios_sms/truth/message.csv",), "ROWID",
          "date", "cocoa-s", (Field("is_from_me", "direction", from_me), Field("text", "body", text_if_any))),
    Store("Users/mac/Library/Messages/chat.db", "message", ("plaso/truth/imessage.message.csv",), "ROWID",
          "date", "cocoa-s", (Field("is_from_me", "direction", from_me), Field("handle", "address", mine=other_party),
                              Field("text", "body", text_or_none))),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
