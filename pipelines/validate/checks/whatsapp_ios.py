"""whatsapp_ios against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
from __future__ import annotations

from typing import Any

from pipelines.validate.comms import (
    Check,
    Field,
    Store,
    from_me,
    requirement,
    run_check,
    text_or_none,
)
from pipelines.validate.record import Tally

PARSER = "whatsapp_ios"
REQUIREMENT = requirement(
    PARSER, "Parser whatsapp_ios (WhatsApp iOS)",
    "every ZWAMESSAGE row of ChatStorage.sqlite as a message",
    "sqlite3 shell CSV of ZWAMESSAGE (fixtures/comms/whatsapp_ios/truth)")
CHECK = Check(PARSER, (
    Store("private/var/mobile/Containers/Shared/AppGroup/0A1B2C3D-0000-0000-0000-000000000000/ChatStorage.sqlite",
          "ZWAMESSAGE", ("whatsapp_ios/truth/message.csv",), "Z_PK", "ZMESSAGEDATE", "cocoa-s",
          (Field("ZISFROMME", "direction", from_me), Field("ZTEXT", "body", text_or_none),
           Field("ZCONTACTJID", "thread"))),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
