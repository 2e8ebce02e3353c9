"""The one-page reader's guide for the CPS: what is in the bundle and how to check it."""
from __future__ import annotations

from reports.cps.blocks import Document, Heading, Para, Table
from reports.cps.facts import Facts


def _contents(facts: Facts) -> Table:
    c = facts.counts
    return Table(("In the bundle", "What it is"), (
        ("data/report/index.html", "the report: open it in any web browser (no software to install, works offline)"),
        ("data/files/", f"the {c.get('exported', 0)} files exported from the evidence, as they were read"),
        ("data/case.db", f"the case database (SQLite): {c.get('entries', 0)} entries listed, "
                         f"{c.get('records', 0)} parser records"),
        ("data/export/", "the same facts as CSV, JSON and other machine formats, for a defence expert"),
        ("data/cps/", "this guide and the drafts: MG11 statement, SFR1, MG6C/D/E, search and review record"),
        ("custody.jsonl", "the custody log: every action, who, when, each entry linked to the one before"),
        ("manifest-sha256.txt", "the SHA-256 of every file above"),
        ("signature.sig, signing-key.pub.pem", "the examiner's signature over the manifest and the public key"),
    ), (5.2, 11.8))


def build(facts: Facts) -> Document:
    fp = facts.seal.get("key_fingerprint_sha256") if facts.seal else None
    blocks: list[Heading | Para | Table] = [
        Para(f"Case {facts.case_ref or '(no reference)'}, exhibit {facts.exhibit_ref or '(no reference)'}, "
             f"examined with {facts.tool} {facts.tool_version}."),
        _contents(facts),
        Heading("Opening the report"),
        Para("Open data/report/index.html in a web browser. Times are in UTC. Deleted items are labelled as such; "
             "an item with no recorded time says so, it is never shown as 1 January 1970."),
        Heading("Checking that nothing has changed"),
        Para("With devicex: devicex verify BUNDLE --key-fingerprint "
             + (fp or "[the examiner's key fingerprint, from the examiner]")
             + ". It checks every file, the custody log and the signature, and fails if anything differs."),
        Para("Without devicex, on any Linux machine, in the bundle folder: sha256sum -c manifest-sha256.txt "
             "(every line must say OK). This shows that the files equal the manifest; that the manifest is the "
             "examiner's is shown by the signature, which devicex verify checks."),
    ]
    if not fp:
        blocks.append(Para("This case was not sealed when the guide was drafted: seal it, then draft again, so "
                           "the fingerprint and manifest hash above are filled in.", "flag"))
    blocks.append(Para("The examiner's key fingerprint should be confirmed with the examiner by a separate route "
                       "(telephone or the statement), not taken from the bundle itself.", "small"))
    return Document("GUIDE", "Reader's guide to this evidence bundle", "For the Crown Prosecution Service",
                    tuple(blocks))
