"""The SFR1 (MG22B) draft: the findings the investigator marked relevant, each with its item reference, the
time basis stated once, and the limitations of this examination counted from the case."""
from __future__ import annotations

from datetime import datetime

from devicex.tags import read_tags
from reports.cps import left, recovery
from reports.cps.blocks import Document, Heading, Para, Table, supply
from reports.cps.facts import Facts
from reports.cps.mg6 import describe_item
from reports.cps.plain import when
from reports.model import Case

MAX_LISTED = 15


def _one(case: Case, sql: str) -> int:
    return int(case.conn.execute(sql).fetchone()[0] or 0)


def _limitations(case: Case, facts: Facts) -> tuple[tuple[str, str], ...]:
    c = facts.counts
    ran = {r["parser"] for r in case.parser_runs()}
    rows = [("Scope", left.sentence(case))]
    by_status = c.get("by_status", {})
    rows.append(("Could not be read", f"{by_status.get('unreadable', 0)} files unreadable, "
                 f"{by_status.get('partial', 0)} read in part; {c.get('errors', 0)} errors and "
                 f"{c.get('warnings', 0)} warnings recorded (listed in the report)"))
    rows.append(("Deleted items", f"{c.get('deleted', 0)} deleted entries listed; {c.get('recovered', 0)} recovered "
                 f"from their own data, {c.get('guessed', 0)} whose content may not be their own. "
                 + recovery.summary(case)))
    rows.append(("Times", _times(case)))
    rows.append(("Formats parsed", f"parsers run: {', '.join(sorted(ran)) or 'none'}. " + _not_parsed(case)))
    return tuple(rows)


def _times(case: Case) -> str:
    local = _one(case, "SELECT count(*) FROM files WHERE mtime_local IS NOT NULL")
    camera = _one(case, "SELECT count(*) FROM records WHERE json_valid(data) AND json_type(data, '$.taken_local') = "
                        "'text' AND json_type(data, '$.taken_utc') IS NOT 'text'")
    cam = (f"{camera} camera clock times have no zone recorded with them; "
           + (f"they were converted with the device zone {case.zone.name}" if case.zone else
              "they are not converted to UTC (the device zone is not known)")) if camera else \
        "no camera clock time without a zone"
    return (f"{local} files have only a local time without a zone (not converted to UTC); {cam}; a time the "
            "device did not record is shown as none (never as 1 January 1970)")


def _not_parsed(case: Case) -> str:
    """Databases no parser read, named, and the other formats listed and hashed only, counted."""
    unread = ("kind = 'file' AND sha256 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM records r WHERE r.file_id = "
              "files.id)")
    dbs = case.rows(f"SELECT volume || path AS p FROM files WHERE category = 'database' AND {unread} ORDER BY p")
    others = case.rows(f"SELECT category AS c, count(*) AS n FROM files WHERE category IN ('document', 'archive', "
                       f"'executable', 'video', 'audio') AND {unread} GROUP BY 1 ORDER BY 1")
    text = (f"{len(dbs)} databases (app data) were listed and hashed but no parser read them"
            + (": " + ", ".join(d["p"] for d in dbs[:MAX_LISTED]) + (f" and {len(dbs) - MAX_LISTED} more"
                                                                     if len(dbs) > MAX_LISTED else "")
               if dbs else "") + ". ")
    text += ("Listed and hashed, content not interpreted: " + ", ".join(f"{o['n']} {o['c']} files" for o in others)
             + ".") if others else "No document, archive, executable, video or audio file was left uninterpreted."
    return text


def _time_basis(case: Case, facts: Facts) -> str:
    if case.zone is None:
        return ("All times are UTC. The device's own time zone is not known in this case (not found on the device "
                "and not given with --timezone); a local time shown by the device may differ from UTC by the zone "
                "and by daylight saving.")
    year = int((facts.started or "2000")[:4])
    offsets = sorted({datetime(year, m, 1, 12, tzinfo=case.zone.info).strftime("%z") for m in (1, 7)})
    shown = " or ".join(f"{o[:3]}:{o[3:]}" for o in offsets)
    return (f"All times are UTC. The device's time zone is {case.zone.name} ({case.zone.source}); local time on "
            f"the device was UTC {shown} in {year} (the zone's rules, summer time included). Camera clock times "
            f"without a zone were converted to UTC with it.")


def _findings(case: Case) -> tuple[tuple[str, ...], ...]:
    seen: set[tuple[str, int]] = set()
    rows = []
    for tag in read_tags(case.conn):
        key = (tag["item_kind"], tag["item_id"])
        if tag["mark"] == "relevant" and key not in seen:
            seen.add(key)
            rows.append((f"{tag['item_kind']}:{tag['item_id']}", describe_item(case, tag), recovery.method(case, tag),
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
        Para(_time_basis(case, facts)),
        Heading("Key findings")]
    if findings:
        blocks.append(Table(("Item", "What it is", "How it was obtained", "Why it was marked"), findings,
                            (2.0, 7.0, 4.0, 4.0)))
    else:
        blocks.append(Para("No item is marked relevant: mark the findings (devicex tag) and draft again.", "flag"))
    blocks += [Heading("Limitations of this examination"),
               Table(("", ""), _limitations(case, facts), (4.0, 13.0)),
               Heading("Declaration"),
               supply("the Forensic Science Regulator's Code compliance declaration, name, signature and date")]
    return Document("MG22B", "STREAMLINED FORENSIC REPORT (SFR1) - DRAFT", "Facts only; a disputed SFR1 is "
                    "followed by an SFR2 for the issues in dispute", tuple(blocks))
