"""``devicex report``: render reports from a finished case folder or bundle."""
from __future__ import annotations

from pathlib import Path

import click

import reports
from cli.base import EXIT_USAGE, console, fail
from cli.options import examiner_identity_options, timezone_option
from devicex.custody import Actor


@click.command()
@click.argument("case_path", metavar="CASE_OR_BUNDLE", type=click.Path(path_type=Path))
@click.option("-f", "--format", "formats", default="all", show_default=True,
              help=f"Comma-separated formats: {', '.join(reports.renderers())}, or all.")
@examiner_identity_options
@click.option("--no-custody", is_flag=True, help="Do not append a 'report' entry to custody.jsonl.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@timezone_option
def report(case_path: Path, formats: str, examiner: str, examiner_id: str | None, no_custody: bool,
           quiet: bool, timezone: str | None = None) -> None:
    """Write reports for CASE_OR_BUNDLE (an `extract` output folder or a
    sealed bundle) from its case.db, exported files and custody log only:
    the HTML report into data/report/ (open data/report/index.html), machine
    formats into data/export/. A sealed bundle must be re-sealed afterwards."""
    try:
        names = reports.resolve(formats)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    try:
        outcome = reports.render(case_path, names, timezone=timezone,
                                 progress=None if quiet else lambda n: console.print(f"rendering {n}…", markup=False))
    except (reports.CaseError, reports.ZoneError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    case = outcome.case
    try:
        if not no_custody:
            reports.record_custody(outcome, Actor(examiner_id or examiner, examiner))
    finally:
        case.close()
    if quiet:
        return
    for name, paths in outcome.written.items():
        for p in paths:
            click.echo(f"{name}: {p}")
    if case.sealed:
        console.print("note: this bundle was sealed; re-seal it (`devicex seal OUT --accept-changes REASON`) so its "
                      "manifest covers the reports", markup=False)
