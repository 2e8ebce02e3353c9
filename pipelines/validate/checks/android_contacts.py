"""android_contacts against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
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

PARSER = "android_contacts"
REQUIREMENT = requirement(
    PARSER, "Parser android_contacts (Android contacts)",
    "every raw_contacts and deleted_contacts row of contacts2.db as a contact",
    "sqlite3 shell CSV of the raw_contacts and deleted_contacts tables (fixtures/comms/android_contacts/truth)")
DB = "data/user/0/com.android.providers.contacts/databases/contacts2.db"
CHECK = Check(PARSER, (
    Store(DB, "raw_contacts", ("android_contacts/truth/raw_contacts.csv",), "_id",
          fields=(Field("display_name", "name", text_or_none),)),
    Store(DB, "deleted_contacts", ("android_contacts/truth/deleted_contacts.csv",), "contact_id",
          "contact_deleted_timestamp", "unix-ms"),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
