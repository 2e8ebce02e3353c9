"""The search and review record: every scope (its rules in plain English, who recorded it and when, what each
rule left in the image), every dry run, and every review action recorded through the investigators' marks."""
from __future__ import annotations

from typing import Any

from devicex.scope import ScopeError, describe, parse_text
from devicex.tags import MARKS, read_tags
from reports.cps import left
from reports.cps.blocks import DISCLOSURE_OFFICER, Document, Heading, Para, Table, supply
from reports.cps.facts import Facts
from reports.cps.plain import when
from reports.model import Case


def _scope_text(run: dict[str, Any]) -> list[Para]:
    if not run.get("scope"):
        reason = run.get("full_extraction_reason") or "no reason recorded"
        return [Para(f"Full extraction (no scope); reason given: {reason}.")]
    try:
        text = describe(parse_text(run["scope"], name=f"run {run['id']} scope"))
    except ScopeError as exc:
        return [Para(f"The recorded scope cannot be read back: {exc}", "flag")]
    return [Para(line.strip(), "small") for line in text.splitlines() if line.strip()]


def _run(case: Case, facts: Facts, run: dict[str, Any]) -> list[Heading | Para | Table]:
    setter = next((e for e in facts.custody if e["action"] == "scope" and e["time"] >= run["started"]
                   and e["details"].get("scope_sha256") == run.get("scope_sha256")), None)
    blocks: list[Heading | Para | Table] = [
        Heading(f"Extraction run {run['id']}, started {when(run['started'])}", 2),
        Para(f"Scope recorded by {setter['actor'].get('name') if setter else run.get('examiner')} at "
             f"{when(setter['time']) if setter else 'no time recorded'}; scope SHA-256 "
             f"{run.get('scope_sha256') or 'none (full extraction)'}."),
        *_scope_text(run)]
    taken = case.rows("SELECT count(*) AS n FROM files WHERE run_id = ? AND kind NOT IN ('dir', 'virtual-dir')",
                      (run["id"],))[0]["n"]
    rows = [("taken (listed in case.db)", str(taken), "")]
    rows += [(f"left in the image: {r['reason']}", str(r["count"]), str(r["bytes"]))
             for r in left.files_left(case, run["id"])]
    rows += [(f"{r['record_type']} records not taken: {r['reason']}", str(r["count"]), "")
             for r in left.records_left(case, run["id"])]
    blocks.append(Table(("Outcome", "Files (records)", "Bytes"), tuple(rows), (10.0, 3.0, 4.0)))
    return blocks


def _marks(entry: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in entry["details"].get("marks", {}).items())


def _action(entry: dict[str, Any]) -> str:
    d = entry["details"]
    if entry["action"] == "tags-remove":
        return (f"removed {d.get('tags')} ({_marks(entry)}) from {', '.join(d.get('items', []))}; "
                f"reason: {d.get('reason')}")
    return f"imported {d.get('tags')} ({_marks(entry)}); {d.get('origin')}"


def _removals(case: Case) -> list[Heading | Para | Table]:
    removed = read_tags(case.conn, removed=True)
    if not removed:
        return []
    return [Para(f"Marks taken back: {len(removed)} (no longer held; each with who removed it, when and why)."),
            Table(("Item", "Mark", "Marked by", "Removed", "Reason"), tuple(
                (f"{t['item_kind']}:{t['item_id']}", t["mark"], t["tagged_by"],
                 f"{when(t['removed_at'])} by {t['removed_by']}", t["removed_reason"]) for t in removed),
                (2.2, 3.2, 3.2, 4.0, 4.4))]


def build(case: Case, facts: Facts) -> Document:
    blocks: list[Heading | Para | Table] = [
        Para(f"URN {facts.case_ref or '[TO SUPPLY]'}, exhibit {facts.exhibit_ref or '[TO SUPPLY]'}. Every rule "
             "used to choose what was taken from the device, who recorded it and when, what each left in the "
             "image, and every review action recorded in devicex."),
        Heading("What was searched: scopes")]
    for run in case.runs():
        blocks += _run(case, facts, run)
    dry = [e for e in facts.custody if e["action"] == "scope-dry-run"]
    blocks.append(Heading("Dry runs (counts only, nothing taken)"))
    blocks += [Para(f"{when(e['time'])} by {e['actor'].get('name')}: scope {e['details'].get('scope_file')} "
                    f"(SHA-256 {e['details'].get('scope_sha256')}).") for e in dry] or [Para("None recorded.")]
    imports = [e for e in facts.custody if e["action"] in ("tags-import", "tags-remove")]
    blocks.append(Heading("What was reviewed: investigators' marks"))
    if imports:
        blocks.append(Table(("Seq", "Time", "By", "Marks imported or removed"), tuple(
            (str(e["seq"]), when(e["time"]), str(e["actor"].get("name")), _action(e)) for e in imports),
            (1.2, 4.0, 3.3, 8.5)))
    else:
        blocks.append(Para("No review marks were recorded in devicex."))
    blocks += _removals(case)
    held = read_tags(case.conn)
    blocks.append(Para("Marks held now: " + ", ".join(f"{m} {sum(t['mark'] == m for t in held)}" for m in MARKS)
                       + f" (on {len({(t['item_kind'], t['item_id']) for t in held})} items)."))
    if held:
        blocks.append(Table(("Item", "Mark", "Marked by", "Marked at", "Imported"), tuple(
            (f"{t['item_kind']}:{t['item_id']}", t["mark"], t["tagged_by"], when(t["tagged_at"]),
             f"{when(t['imported_at'])} by {t['imported_by']} ({t['origin']})") for t in held),
            (2.2, 3.2, 3.2, 3.6, 4.8)))
    blocks += [Heading("Not recorded by devicex"),
               supply("keyword lists and searches run in other tools, hits reviewed and not reviewed and why, "
                      "defence-proposed terms and their outcome", DISCLOSURE_OFFICER)]
    return Document("SEARCH", "SEARCH AND REVIEW RECORD - DRAFT", "For the disclosure officer and the prosecutor "
                    "(CPS Disclosure Manual Annex D; Attorney General's Guidelines 2024 Annex A)", tuple(blocks))
