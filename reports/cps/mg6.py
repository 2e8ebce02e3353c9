"""The unused-material schedules, drafted: MG6C (non-sensitive, block-listed by category, app and conversation
with quantities and date spans (:mod:`reports.cps.schedule`), items marked possibly disclosable listed
individually) and MG6D (items marked sensitive with the reason, or a nil return).

MG6C numbers are kept in ``data/cps/mg6c-numbering.json`` and MG6D numbers in ``data/cps/mg6d-numbering.json``
(:func:`numbering`, for both): a later draft keeps every number already given and numbers only what is new,
after the highest, so a schedule is never renumbered. A number stays with its line or item even when the item
is no longer listed (its mark removed): the number is not given to anything else, and comes back with the item
if it is marked again."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devicex.fsutil import write_atomic
from devicex.tags import read_tags
from reports.cps import schedule
from reports.cps.blocks import DISCLOSURE_OFFICER, Document, Heading, Para, Table, supply
from reports.cps.plain import when
from reports.cps.schedule import Entry
from reports.model import Case

SCHEDULES = ("MG6C", "MG6D")  # the schedules whose numbers are kept across drafts
EXCERPT = 120


def describe_item(case: Case, tag: dict[str, Any]) -> str:
    """A marked item in one line: its path, size, hash and time, and its case.db row."""
    if tag["item_kind"] == "file":
        f = case.rows("SELECT volume, path, kind, size, sha256, mtime FROM files WHERE id = ?", (tag["item_id"],))[0]
        what = "Folder" if f["kind"] in ("dir", "virtual-dir") else "File"
        digest = f"SHA-256 {f['sha256']}" if f["sha256"] else "content not read"
        return (f"{what} {f['volume']}{f['path']} ({f['size']} bytes, {digest}, modified "
                f"{when(f['mtime'])}); case.db file {tag['item_id']}")
    r = case.rows("SELECT r.parser, r.record_type, r.timestamp, r.data, r.source_table, r.source_rowid, f.volume, "
                  "f.path FROM records r JOIN files f ON f.id = r.file_id WHERE r.id = ?", (tag["item_id"],))[0]
    row = f" (table {r['source_table']}, row {r['source_rowid']})" if r["source_table"] else ""
    return (f"Record {r['parser']}/{r['record_type']} of {when(r['timestamp'])}{_summary(r['data'])} in "
            f"{r['volume']}{r['path']}{row}; case.db record {tag['item_id']}")


def _summary(data: str) -> str:
    """What a communication record says, in a few words: app, direction, counterpart, text excerpt."""
    try:
        d = json.loads(data)
    except (TypeError, ValueError):
        return ""
    if not isinstance(d, dict) or not d.get("app"):
        return ""
    who = d.get("sender") or d.get("number") or ", ".join(str(p) for p in d.get("participants") or []) or d.get("url")
    text = str(d.get("body") or "").replace("\n", " ")
    excerpt = f", text '{text[:EXCERPT]}{'...' if len(text) > EXCERPT else ''}'" if text else ""
    return (f": {d['app']}" + (f", {d['direction']}" if d.get("direction") else "")
            + (f", {who}" if who else "") + excerpt)


def marked(case: Case, mark: str) -> list[dict[str, Any]]:
    seen, out = set(), []
    for tag in read_tags(case.conn):
        key = (tag["item_kind"], tag["item_id"])
        if tag["mark"] == mark and key not in seen:
            seen.add(key)
            out.append(tag)
    return out


def numbering_file(schedule: str) -> str:
    """The file (in ``data/cps``) that keeps ``schedule``'s numbers."""
    return f"{schedule.lower()}-numbering.json"


def numbering(folder: Path, keys: list[str], schedule: str = "MG6C") -> dict[str, int]:
    """The ``schedule`` number of every key: every one already given kept (also of keys not listed now), new
    ones after the highest, in the order of ``keys``."""
    path = folder / numbering_file(schedule)
    held: dict[str, int] = {}
    if path.is_file():
        doc = json.loads(path.read_text(encoding="utf-8"))
        held = {i["key"]: int(i["number"]) for i in doc.get("items", [])}
    top = max(held.values(), default=0)
    for key in keys:
        if key not in held:
            top += 1
            held[key] = top
    items = [{"number": n, "key": k} for k, n in sorted(held.items(), key=lambda kv: kv[1])]
    write_atomic(path, (json.dumps({"format": f"devicex-{schedule.lower()}-numbering", "version": 1, "items": items},
                                   indent=1)
                        + "\n").encode())
    return held


def item_key(tag: dict[str, Any]) -> str:
    return f"item:{tag['item_kind']}:{tag['item_id']}"


def build_mg6c(case: Case, folder: Path, case_ref: str | None) -> tuple[Document, dict[str, int]]:
    """The MG6C and the number of every line (by key, :func:`item_key` for the items listed individually)."""
    entries = schedule.blocks(case)
    sensitive = {(t["item_kind"], t["item_id"]) for t in marked(case, "sensitive")}
    for tag in marked(case, "possibly-disclosable"):
        if (tag["item_kind"], tag["item_id"]) not in sensitive:
            entries.append(Entry(item_key(tag),
                                 f"{describe_item(case, tag)}. Marked possibly meeting the disclosure test by "
                                 f"{tag['tagged_by']} "
                                 f"at {when(tag['tagged_at'])}: {tag['note'] or '(no note)'}", 1, "see description"))
    numbers = numbering(folder, [e.key for e in entries])
    rows = tuple((str(numbers[e.key]), e.description, str(e.quantity), e.span)
                 for e in sorted(entries, key=lambda e: numbers[e.key]))
    blocks: list[Heading | Para | Table] = [
        Para(f"URN {case_ref or '[TO SUPPLY]'}. Material from one device examination, block-listed by category, "
             "app and conversation; items marked as possibly meeting the disclosure test are listed individually."),
        Table(("No.", "Description and relevance", "Quantity", "Dates (UTC)"), rows, (1.2, 9.8, 2.2, 3.8))]
    if sensitive:
        blocks.append(Para(f"{len(sensitive)} item(s) marked sensitive are on the MG6D, not here."))
    blocks += [supply("name, signature and date", DISCLOSURE_OFFICER)]
    return Document("MG6C", "POLICE SCHEDULE OF NON-SENSITIVE UNUSED MATERIAL - DRAFT",
                    "Criminal Procedure and Investigations Act 1996; numbering continues across revisions",
                    tuple(blocks)), numbers


def build_mg6d(case: Case, folder: Path, case_ref: str | None) -> tuple[Document, dict[str, int]]:
    """The MG6D and the number of every item marked sensitive (by :func:`item_key`), kept across drafts."""
    tags = marked(case, "sensitive")
    numbers = numbering(folder, [item_key(t) for t in tags], "MG6D")
    blocks: list[Heading | Para | Table] = [Para(f"URN {case_ref or '[TO SUPPLY]'}.")]
    if tags:
        rows = tuple((str(numbers[item_key(t)]), describe_item(case, t),
                      f"{t['note']} (marked by {t['tagged_by']} at {when(t['tagged_at'])})")
                     for t in sorted(tags, key=lambda t: numbers[item_key(t)]))
        blocks.append(Table(("No.", "Description", "Reason for sensitivity"), rows, (1.2, 8.8, 7.0)))
    else:
        blocks.append(Para("NIL RETURN: no item of this examination is marked sensitive."))
    blocks.append(supply("endorsement, signature and date (a nil return must be signed too)", DISCLOSURE_OFFICER))
    return Document("MG6D", "POLICE SCHEDULE OF SENSITIVE MATERIAL - DRAFT", "RESTRICTED when complete; "
                    "Criminal Procedure and Investigations Act 1996; numbering continues across revisions",
                    tuple(blocks)), numbers
