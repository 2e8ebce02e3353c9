"""The MG6E disclosure officer's report, drafted: the items marked as possibly meeting the disclosure test, by
their MG6C number with the reason given when they were marked; the items marked sensitive, by their MG6D number;
and what this examination did not cover, counted from the case, for the prosecutor. What only the disclosure
officer can decide or certify is marked for them to supply."""
from __future__ import annotations

from reports.cps import left
from reports.cps.blocks import DISCLOSURE_OFFICER, Document, Heading, Para, Table, supply
from reports.cps.facts import Facts
from reports.cps.mg6 import describe_item, item_key, marked
from reports.cps.plain import when
from reports.model import Case


def _undermining(case: Case, numbers: dict[str, int]) -> list[Heading | Para | Table]:
    sensitive = {(t["item_kind"], t["item_id"]) for t in marked(case, "sensitive")}
    tags = [t for t in marked(case, "possibly-disclosable") if (t["item_kind"], t["item_id"]) not in sensitive]
    if not tags:
        return [Para("No item of this examination is marked as possibly meeting the disclosure test.", "flag"),
                supply("confirmation that the unused material was reviewed and that none meets the test, or the "
                       "items that do", DISCLOSURE_OFFICER)]
    rows = tuple((str(numbers[item_key(t)]), describe_item(case, t),
                  f"{t['note'] or '(no reason given)'} (marked by {t['tagged_by']} at {when(t['tagged_at'])})")
                 for t in sorted(tags, key=lambda t: numbers[item_key(t)]))
    return [Table(("MG6C No.", "Item", "Why it might undermine the prosecution or assist the accused"), rows,
                  (1.8, 8.2, 7.0))]


def _sensitive(case: Case, numbers: dict[str, int]) -> list[Heading | Para | Table]:
    tags = marked(case, "sensitive")
    if not tags:
        return [Para("None: the MG6D is a nil return.")]
    listed = sorted(numbers[item_key(t)] for t in tags)
    return [Para(f"MG6D item(s) {', '.join(str(n) for n in listed)} are marked sensitive; the "
                 "reason for each is on the MG6D."),
            supply("for each, whether it might meet the disclosure test, and the prosecutor's attention drawn to it",
                   DISCLOSURE_OFFICER)]


def _not_covered(case: Case, facts: Facts) -> Para:
    c = facts.counts
    scope = left.sentence(case)
    status = c.get("by_status", {})
    return Para(f"Examination scope: {facts.scope_mode}; {scope}. {status.get('unreadable', 0)} files could not be "
                f"read and {status.get('partial', 0)} were read in part; {c.get('errors', 0)} errors were recorded. "
                "The search and review record lists every rule and review action; the SFR1 draft lists the "
                "limitations of the examination.")


def build(case: Case, facts: Facts, numbers: dict[str, int], sensitive_numbers: dict[str, int]) -> Document:
    """``numbers``: the MG6C number of each line and item; ``sensitive_numbers``: the MG6D number of each item."""
    blocks: list[Heading | Para | Table] = [
        Para(f"URN {facts.case_ref or '[TO SUPPLY]'}, exhibit {facts.exhibit_ref or '[TO SUPPLY]'}. Drafted from "
             f"the investigators' marks recorded in devicex; not disclosed to the defence."),
        Heading("Material that might undermine the prosecution case or assist the accused (MG6C)"),
        *_undermining(case, numbers),
        Heading("Sensitive material (MG6D)"),
        *_sensitive(case, sensitive_numbers),
        Heading("What this examination did not cover"),
        _not_covered(case, facts),
        Heading("Reasonable lines of enquiry"),
        supply("lines of enquiry pursued and not pursued, defence requests and the responses", DISCLOSURE_OFFICER),
        Heading("Certification"),
        supply("certification, name, signature and date", DISCLOSURE_OFFICER)]
    return Document("MG6E", "DISCLOSURE OFFICER'S REPORT - DRAFT", "CPS Disclosure Manual, chapter 10; "
                    "Criminal Procedure and Investigations Act 1996; not for disclosure", tuple(blocks))
