"""``devicex validate``: the validation record."""
from __future__ import annotations

import tempfile
from pathlib import Path

import click
from rich.table import Table

from cli.base import EXIT_OK, EXIT_USAGE, EXIT_VERIFY_FAILED, console, fail
from cli.bundle import load_key
from cli.options import examiner_options, key_options
from devicex.custody import Actor


def _verify_codes(bundle: Path) -> list[str]:
    from devicex.verify import verify_bundle

    return sorted({f.code for f in verify_bundle(bundle).failures})


@click.command()
@click.option("--dataset", "datasets", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="A lab dataset with truth (devicex layout: images/ + truth/, or a corpus with <source>/truth/); "
                   "repeat for several. The shipped fixtures are always included.")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True,
              help="Folder for the validation record (validation.json, validation.html; sealed).")
@click.option("--no-seal", is_flag=True, help="Write the record unsigned (it then cannot be verified).")
@key_options
@examiner_options
def validate(datasets: tuple[Path, ...], out: Path, no_seal: bool, key_path: Path | None, passphrase_env: str | None,
             examiner: str, examiner_id: str | None, organisation: str | None) -> None:
    """Run this devicex over reference data with known truth (the shipped
    fixtures and each --dataset) and write a signed validation record to OUT:
    per requirement the test, the truth and who made it, counts compared and
    agreed, the acceptance criterion and the result; every disagreement;
    truth-tool faults with their raw bytes; known limitations; the environment.
    Exit 0 if every requirement passes, 5 if one fails."""
    from pipelines.validate import validate as run_validation
    from pipelines.validate.output import build, write
    from pipelines.validate.truth import load_dataset
    from reports.validation import render

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise fail(f"{out}: exists and is not an empty folder (give a new folder for the record)", EXIT_USAGE)
    for ds in datasets:
        try:
            load_dataset(ds)
        except (ValueError, OSError) as exc:
            raise fail(str(exc), EXIT_USAGE) from None
    key = None if no_seal else load_key(key_path, passphrase_env)
    actor = Actor(examiner_id or examiner, examiner)
    with tempfile.TemporaryDirectory(prefix="devicex-validate-") as work, console.status("validating") as status:
        outcome = run_validation(list(datasets), Path(work), _verify_codes,
                                 lambda what: status.update(f"validating: {what}"))
    record = build(outcome, {"name": examiner, "id": examiner_id, "organisation": organisation})
    sealed = write(record, render(record), out, key, actor, organisation)
    table = Table("requirement", "compared", "agreed", "disagreed", "truth-tool faults", "known limitation", "result",
                  title=f"devicex validation: {record['result'].upper()}")
    for row in record["summary"]:
        table.add_row(row["title"], str(row["compared"]), str(row["agreed"]), str(row["disagreed"]),
                      str(row["truth_tool_faults"]), str(row.get("known_limitation", 0)), row["status"].upper())
    console.print(table)
    click.echo(f"record: {out / 'data' / 'validation.html'} and validation.json"
               + (f" (sealed, key {sealed.fingerprint})" if sealed else " (not sealed)"))
    raise click.exceptions.Exit(EXIT_OK if record["result"] == "pass" else EXIT_VERIFY_FAILED)
