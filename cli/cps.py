"""``devicex cps``: the paperwork for the Crown Prosecution Service, drafted from a finished case."""
from __future__ import annotations

from pathlib import Path

import click

from cli.base import EXIT_USAGE, console, fail
from cli.options import examiner_identity_options, timezone_option
from devicex.custody import Actor


@click.group()
def cps() -> None:
    """Draft the CPS paperwork from a finished case: MG11 continuity statement, SFR1, MG6C and MG6D schedules,
    search and review record, reader's guide."""


@cps.command("draft")
@click.argument("case_path", metavar="CASE_OR_BUNDLE", type=click.Path(path_type=Path))
@click.option("--no-pdf", is_flag=True, help="Write the Word files only (no LibreOffice needed).")
@timezone_option
@examiner_identity_options
def draft_command(case_path: Path, no_pdf: bool, examiner: str, examiner_id: str | None,
                  timezone: str | None = None) -> None:
    """Write the drafts into CASE_OR_BUNDLE/data/cps/ as editable Word files and PDFs, from case.db and the
    custody log only, and append a 'cps-draft' custody entry. A sealed bundle must be re-sealed afterwards."""
    from reports.cameratime import DeviceZone
    from reports.cps.draft import draft
    from reports.cps.pdf import PdfError
    from reports.model import CaseError, open_case

    try:
        case = open_case(case_path)
    except CaseError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if timezone:
        case.zone = DeviceZone(timezone, "given by the examiner (devicex cps draft --timezone)")
    try:
        done = draft(case, Actor(examiner_id or examiner, examiner), pdf=not no_pdf)
    except PdfError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    finally:
        case.close()
    for path in done.files:
        click.echo(str(path))
    if case.sealed:
        console.print("note: this bundle was sealed; re-seal it (`devicex seal OUT --accept-changes REASON`) so its "
                      "manifest covers the drafts", markup=False)
