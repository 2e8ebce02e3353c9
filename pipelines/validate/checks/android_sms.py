"""android_sms against the sqlite3 shell's CSV of mmssms.db (fixture and plaso's)."""
from __future__ import annotations

from typing import Any

from pipelines.validate.comms import (
    Check,
    Field,
    Store,
    first,
    other_party,
    requirement,
    run_check,
    text_or_none,
)
from pipelines.validate.record import Tally

PARSER = "android_sms"
REQUIREMENT = requirement(PARSER, "Parser android_sms (Android SMS/MMS)", "every sms and pdu row of mmssms.db "
                          "(with its WAL, and rows only in the main file) as a message",
                          "sqlite3 shell CSV of the sms and pdu tables (fixtures/comms/android_sms/truth, "
                          "fixtures/comms/plaso/truth)")
# Telephony.TextBasedSmsColumns TYPE: 1 inbox; 2 sent, 3 draft, 4 outbox, 5 failed, 6 queued
SMS_TYPE = {"1": "incoming", "2": "outgoing", "3": "outgoing", "4": "outgoing", "5": "outgoing", "6": "outgoing"}
MSG_BOX = SMS_TYPE  # Telephony.BaseMmsColumns MESSAGE_BOX has the same numbering
USER = "data/user/0/com.android.providers.telephony/databases/mmssms.db"
USER_DE = "data/user_de/0/com.android.providers.telephony/databases/mmssms.db"
SMS = (Field("address", "address", mine=other_party), Field("type", "direction", SMS_TYPE.__getitem__))
CHECK = Check(PARSER, (
    Store(USER, "sms", ("android_sms/truth/sms.with-wal.csv", "android_sms/truth/sms.main-only.csv"), "_id",
          "date", "unix-ms", SMS + (Field("substr(body, 1, 60)", "body", mine=first("body", 60)),)),
    Store(USER, "pdu", ("android_sms/truth/pdu.csv",), "_id", "date", "unix-s",
          (Field("msg_box", "direction", MSG_BOX.__getitem__), Field("sub", "subject", text_or_none))),
    Store(USER_DE, "sms", ("plaso/truth/android_mmssms.sms.csv",), "_id", "date", "unix-ms",
          SMS + (Field("body", "body"),)),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
