"""``devicex extract``: the main job."""
from __future__ import annotations

import os
from pathlib import Path

import click
from rich.table import Table

from devicex.cli.base import EXIT_INTEGRITY, EXIT_NOTHING_READ, EXIT_OK, console, main
from devicex.cli.bundle import finish_seal, prepare_seal, seal_options
from devicex.cli.progress import RichReporter
from pipelines.extract import ExtractOptions, Summary, run


def _summary_table(s: Summary) -> Table:
    t = Table("measure", "value", title="devicex extraction summary")
    rows = [
        ("volumes / file systems", f"{s.volumes} / {s.filesystems}"),
        ("entries recorded", s.files), ("streams read and hashed", s.streams_read),
        ("bytes read", s.bytes_read), ("deleted or orphan entries", s.deleted),
        ("recovered (deleted, content read)", s.recovered), ("files exported", s.exported),
        ("parser records", s.records), ("excluded by scope", f"{s.excluded} ({s.excluded_bytes} bytes)"),
        ("warnings", s.warnings), ("errors", s.errors),
        ("E01 stored-hash check", s.stored_check), ("source re-verification", s.source_verified),
    ]
    for cat, n in sorted(s.by_category.items()):
        rows.append((f"category: {cat}", n))
    for k, v in rows:
        t.add_row(k, str(v))
    return t


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True,
              help="Output folder (the future evidence bundle).")
@click.option("--case", "case_ref", help="Case reference, recorded everywhere.")
@click.option("--exhibit", "exhibit_ref", help="Exhibit reference of the device/image.")
@click.option("--examiner", default=lambda: os.environ.get("DEVICEX_EXAMINER", "unknown examiner"),
              show_default="$DEVICEX_EXAMINER", help="Examiner's name.")
@click.option("--examiner-id", help="Examiner's identifier (e.g. warrant/collar number).")
@click.option("--organisation", help="Examiner's organisation/unit.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker threads reading and hashing content.")
@click.option("--no-export", is_flag=True, help="Hash and parse only; write no file content.")
@click.option("--no-parse", is_flag=True, help="Do not run artefact parsers.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or summary; errors still shown.")
@seal_options
def extract(source: Path, out: Path, case_ref: str | None, exhibit_ref: str | None, examiner: str,
            examiner_id: str | None, organisation: str | None, workers: int, no_export: bool,
            no_parse: bool, quiet: bool, seal_out: bool = False, key_path: Path | None = None,
            passphrase_env: str | None = None) -> None:
    """Extract SOURCE (raw/dd, split raw .001, E01) read-only into OUT:
    OUT/data/case.db, OUT/data/files/..., OUT/custody.jsonl."""
    opts = ExtractOptions(source=source, out=out, case_ref=case_ref, exhibit_ref=exhibit_ref,
                          examiner=examiner, examiner_id=examiner_id, organisation=organisation,
                          workers=workers, export=not no_export, parse=not no_parse)
    signing_key = prepare_seal(seal_out, key_path, passphrase_env)  # unlock before the run
    reporter = RichReporter(console, quiet)
    try:
        summary = run(opts, reporter)
    finally:
        reporter.done()
    if not quiet:
        console.print(_summary_table(summary))
        console.print(f"case database: {out / 'data' / 'case.db'}", markup=False)
    if signing_key is not None and not (summary.fatal and summary.files == 0):
        finish_seal(signing_key, out, examiner, examiner_id, organisation)
    if summary.fatal and summary.files == 0:
        raise click.exceptions.Exit(EXIT_NOTHING_READ)
    if summary.source_verified == "mismatch" or summary.stored_check == "fail":
        raise click.exceptions.Exit(EXIT_INTEGRITY)
    raise click.exceptions.Exit(EXIT_OK)
