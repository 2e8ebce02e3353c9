"""The SFR1 (MG22B) draft: the findings the investigator marked relevant, each with its item reference, the
time basis stated once, and the limitations of this examination counted from the case."""
from __future__ import annotations

from devicex.tags import read_tags
from reports.cps.blocks import Document, Heading, Para, Table, supply
from reports.cps.facts import Facts
from reports.cps.mg6 import describe_item
from reports.cps.plain import when
from reports.model import Case


def _one(case: Case, sql: str) -> int:
    return int(case.conn.execute(sql).fetchone()[0] or 0)


def _limitations(case: Case, facts: Facts) -> tuple[tuple[str, str], ...]:
    c = facts.counts
    left = case.rows("SELECT reason, sum(count) AS n FROM exclusions GROUP BY reason ORDER BY reason")
    ran = {r["parser"] for r in case.parser_runs()}
    rows = [("Scope", "; ".join(f"{r['n']} files left in the image ({r['reason']})" for r in left)
             or "no file was left in the image by a scope rule")]
    by_status = c.get("by_status", {})
    rows.append(("Could not be read", f"{by_status.get('unreadable', 0)} files unreadable, "
                 f"{by_status.get('partial', 0)} read in part; {c.get('errors', 0)} errors and "
                 f"{c.get('warnings', 0)} warnings recorded (listed in the report)"))
    rows.append(("Deleted items", f"{c.get('deleted', 0)} deleted entries listed; {c.get('recovered', 0)} recovered "
                 f"from their own data, {c.get('guessed', 0)} whose content may not be their own (read as if "
                 "contiguous or reallocated: not counted as recovered). When an item was deleted, and by whom, is "
                 "not shown by its recovery"))
    rows.append(("Times", f"{_one(case, 'SELECT count(*) FROM files WHERE mtime_local IS NOT NULL')} files have only "
                 "a local time without a zone (not converted to UTC); a time the device did not record is shown as "
                 "none"))
    rows.append(("Formats parsed", f"parsers run: {', '.join(sorted(ran)) or 'none'}; content of other formats "
                 "(apps, databases, documents) was listed and hashed but not interpreted"))
    return tuple(rows)


def _findings(case: Case) -> tuple[tuple[str, ...], ...]:
    seen: set[tuple[str, int]] = set()
    rows = []
    for tag in read_tags(case.conn):
        key = (tag["item_kind"], tag["item_id"])
        if tag["mark"] == "relevant" and key not in seen:
            seen.add(key)
            rows.append((f"{tag['item_kind']}:{tag['item_id']}", describe_item(case, tag),
                         f"{tag['note'] or '(no note)'} - marked by {tag['tagged_by']} at {when(tag['tagged_at'])}"))
    return tuple(rows)


def build(case: Case, facts: Facts) -> Document:
    findings = _findings(case)
    src = facts.sources[0] if facts.sources else None
    blocks: list[Heading | Para | Table] = [
        Table(("", ""), (("URN", facts.case_ref or "[TO SUPPLY]"), ("Exhibit", facts.exhibit_ref or "[TO SUPPLY]"),
                         ("Item examined", f"{src.name}, SHA-256 {src.intake['sha256']}" if src else "none recorded"),
                         ("Examination", f"{facts.tool} {facts.tool_version}, {when(facts.started)}; scope: "
                                         f"{facts.scope_mode}"),
                         ("Points to prove / requesting officer", "[EXAMINER TO SUPPLY]")), (5.0, 12.0)),
        Heading("Time basis"),
        Para("All times are UTC. The device's own time zone is not recorded in this case; a local time shown by "
             "the device may differ from UTC by the zone and by daylight saving."),
        Heading("Key findings")]
    if findings:
        blocks.append(Table(("Item", "What it is", "Why it was marked"), findings, (2.2, 9.3, 5.5)))
    else:
        blocks.append(Para("No item is marked relevant: mark the findings (devicex tag) and draft again.", "flag"))
    blocks += [Heading("Limitations of this examination"),
               Table(("", ""), _limitations(case, facts), (4.0, 13.0)),
               Heading("Declaration"),
               supply("the Forensic Science Regulator's Code compliance declaration, name, signature and date")]
    return Document("MG22B", "STREAMLINED FORENSIC REPORT (SFR1) - DRAFT", "Facts only; a disputed SFR1 is "
                    "followed by an SFR2 for the issues in dispute", tuple(blocks))
