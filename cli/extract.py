"""``devicex extract``: the main job."""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from cli.base import EXIT_INTEGRITY, EXIT_NOTHING_READ, EXIT_OK, EXIT_OUTPUT, EXIT_USAGE, console, fail
from cli.options import examiner_options, seal_options, timezone_option
from cli.progress import RichReporter
from cli.scope import load_scope, scope_from_options
from devicex.bagit import STATEMENT
from devicex.errors import OutputError
from devicex.outdir import OutputFolderError
from devicex.safetext import visible
from devicex.scope import Scope
from pipelines import dryrun
from pipelines.extract import ExtractOptions, Summary, run
from pipelines.select import FullSelector, ScopeSelector, Selector


def _summary_table(s: Summary) -> Table:
    t = Table("measure", "value", title="devicex extraction summary")
    rows = [
        ("volumes / file systems", f"{s.volumes} / {s.filesystems}"),
        ("entries recorded", s.files), ("streams read and hashed", s.streams_read),
        ("bytes read", s.bytes_read), ("deleted or orphan entries", s.deleted),
        ("recovered (deleted, content read)", s.recovered),
        ("deleted, content a guess (not recovered)", s.guessed), ("files exported", s.exported),
        ("parser records", s.records), ("excluded by scope", f"{s.excluded} ({s.excluded_bytes} bytes)"),
        ("exports already present (identical, kept)", s.exports_reused),
        ("warnings", s.warnings), ("errors", s.errors),
        ("E01 stored-hash check", s.stored_check), ("source re-verification", s.source_verified),
        ("media bytes read (per media byte)",
         f"{s.media_bytes_read} ({s.media_bytes_read / s.media_size:.3f})" if s.media_size else s.media_bytes_read),
    ]
    for cat, n in sorted(s.by_category.items()):
        rows.append((f"category: {cat}", n))
    for k, v in rows:
        t.add_row(visible(k), visible(v))
    return t


def _dry_run_table(p: dryrun.Preview) -> Table:
    t = Table("", "entries", "bytes", title="devicex dry run: nothing exported or recorded")
    t.add_row("files that would be taken", str(p.taken_files), str(p.taken_bytes))
    if p.record_scope:
        t.add_row("  of which read for their records only (not exported)", str(p.record_databases), "")
        for kind, (count, nbytes) in sorted(p.after_walk.items()):
            t.add_row(f"  of which taken after the walk: {kind}", str(count), str(nbytes))
    for reason, (count, nbytes) in sorted(p.excluded.items()):
        t.add_row(f"left: {visible(reason)}", str(count), str(nbytes))
    t.add_row("left in the image in total", str(p.excluded_entries), str(p.excluded_bytes))
    t.add_row("folders kept (hold taken files)", str(p.folders_kept), "")
    t.add_row("bytes read to decide", "", str(p.bytes_read_to_decide))
    for kind, count in sorted(p.records.taken.items()):
        t.add_row(f"records that would be taken: {visible(kind)}", str(count), "")
    for reason, count in sorted(p.records.left.items()):
        t.add_row(f"records left: {visible(reason)}", str(count), "")
    for problem in p.records.problems:
        t.add_row(f"could not be read for records: {visible(problem)}", "1", "")
    return t


def selection(scope_file: Path | None, scope_settings: tuple[str, ...],
              full_reason: str | None) -> tuple[Scope | None, str | None]:
    """The scope (validated, before the evidence is touched) or the full-extraction reason, from
    the options; a one-line error (exit 2) for a missing, contradictory or invalid choice."""
    if scope_file is not None and scope_settings:
        raise fail("give the scope either as a file (--scope) or as options (--scope-set), not both", EXIT_USAGE)
    if scope_settings:
        if full_reason is not None:
            raise fail("--scope-set and --full-extraction-reason exclude each other", EXIT_USAGE)
        return scope_from_options(scope_settings), None
    if scope_file is not None:
        if full_reason is not None:
            raise fail("--scope and --full-extraction-reason exclude each other (a scoped extraction is not a "
                       "full one)", EXIT_USAGE)
        return load_scope(scope_file), None
    if full_reason is not None and not full_reason.strip():
        raise fail("--full-extraction-reason must not be empty", EXIT_USAGE)
    if full_reason is None:
        raise fail("no scope given: a full extraction needs --full-extraction-reason TEXT (why taking everything "
                   "is necessary and proportionate, e.g. 'suspect device, warrant W-123'), or give --scope SCOPE",
                   EXIT_USAGE)
    return None, full_reason.strip()


def region(code: str) -> str:
    """An ``--phone-region`` value checked and upper-cased (usage error if phonenumbers does not know it)."""
    import phonenumbers

    region = code.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise fail(f"--phone-region {code!r}: not a country code phone numbers are known for (e.g. GB, IE, US)",
                   EXIT_USAGE)
    return region


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True,
              help="Output folder (the future evidence bundle).")
@click.option("--case", "case_ref", help="Case reference, recorded everywhere.")
@click.option("--exhibit", "exhibit_ref", help="Exhibit reference of the device/image.")
@examiner_options
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes reading and hashing content (1: one worker thread in this process).")
@click.option("--no-export", is_flag=True, help="Hash and parse only; write no file content.")
@click.option("--no-parse", is_flag=True, help="Do not run artefact parsers.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or summary; errors still shown.")
@seal_options
@click.option("--scope", "scope_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Scope file (TOML): take only what it selects (check it with `devicex scope check`).")
@click.option("--scope-set", "scope_settings", multiple=True, metavar="KEY=VALUE",
              help="The scope as options instead of a file, e.g. --scope-set authorisation.reference=OP-1 "
                   "--scope-set 'select.paths=[\"DCIM/**\"]' (keys as in the TOML file; one selection).")
@click.option("--dry-run", is_flag=True,
              help="Count the files and bytes that would be taken and left per rule; export and record nothing.")
@click.option("--full-extraction-reason", "full_reason", metavar="TEXT",
              help="Without --scope: why a full extraction is justified (recorded in the case and custody log).")
@click.option("--validation", "validation", type=click.Path(path_type=Path, file_okay=False), metavar="RECORD",
              help="The validation record (`devicex validate -o RECORD`) this extraction runs under: it must verify; "
                   "its result, date, devicex version and SHA-256 are recorded in case.db and the custody log.")
@click.option("--phone-region", default="GB", show_default=True, metavar="CC",
              help="Country (ISO 3166 code) in which national phone numbers in messages, calls and contacts "
                   "are read to give E.164 numbers.")
@click.option("--reverify", type=click.Choice(["sha256", "all", "none"]), default="sha256", show_default=True,
              help="Hash the source again after extraction and compare with the intake: SHA-256 only (one read), "
                   "all three intake hashes, or not at all (recorded as the examiner's choice).")
@timezone_option
def extract(source: Path, out: Path, case_ref: str | None, exhibit_ref: str | None, examiner: str,
            examiner_id: str | None, organisation: str | None, workers: int, no_export: bool,
            no_parse: bool, quiet: bool, scope_file: Path | None = None, scope_settings: tuple[str, ...] = (),
            dry_run: bool = False,
            full_reason: str | None = None, seal_out: bool = False, key_path: Path | None = None,
            passphrase_env: str | None = None, validation: Path | None = None,
            phone_region: str = "GB", timezone: str | None = None, reverify: str = "sha256") -> None:
    """Extract SOURCE (raw/dd, split raw .001, E01) read-only into OUT:
    OUT/data/case.db, OUT/data/files/..., OUT/custody.jsonl.

    With --scope, only what the scope selects is read, exported and parsed;
    without, everything is (a full extraction: give --full-extraction-reason).
    A later run into the same OUT (e.g. a widened scope) adds a run to the case."""
    if out.exists() and not out.is_dir():
        raise fail(f"{out}: exists and is not a folder (give a new or existing output folder)", EXIT_USAGE)
    scope, full_reason = selection(scope_file, scope_settings, full_reason)
    selector: Selector = ScopeSelector(scope) if scope else FullSelector()
    scope_text = scope.text if scope else None
    opts = ExtractOptions(source=source, out=out, case_ref=case_ref, exhibit_ref=exhibit_ref,
                          examiner=examiner, examiner_id=examiner_id, organisation=organisation,
                          workers=workers, export=not no_export, parse=not no_parse, selector=selector,
                          scope_text=scope_text, full_reason=full_reason,
                          dry_run=dry_run, validation=_validation_reference(validation),
                          region=region(phone_region), timezone=timezone, reverify=reverify)
    if seal_out and not dry_run and (out / STATEMENT).exists():
        raise fail(f"{out}: already sealed; a new extraction changes it: extract without --seal, then re-seal "
                   "with 'devicex seal OUT --accept-changes REASON'", EXIT_USAGE)
    signing_key = None
    if seal_out and not dry_run:  # (the signing code, cryptography's, is loaded only then)
        from cli.bundle import prepare_seal

        signing_key = prepare_seal(True, key_path, passphrase_env)  # unlock before the run
    reporter = RichReporter(console, quiet)
    if dry_run:
        try:
            preview = dryrun.run(opts, reporter)
        finally:
            reporter.done()
        if not quiet:
            console.print(_dry_run_table(preview))
        raise click.exceptions.Exit(EXIT_NOTHING_READ if preview.fatal and not preview.filesystems else EXIT_OK)
    try:
        summary = run(opts, reporter)
    except OutputFolderError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except OutputError as exc:
        reporter.done()
        raise fail(str(exc), EXIT_OUTPUT) from None
    finally:
        reporter.done()
    _write_stats(summary)
    if not quiet:
        console.print(_summary_table(summary))
        console.print(f"case database: {out / 'data' / 'case.db'}", markup=False)
    nothing = bool(summary.fatal) and (summary.files == 0 or summary.nothing_extracted)
    if signing_key is not None and not nothing:
        from cli.bundle import finish_seal

        finish_seal(signing_key, out, examiner, examiner_id, organisation)
    if nothing:
        raise click.exceptions.Exit(EXIT_NOTHING_READ)
    if summary.source_verified == "mismatch" or summary.stored_check == "fail":
        raise click.exceptions.Exit(EXIT_INTEGRITY)
    raise click.exceptions.Exit(EXIT_OK)


def _write_stats(summary: Summary) -> None:
    """With DEVICEX_STATS=FILE in the environment (the benchmarks), the run's summary as JSON into FILE."""
    target = os.environ.get("DEVICEX_STATS")
    if target:
        Path(target).write_text(json.dumps(asdict(summary), sort_keys=True) + "\n")


def _validation_reference(record: Path | None) -> dict[str, Any] | None:
    if record is None:
        return None
    from pipelines.validate.output import read_reference

    try:
        return read_reference(record)
    except (ValueError, OSError, KeyError) as exc:
        raise fail(f"--validation: {exc}", EXIT_USAGE) from None
