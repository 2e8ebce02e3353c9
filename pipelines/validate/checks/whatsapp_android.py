"""whatsapp_android against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
from __future__ import annotations

import csv
from typing import Any

from pipelines.validate.comms import (
    COMMS,
    Check,
    Field,
    Store,
    from_me,
    requirement,
    run_check,
    text_if_any,
)
from pipelines.validate.record import Tally

PARSER = "whatsapp_android"
REQUIREMENT = requirement(
    PARSER, "Parser whatsapp_android (WhatsApp Android)",
    "every message and call_log row of msgstore.db (with its WAL) as a message or call",
    "sqlite3 shell CSV of the message and call_log tables (fixtures/comms/whatsapp_android/truth)")


def _lids() -> dict[str, str]:
    with (COMMS / "whatsapp_android/truth/jid_map.csv").open(newline="", encoding="utf-8") as fh:
        return {row["lid"]: row["phone"] for row in csv.DictReader(fh)}


def phone_jid(jid: str) -> str:
    """A chat's JID, an @lid one as the phone JID jid_map gives it."""
    return _lids().get(jid, jid)


def call_direction(row: dict[str, str]) -> str:
    """from_me 1: outgoing; a received call of no duration: missed."""
    return "outgoing" if row["from_me"] == "1" else ("incoming" if int(row["duration"] or 0) > 0 else "missed")


DB = "data/data/com.whatsapp/databases/msgstore.db"
CHECK = Check(PARSER, (
    Store(DB, "message",
          ("whatsapp_android/truth/message.with-wal.csv", "whatsapp_android/truth/message.main-only.csv"),
          "_id", "timestamp", "unix-ms",
          (Field("from_me", "direction", from_me), Field("text_data", "body", text_if_any),
           Field("chat_jid", "thread", phone_jid))),
    Store(DB, "call_log", ("whatsapp_android/truth/call_log.csv",), "_id", "timestamp", "unix-ms",
          (Field("*", "direction", call_direction), Field("duration", "duration_s", int),
           Field("video_call", "video", lambda v: v == "1"))),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
