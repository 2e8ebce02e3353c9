"""The MG6C block list: the unused material of one device described by quantity and generic title, as the CPS
Disclosure Manual allows for many similar items. Files by category; messages one line per conversation (app and
counterparts, as the report's Conversations page groups them); calls, contacts and web history per app; any other
record kind per parser and kind. Each line has its quantity and date span, and a key that its MG6C number belongs
to (:func:`reports.cps.mg6.numbering`)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from reports import comms
from reports.cps.plain import when
from reports.model import Case

PER_APP = {comms.CALL: "Calls", comms.CONTACT: "Contacts", comms.VISIT: "Web pages visited",
           comms.DOWNLOAD: "Downloads"}


@dataclass(frozen=True)
class Entry:
    key: str            # what the number belongs to: "block:files:image", "block:thread:<key>", "item:file:12"
    description: str
    quantity: int
    span: str           # "first to last" (UTC) or "no time recorded"


def span(first: str | None, last: str | None) -> str:
    return "no time recorded" if not first else f"{when(first)} to {when(last)}"


def _files(case: Case) -> Iterator[Entry]:
    for r in case.rows("SELECT COALESCE(category, 'uncategorised') AS c, count(*) AS n, min(mtime) AS a, "
                       "max(mtime) AS b FROM files WHERE kind NOT IN ('dir', 'virtual-dir') GROUP BY 1 ORDER BY 1"):
        yield Entry(f"block:files:{r['c']}", f"Files of category '{r['c']}' on the device (listed in the report and "
                    "case.db; times are last-modified)", r["n"], span(r["a"], r["b"]))


def _threads(case: Case) -> Iterator[Entry]:
    for t in comms.threads(case):
        times = [m["time"] for m in t.messages if m["time"]]
        deleted = sum(bool(m["data"].get("deleted")) for m in t.messages)
        who = ", ".join(t.participants) or "counterpart not recorded"
        extra = (f"; {deleted} of them deleted or recovered" if deleted else "") + \
            (f"; {t.duplicates} more copies found in a second copy of the database, counted once"
             if t.duplicates else "")
        yield Entry(f"block:thread:{t.key}", f"{t.app} messages, conversation '{t.label or '(no name)'}' with "
                    f"{who}{extra}", len(t.messages), span(min(times, default=None), max(times, default=None)))


def _per_app(case: Case) -> Iterator[Entry]:
    kinds = tuple(PER_APP)
    marks = ", ".join("?" * len(kinds))
    for r in case.rows(f"SELECT record_type AS k, COALESCE(json_extract(data, '$.app'), parser) AS app, count(*) AS n, "
                       f"min(timestamp) AS a, max(timestamp) AS b FROM records WHERE record_type IN ({marks}) "
                       "GROUP BY 1, 2 ORDER BY 1, 2", kinds):
        yield Entry(f"block:app:{r['k']}:{r['app']}", f"{PER_APP[r['k']]} recorded by {r['app']}", r["n"],
                    span(r["a"], r["b"]))


def _other_records(case: Case) -> Iterator[Entry]:
    kinds = (comms.MESSAGE, *PER_APP)
    marks = ", ".join("?" * len(kinds))
    for r in case.rows("SELECT parser || '/' || record_type AS k, count(*) AS n, min(timestamp) AS a, "
                       f"max(timestamp) AS b FROM records WHERE record_type NOT IN ({marks}) GROUP BY 1 ORDER BY 1",
                       kinds):
        yield Entry(f"block:records:{r['k']}", f"Records '{r['k']}' read from the device's files", r["n"],
                    span(r["a"], r["b"]))


def blocks(case: Case) -> list[Entry]:
    """Every block line, in a fixed order (files, conversations, per-app kinds, other records)."""
    return [*_files(case), *_threads(case), *_per_app(case), *_other_records(case)]
