"""The MG11 continuity statement, drafted from the case: facts only, the examiner's part marked."""
from __future__ import annotations

from typing import Any

from reports.cps.blocks import Document, Heading, Para, Table, supply, text_of
from reports.cps.facts import Facts
from reports.cps.opinion import flags
from reports.cps.plain import custody_rows, hash_check, when

DECLARATION = ("This statement (consisting of [ ] page(s) each signed by me) is true to the best of my knowledge "
               "and belief and I make it knowing that, if it is tendered in evidence, I shall be liable to "
               "prosecution if I have wilfully stated in it anything which I know to be false, or do not believe "
               "to be true.")
NOTICE = "Criminal Procedure Rules, r. 16.2; Criminal Justice Act 1967, s. 9; Magistrates' Courts Act 1980, s. 5B"


def _first(facts: Facts, action: str) -> dict[str, Any] | None:
    return next((e for e in facts.custody if e["action"] == action), None)


def _identity(facts: Facts) -> Table:
    return Table(("", ""), (
        ("URN / case reference", facts.case_ref or "[EXAMINER TO SUPPLY: URN]"),
        ("Statement of", f"{facts.examiner or ''} [EXAMINER TO CONFIRM: full name]".strip()),
        ("Age if under 18", "Over 18"),
        ("Occupation", "[EXAMINER TO SUPPLY: occupation and unit]"),
    ), (5.0, 12.0))


def _exhibits(facts: Facts) -> Table:
    rows = []
    for src in facts.sources:
        rows.append((facts.exhibit_ref or "[EXAMINER TO SUPPLY]", f"Evidence received: {src.name} "
                     f"({src.container}, {src.size} bytes, segments {', '.join(src.segments)}), SHA-256 at intake "
                     f"{src.intake['sha256']}"))
    if facts.seal:
        rows.append(("[EXAMINER TO SUPPLY]", f"Evidence bundle of {facts.exhibit_ref} as last sealed before "
                     f"this draft: payload manifest "
                     f"SHA-256 {facts.seal.get('payload_manifest_sha256')}, {facts.seal.get('payload_files')} files, "
                     f"signed with key fingerprint {facts.seal.get('key_fingerprint_sha256')}"))
    for e in facts.custody:
        if e["action"] == "report":
            for out in e["outputs"]:
                rows.append(("[EXAMINER TO SUPPLY]", f"Report file {out['ref']} (SHA-256 {out['sha256']}), "
                             f"written {when(e['time'])}"))
    return Table(("Exhibit ref", "Description"), tuple(rows), (4.0, 13.0))


def _body(facts: Facts) -> list[Heading | Para | Table]:
    opened = _first(facts, "source-open")
    blocks: list[Heading | Para | Table] = [
        Heading("Receipt of the evidence"),
        supply("from whom, when and where the exhibit was received; seal or bag numbers on receipt; its state"),
        Para(f"The evidence was opened read-only with {facts.tool} version {facts.tool_version} at "
             f"{when(opened['time']) if opened else 'no time recorded'}"
             f"{' by ' + opened['actor'].get('name', '') if opened else ''}."),
        Heading("Integrity of the evidence")]
    blocks += [Para(hash_check(src)) for src in facts.sources]
    blocks += [Heading("Tool, version and validation"),
               Para(f"Tool: {facts.tool} version {facts.tool_version}. Examination scope: {facts.scope_mode}. "
                    f"Extraction started {when(facts.started)}, finished {when(facts.finished)}, status "
                    f"'{facts.status}'.")]
    if facts.validation:
        blocks += [Para(f"Validation record: custody entry {e['seq']} of {when(e['time'])}.") for e in facts.validation]
    else:
        blocks += [Para("No validation record of the tool is held in this case."),
                   supply("the reference of the unit's validation record for this tool and version")]
    blocks += [Heading("Actions taken, in order (from the custody log)"),
               Table(("Seq", "Time", "By", "Action"), custody_rows(facts), (1.2, 3.6, 3.2, 9.0))]
    if not facts.chain_ok:
        blocks.append(Para(f"The custody log does not verify: {facts.chain_problem}.", "flag"))
    blocks += [Heading("Exhibits produced"), _exhibits(facts), Heading("Hand-overs")]
    blocks += [Para(f"{when(h['time'])}: from {h['details'].get('from')} to {h['details'].get('to')}, reason "
                    f"{h['details'].get('reason')}.") for h in facts.handovers] or [
        Para("No hand-over is recorded in the custody log.")]
    blocks += [Heading("Storage and onward movement"),
               supply("where the exhibits were stored and resealed, with seal numbers"),
               Heading("Declaration of compliance with the Forensic Science Regulator's Code"),
               supply("the compliance or non-compliance declaration, and any deviation from procedure"),
               Heading("Signature"),
               Para(DECLARATION),
               supply("signature"), supply("date of signature")]
    return blocks


def checks(body_text: str, facts: Facts) -> list[Heading | Para | Table]:
    """The CrimPR Part 16 checks and the opinion-wording flags (a drafting page, removed before service)."""
    rows = (
        ("r. 16.2(a) witness's name at the start", "drafted from the case; confirm" if facts.examiner else "to supply"),
        ("r. 16.2(a) age if under 18", "stated: over 18"),
        ("r. 16.2(b) declaration of truth", "present (page count to fill in)"),
        ("r. 16.2(c) read-over declaration", "not needed unless the witness cannot read"),
        ("r. 16.2(d) witness's signature", "TO SUPPLY"),
        ("r. 16.3 each exhibit described to identify it clearly", "described by name, size and hash"),
        ("r. 16.3 exhibit labels signed", "TO SUPPLY (labels and references)"),
    )
    found = flags(body_text)
    blocks: list[Heading | Para | Table] = [
        Heading("Drafting checks (remove this part before the statement is signed)"),
        Table(("Criminal Procedure Rules Part 16", "State of this draft"), rows, (9.0, 8.0)),
        Heading("Wording that reads as opinion", 2)]
    if found:
        blocks += [Para(f"'{p}' ({why}): {s}", "flag") for p, why, s in found]
    else:
        blocks.append(Para("None found by the check (it looks for listed phrases only; read the statement)."))
    return blocks


def build(facts: Facts) -> Document:
    body = _body(facts)
    draft = Document("MG11", "WITNESS STATEMENT (continuity, digital evidence) - DRAFT", NOTICE,
                     (_identity(facts), *body))
    return Document(draft.title, draft.subtitle, draft.notice, (*draft.blocks, *checks(text_of(draft), facts)))
