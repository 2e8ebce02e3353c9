"""Android contacts from the contacts provider's ``contacts2.db``: one record per
raw contact (a contact as one account holds it: Google, the phone, WhatsApp...)
with its names, numbers and e-mail addresses from ``data`` by ``mimetypes``.

Older schemas keep ``account_name``/``account_type`` in ``raw_contacts``; newer
ones an ``account_id`` into ``accounts``. Without ``raw_contacts`` (trimmed
copies) the contacts are grouped by ``data.raw_contact_id`` alone.
``deleted_contacts`` rows (contact id and the ms time it was deleted) are
recorded as deleted contacts.
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

NAME = "android_contacts"
VERSION = "1.0"
MIME_TYPES: frozenset[str] = frozenset()
PATHS = ("*/com.android.providers.contacts/databases/contacts2.db",
         "*/com.samsung.android.providers.contacts/databases/contacts2.db")
APP = "Android contacts"
NAME_TYPE, PHONE, EMAIL, ORG = ("vnd.android.cursor.item/name", "vnd.android.cursor.item/phone_v2",
                                "vnd.android.cursor.item/email_v2", "vnd.android.cursor.item/organization")
DELETED_CONTACT = "deleted contact (deleted_contacts)"


def parse(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    with open_database(entry, ctx) as db:
        if not db.require("data", "mimetypes"):
            return
        details = _details(db)
        raws = _raw_contacts(db)
        for raw_id in sorted(set(details) | set(raws)):
            d = details.get(raw_id, {})
            raw = raws.get(raw_id, {})
            numbers = tuple(d.get("numbers", ()))
            yield Contact(
                provenance=db.provenance.row("raw_contacts" if raw else "data", raw_id), app=APP,
                name=raw.get("display_name") or d.get("name"), numbers=numbers,
                number_ids=identities(list(d.get("normalised", ())) + list(numbers), ctx.region),
                emails=tuple(e.lower() for e in d.get("emails", ())), account=raw.get("account"),
                organisation=d.get("organisation"), deleted=raw.get("deleted"))
        yield from _deleted(db)
        for table in ("raw_contacts", "data"):
            report = db.table_report(table)
            if report:
                yield report


def _details(db: Database) -> dict[int, dict[str, Any]]:
    sql = ("SELECT d.raw_contact_id AS rid, m.mimetype AS mime, d.data1 AS data1, d.data4 AS data4 "
           "FROM {db}.data d JOIN {db}.mimetypes m ON m._id = d.mimetype_id")
    out: dict[int, dict[str, Any]] = {}
    for row, _ in db.rows(sql):
        item = out.setdefault(row["rid"], {})
        value = row["data1"]
        if value is None:
            continue
        if row["mime"] == NAME_TYPE:
            item.setdefault("name", value)
        elif row["mime"] == PHONE:
            _add(item, "numbers", value)
            if row["data4"]:
                _add(item, "normalised", row["data4"])
        elif row["mime"] == EMAIL:
            _add(item, "emails", value)
        elif row["mime"] == ORG:
            item.setdefault("organisation", value)
    return out


def _raw_contacts(db: Database) -> dict[int, dict[str, Any]]:
    if not db.has("raw_contacts"):
        return {}
    cols = db.table_columns("raw_contacts")
    if "account_id" in cols and db.has("accounts"):
        account = "(SELECT a.account_type || ':' || a.account_name FROM {db}.accounts a WHERE a._id = r.account_id)"
    elif "account_type" in cols:
        account = "r.account_type || ':' || r.account_name"
    else:
        account = "NULL"
    sql = (f"SELECT r._id AS rid, {db.columns('raw_contacts', ('display_name', 'deleted'), 'r')}, "
           f"{account} AS account FROM {{db}}.raw_contacts r")
    out: dict[int, dict[str, Any]] = {}
    for row, state in db.rows(sql):
        if row["rid"] in out and state:
            continue  # the live row wins; the main-file version is only a change
        flag = "marked deleted in the database" if row["deleted"] == 1 else None
        out[row["rid"]] = {"display_name": row["display_name"], "account": row["account"], "deleted": state or flag}
    return out


def _deleted(db: Database) -> Iterator[Contact]:
    if not db.has("deleted_contacts"):
        return
    for row, state in db.rows("SELECT contact_id, contact_deleted_timestamp FROM {db}.deleted_contacts"):
        raw = row["contact_deleted_timestamp"]
        yield Contact(provenance=db.provenance.row("deleted_contacts", row["contact_id"]), app=APP,
                      time_utc=epochs.convert(raw, epochs.UNIX_MS), time_raw=raw, time_epoch=epochs.UNIX_MS,
                      deleted=state or DELETED_CONTACT)


def _add(item: dict[str, Any], key: str, value: str) -> None:
    values = item.setdefault(key, [])
    if value not in values:
        values.append(value)
