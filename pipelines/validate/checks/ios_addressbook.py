"""ios_addressbook against the sqlite3 shell's CSV of its fixture databases (fixtures/comms)."""
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

PARSER = "ios_addressbook"
REQUIREMENT = requirement(
    PARSER, "Parser ios_addressbook (iOS address book)",
    "every ABPerson row of AddressBook.sqlitedb as a contact",
    "sqlite3 shell CSV of ABPerson with its ABMultiValue numbers and e-mails (fixtures/comms/ios_addressbook/truth)")
CHECK = Check(PARSER, (
    Store("private/var/mobile/Library/AddressBook/AddressBook.sqlitedb", "ABPerson",
          ("ios_addressbook/truth/person.csv",), "ROWID", "CreationDate", "cocoa-s",
          (Field("*", "name", lambda r: " ".join(p for p in (r["First"], r["Last"]) if p) or r["Organization"] or None),
           Field("Organization", "organisation", text_or_none))),
))


def check(ctx: Any, tally: Tally) -> None:
    run_check(ctx, tally, CHECK)
