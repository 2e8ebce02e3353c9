"""parsers.android_contacts against a contacts2.db built from the real schema text
(truth: sqlite3 shell) and plaso's trimmed contacts2.db (no raw_contacts, no contacts)."""
from __future__ import annotations

from collections import defaultdict

from parsers import android_contacts
from tests.parsers.comms_support import FIXTURES, PLASO, of_kind, run, truth

PATH = "/data/user/0/com.android.providers.contacts/databases/contacts2.db"


def test_raw_contacts_with_names_numbers_emails_accounts() -> None:
    here = FIXTURES / "android_contacts"
    records, warnings = run(android_contacts.parse, here / "contacts2.db", PATH)
    contacts = of_kind(records, "contact")
    live = {c.provenance.rowid: c for c in contacts if c.provenance.table == "raw_contacts"}
    raws = truth(here / "truth" / "raw_contacts.csv")
    data: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in truth(here / "truth" / "data.csv"):
        data[row["raw_contact_id"]][row["mimetype"].rsplit("/", 1)[1]].append(row["data1"])
    assert sorted(live) == [int(r["_id"]) for r in raws]
    for row in raws:
        c = live[int(row["_id"])]
        assert c.name == row["display_name"]
        assert c.account == f"{row['account_type']}:{row['account_name']}"
        assert list(c.numbers) == data[row["_id"]]["phone_v2"]
        assert list(c.emails) == [e.lower() for e in data[row["_id"]]["email_v2"]]
        assert (c.deleted is not None) is (row["deleted"] == "1")
    assert live[1].number_ids == live[2].number_ids == ("+447700900123",)  # one person across two accounts
    assert live[3].organisation == "Example Ltd"
    (gone,) = [c for c in contacts if c.provenance.table == "deleted_contacts"]
    (row,) = truth(here / "truth" / "deleted_contacts.csv")
    assert gone.provenance.rowid == int(row["contact_id"]) and gone.time_raw == int(row["contact_deleted_timestamp"])
    assert warnings == []


def test_trimmed_plaso_database_has_no_contacts() -> None:
    records, warnings = run(android_contacts.parse, PLASO / "android_contacts2.db", PATH)
    assert of_kind(records, "contact") == [] and truth(PLASO / "truth" / "android_contacts2.data.csv") == []
    assert warnings == []
