"""iOS contacts from ``AddressBook.sqlitedb`` (+WAL): ``ABPerson`` with its phone
numbers (``ABMultiValue.property`` 3) and e-mail addresses (4). ``CreationDate``
and ``ModificationDate`` are Cocoa seconds since 2001.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from devicex import epochs
from devicex.comms import Contact, identities
from devicex.entries import Entry
from devicex.parsing import ParserContext
from devicex.records import Record
from devicex.sqlitedb import Database, open_database

NAME = "ios_addressbook"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = ("*/Library/AddressBook/AddressBook.sqlitedb",)
APP = "iOS contacts"
PHONE, EMAIL = 3, 4


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    with open_database(entry, ctx) as db:
        if not db.require("ABPerson"):
            return
        values = _values(db)
        cols = db.columns("ABPerson", ("First", "Middle", "Last", "Organization", "Nickname", "CreationDate"),
                          optional=("Middle", "Nickname"))
        for row, deleted in db.rows(f"SELECT ROWID AS rid, {cols} FROM {{db}}.ABPerson"):
            name = " ".join(p for p in (row["First"], row["Middle"], row["Last"]) if p) or row["Nickname"]
            numbers = tuple(values.get((row["rid"], PHONE), ()))
            yield Contact(
                provenance=db.provenance.row("ABPerson", row["rid"]), app=APP, name=name or row["Organization"],
                numbers=numbers, number_ids=identities(list(numbers), ctx.region),
                emails=tuple(e.lower() for e in values.get((row["rid"], EMAIL), ())),
                organisation=row["Organization"], time_utc=epochs.convert(row["CreationDate"], epochs.COCOA_S),
                time_raw=row["CreationDate"], time_epoch=epochs.COCOA_S, deleted=deleted)
        report = db.table_report("ABPerson")
        if report:
            yield report


def _values(db: Database) -> dict[tuple[int, int], list[Any]]:
    out: dict[tuple[int, int], list[Any]] = {}
    if not db.has("ABMultiValue"):
        return out
    for record_id, prop, value in db.conn.execute(
            "SELECT record_id, property, value FROM main.ABMultiValue WHERE property IN (3, 4) ORDER BY UID"):
        if value and value not in out.setdefault((record_id, prop), []):
            out[(record_id, prop)].append(value)
    return out
