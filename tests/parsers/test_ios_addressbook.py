"""parsers.ios_addressbook against an AddressBook.sqlitedb built from the real iOS 15 schema text
(truth: sqlite3 shell)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parsers import ios_addressbook
from tests.parsers.comms_support import FIXTURES, of_kind, run, truth

HERE = FIXTURES / "ios_addressbook"


def test_people_numbers_emails() -> None:
    records, warnings = run(ios_addressbook.parse, HERE / "AddressBook.sqlitedb",
                            "/private/var/mobile/Library/AddressBook/AddressBook.sqlitedb")
    people = {c.provenance.rowid: c for c in of_kind(records, "contact")}
    rows = truth(HERE / "truth" / "person.csv")
    assert sorted(people) == [int(r["ROWID"]) for r in rows]
    for row in rows:
        c = people[int(row["ROWID"])]
        assert list(c.numbers) == [n for n in row["phones"].split("|") if n]
        assert list(c.emails) == [e.lower() for e in row["emails"].split("|") if e]
        assert c.time_utc == datetime(2001, 1, 1, tzinfo=UTC) + timedelta(seconds=int(row["CreationDate"]))
        assert c.name == (" ".join(p for p in (row["First"], row["Last"]) if p) or row["Organization"])
    assert people[1].number_ids == ("+447700900123",) and people[3].number_ids == ("+442079460000",)
    assert warnings == []
