"""The extraction pipeline: from a device image to ``OUT/data/case.db`` and
exported files, with custody entries for every action on the evidence.

Order of work: intake (open + hash media + check stored hashes), discover
volumes and file systems, walk each in sorted order, process streams on
worker processes (``--workers`` >= 2) or a worker thread (see
:mod:`pipelines.parallel`; results consumed in walk order, so output is
deterministic), write the case database in batches by one writer, then
re-hash the media and compare.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import parsers
from devicex import TOOL_NAME, __version__
from devicex.casedb import CaseDB, ErrorRow
from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import Actor, Artefact, CustodyError, CustodyLog
from devicex.errors import OutputBusy, OutputError, SourceError, output_problem
from devicex.evidence import export_listing
from devicex.hashing import Digests, sha256_file
from devicex.outdir import check_out
from devicex.records import canonical_json
from devicex.sources import Source
from devicex.sources.base import Layout, MediaReads
from devicex.timeutil import iso, now_utc
from pipelines import record_custody, store
from pipelines.events import Cancelled, Reporter, SilentReporter
from pipelines.exportfile import remove_staging
from pipelines.intake import (
    Reverify,
    hash_media,
    insert_source,
    log_reverify,
    open_evidence,
    record_intake,
    reverify_media,
)
from pipelines.oneread import OneRead, hold_blocks
from pipelines.plan import Plan
from pipelines.recovery import close_dead_runs
from pipelines.reverify import EarlyReverify
from pipelines.runstate import ExtractOptions, Run, Summary
from pipelines.select import scope_custody
from pipelines.walkstage import Namer, take_attachments, walk, worker_settings

os.environ["TZ"] = "UTC"  # TSK turns FAT's zone-less local times into epoch via the process zone
time.tzset()
logging.getLogger("exifread").disabled = True  # exifread logs to stderr; warnings come via records

__all__ = ["ExtractOptions", "Summary", "run", "settings_digest"]


def settings_digest(params: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()


def run(opts: ExtractOptions, reporter: Reporter | None = None) -> Summary:
    """Extract; raises :class:`OutputError` (after closing the run's record if it can) when OUT cannot be
    written, and KeyboardInterrupt (the record says interrupted) on Ctrl-C."""
    reporter = reporter or SilentReporter()
    summary = Summary()
    check_out(opts.out, [opts.source])  # OutputFolderError: nothing written, nothing followed
    params = {
        "source": str(opts.source), "workers": opts.workers, "export": opts.export, "parse": opts.parse,
        "dry_run": opts.dry_run, "selection": opts.selector.describe(), "phone_region": opts.region,
        "parsers": [f"{p.name}/{p.version}" for p in parsers.registry()], "reverify": opts.reverify,
    }
    if opts.validation is not None:
        params["validation"] = opts.validation
    if opts.timezone:
        params["timezone"] = opts.timezone
    actor = Actor(opts.examiner_id or opts.examiner, opts.examiner)
    custody = CustodyLog(opts.out / CUSTODY_FILE, actor, opts.case_ref, opts.exhibit_ref)
    try:
        db = _open_case(opts.out)
    except Exception as exc:  # noqa: BLE001 - only output problems are turned into OutputError
        raise _output_error(exc, opts.out) from None
    try:
        run_id = _start_run(db, custody, opts, params)
    except BaseException as exc:
        db.close()
        raise _output_error(exc, opts.out) from None
    summary.run_id = run_id
    reads_before = MediaReads.total()
    try:
        src = open_evidence(opts.source, custody)
    except SourceError as exc:
        summary.fatal = str(exc)
        db.add_error(ErrorRow(run_id, None, None, None, str(opts.source), "open", "error", exc.problem))
        reporter.problem("error", str(exc))
        _finish(db, run_id, "failed")
        db.close()
        return summary
    except Exception as exc:  # noqa: BLE001 - only output problems are turned into OutputError
        _close_failed(db, custody, run_id, None, summary, exc)
        raise _output_error(exc, opts.out) from None
    summary.media_size = src.size
    try:
        _extract(opts, src, db, custody, run_id, params, reporter, summary)
    except (KeyboardInterrupt, Cancelled) as exc:  # what was written stays; the record says the run did not finish
        status = "cancelled" if isinstance(exc, Cancelled) else "interrupted"
        summary.fatal = str(exc) if isinstance(exc, Cancelled) else "interrupted by the user"
        summary.files = _rows_written(db, run_id)  # results counted as they came back may not all be written
        custody.append(f"extraction-{status}", inputs=[Artefact("source", str(src.path), None, src.size)],
                       result=status, details={"files_written": summary.files, "reason": summary.fatal})
        _finish(db, run_id, status)
        raise
    except Exception as exc:  # noqa: BLE001 - only output problems are turned into OutputError
        _close_failed(db, custody, run_id, src, summary, exc)
        raise _output_error(exc, opts.out) from None
    finally:
        summary.media_bytes_read += MediaReads.total() - reads_before
        src.close()
        db.close()
    return summary


def _open_case(out: Path) -> CaseDB:
    data_dir = out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    db = CaseDB(data_dir / "case.db")
    try:
        db.lock_for_run()
    except OutputBusy:
        db.close()
        raise
    return db


def _start_run(db: CaseDB, custody: CustodyLog, opts: ExtractOptions, params: dict[str, Any]) -> int:
    run_id = db.insert("runs", {
        "started": iso(now_utc()), "tool": TOOL_NAME, "tool_version": __version__, "case_ref": opts.case_ref,
        "exhibit_ref": opts.exhibit_ref, "examiner": opts.examiner, "params": canonical_json(params),
        "settings_sha256": settings_digest(params), "scope": opts.scope_text,
        "scope_sha256": hashlib.sha256(opts.scope_text.encode()).hexdigest() if opts.scope_text else None,
        "full_extraction_reason": opts.full_reason, "status": "running"})
    close_dead_runs(db, custody, run_id)
    return run_id


def _output_error(exc: BaseException, out: Path) -> BaseException:
    """``exc`` as an OutputError naming OUT if it is an output problem, else ``exc`` itself."""
    problem = output_problem(exc)
    if problem is None or isinstance(exc, OutputBusy):
        return exc
    return OutputError(f"{out}: output cannot be written: {problem}")


def _close_failed(db: CaseDB, custody: CustodyLog, run_id: int, src: Source | None, summary: Summary,
                  exc: BaseException) -> None:
    """An output problem (or a defect) ended the run: free what space the temp files held, then close the run's
    record as failed in case.db and the custody log, as far as the output still takes writes."""
    problem = output_problem(exc)
    result = "output-unwritable"
    if problem is None:  # a defect: the one-line error and its log come from the CLI; the record says failed
        problem, result = f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())}", "internal-error"
    summary.fatal = problem
    remove_staging(db.path.parent)
    try:
        db.flush()
    except (OSError, sqlite3.Error):
        db.drop_pending()  # rows that cannot be written; the entries are re-read by the next run
    with contextlib.suppress(OSError, sqlite3.Error):
        summary.files = _rows_written(db, run_id)  # what case.db holds, not what was counted
    # if the log cannot take it either, the one-line error is all that can be said
    with contextlib.suppress(OSError, CustodyError):
        custody.append("extraction-failed", inputs=[Artefact("source", str(src.path), None, src.size)] if src else [],
                       result=result, details={"run_id": run_id, "problem": problem,
                                               "entries_recorded": summary.files})
    try:
        db.add_error(ErrorRow(run_id, None, None, None, None, "output", "error", problem))
        _finish(db, run_id, "failed")
    except (OSError, sqlite3.Error):
        db.drop_pending()  # the database cannot take it either; its row stays "running" and the next run closes it


def _extract(opts: ExtractOptions, src: Source, db: CaseDB, custody: CustodyLog, run_id: int,
             params: dict[str, Any], reporter: Reporter, summary: Summary) -> None:
    run = Run(opts, src, db, custody, run_id, reporter, summary)
    if opts.one_read and getattr(src, "img", None) is not None:  # a disk image (TSK reads its file systems)
        _extract_one_read(run, params)
        return
    plan = Plan(src.path, src.countable)  # counts what is to come (for the ETA) while the media is hashed
    intake = _intake(run)
    _start(run, params, intake.sha256)
    layout = src.layout()
    vol_ids = _record_layout(run, layout)
    writer = walk(run, layout, vol_ids, plan)
    _close(run, layout, intake, writer)


def _start(run: Run, params: dict[str, Any], sha256: str | None) -> None:
    run.custody.append("scope", **scope_custody(run.opts.out, run.opts.selector, run.opts.full_reason))
    run.custody.append("extraction-start", inputs=[Artefact("source", str(run.src.path), sha256, run.src.size)],
                       details={"tool": TOOL_NAME, "tool_version": __version__,
                                "python": platform.python_version(), "parameters": params,
                                "settings_sha256": settings_digest(params)})


def _extract_one_read(run: Run, params: dict[str, Any]) -> None:
    """A disk image: the walk, then one read of the media that gives both the content and the intake hashes,
    which are recorded (``sources``, custody ``intake``) before the re-verification and the closing entry."""
    src, opts = run.src, run.opts
    run.source_id = _insert_source(run)
    _start(run, params, None)
    hold_blocks(src)  # released once the walk is done (OneRead.run)
    layout = src.layout()
    vol_ids = _record_layout(run, layout)
    settings = worker_settings(opts)
    writer = store.ResultWriter(run.db, run.run_id, run.source_id, run.summary, run.reporter, opts.selector)
    run.reporter.stage("extract")  # its totals (for the ETA) once the walk has counted them
    remove_staging(settings.data_dir)
    namer = Namer()
    reader = OneRead(src, run.db, settings, writer, run.reporter, opts.workers, namer.name)
    # begun once the media has been read for the last time, beside the rest of the extraction
    early = EarlyReverify(src, opts.reverify, lambda: MediaReads.total() + reader.runner.media_bytes_read)
    try:
        outcome = reader.run(layout, vol_ids, run.summary, after_reads=early.start)
        take_attachments(run, writer, reader.fs_rows, settings)
        intake = _record_intake(run, outcome.digests, outcome.bad, during_extraction=True)
        writer.finish(parsers.registry())
    except BaseException:
        early.cancel()
        raise
    finally:
        remove_staging(settings.data_dir)
    _close(run, layout, intake, writer, early.result)


def _intake(run: Run) -> Digests:
    """Hash the whole media, check hashes stored in it, record the source (``sources``, custody ``intake``)."""
    bad: list[tuple[int, int, str]] = []
    intake = hash_media(run.src, run.reporter, "intake hash", bad)
    run.source_id = _insert_source(run)
    return _record_intake(run, intake, bad)


def _insert_source(run: Run) -> int:
    return insert_source(run.db, run.run_id, run.src)


def _record_intake(run: Run, intake: Digests, bad: list[tuple[int, int, str]],
                   during_extraction: bool = False) -> Digests:
    assert run.source_id is not None
    run.summary.stored_check = record_intake(run.db, run.custody, run.src, (run.run_id, run.source_id), intake, bad,
                                             run.problem, during_extraction)
    return intake


def _record_layout(run: Run, layout: Layout) -> dict[str, int]:
    """The partition table, volumes and their problems into case.db; the volumes' row ids by label."""
    src = run.src
    run.db.conn.execute("UPDATE sources SET partition_table = ? WHERE id = ?", (layout.table, run.source_id))
    vol_ids = {}
    for vol in layout.volumes:
        vol_ids[vol.label] = run.db.insert("volumes", {
            "source_id": run.source_id, "label": vol.label, "tbl": vol.table, "addr": vol.addr, "start": vol.start,
            "length": vol.length, "sector_size": vol.sector_size, "description": vol.description,
            "allocated": int(vol.allocated), "past_end": int(vol.past_end),
            "recovery": vol.recovery})
    run.summary.volumes = len(layout.volumes)
    for prob in layout.problems:
        run.problem("volume", prob.message, severity="warning", volume=prob.volume.label,
                    shown=f"{src.path}: volume {prob.volume.label} (offset {prob.volume.start}): {prob.message}")
    if not layout.filesystems:
        run.summary.fatal = f"{src.path}: no readable file system found"
        run.problem("volume", "no readable file system", path=str(src.path), shown=run.summary.fatal)
    return vol_ids


def _close(run: Run, layout: Layout, intake: Digests, writer: store.ResultWriter,
           reverified: Callable[[Reporter], Reverify] | None = None) -> None:
    """Re-verify the media, close the run in case.db, and log it: ``parser-run``, ``source-reverify`` and
    the closing ``extraction`` entry (case.db digest, export listing, the summary)."""
    src, summary = run.src, run.summary
    if layout.filesystems and not summary.excluded and not _real_entries(run.db, run.run_id):
        summary.nothing_extracted = True
        summary.fatal = f"{src.path}: nothing extracted: file systems were found but no entry could be read"
        run.problem("walk", "nothing extracted: no entry could be read from any file system", path=str(src.path),
                    shown=summary.fatal)
    reverify = (reverified(run.reporter) if reverified is not None
                else reverify_media(src, run.reporter, run.opts.reverify))
    summary.source_verified = reverify.verdict(intake)
    run.db.conn.execute("UPDATE sources SET verify_md5=?, verify_sha1=?, verify_sha256=?, verified=? WHERE id=?",
                        (reverify.hashes.get("md5"), reverify.hashes.get("sha1"), reverify.hashes.get("sha256"),
                         summary.source_verified, run.source_id))
    if summary.source_verified == "mismatch":
        run.problem("verify", "source hashes after extraction differ from intake", path=str(src.path),
                    shown=f"{src.path}: source hashes changed during extraction")
    for outcome in writer.parser_summaries():
        run.custody.append("parser-run", details=outcome)
    scope = getattr(run.opts.selector, "scope", None)
    if scope is not None and getattr(run.opts.selector, "records", None) is not None:
        run.custody.append("record-scope", details=record_custody.details(run.db, run.run_id, scope, writer))
    _finish(run.db, run.run_id, "failed" if summary.fatal and (not summary.files or summary.nothing_extracted)
            else "completed")
    log_reverify(run.custody, run.src, reverify, intake, summary.source_verified)
    run.db.flush()
    run.db.conn.commit()
    digest, db_size = sha256_file(run.opts.out / "data" / "case.db")
    run.custody.append("extraction", inputs=[Artefact("source", str(src.path), intake.sha256, src.size)],
                       outputs=[Artefact("case-database", "data/case.db", digest, db_size),
                                export_listing(run.db.conn, run.run_id)],
                       result="ok" if not summary.fatal else "no-file-system",
                       details={k: v for k, v in asdict(summary).items() if k not in _NOT_LOGGED} | {
                           "by_category": dict(sorted(summary.by_category.items()))})


_NOT_LOGGED = ("by_category", "media_bytes_read", "media_size")


def _real_entries(db: CaseDB, run_id: int) -> int:
    """Entries of this run other than what TSK adds itself ($MBR, $FAT1, $OrphanFiles...)."""
    db.flush()
    row = db.conn.execute("SELECT COUNT(*) FROM files WHERE run_id = ? AND kind NOT IN ('virtual', 'virtual-dir')",
                          (run_id,)).fetchone()
    return int(row[0])


def _rows_written(db: CaseDB, run_id: int) -> int:
    """The run's ``files`` rows in case.db, pending ones written first (a run that did not finish)."""
    db.flush()
    written: int = db.conn.execute("SELECT COUNT(*) FROM files WHERE run_id = ?", (run_id,)).fetchone()[0]
    return written


def _finish(db: CaseDB, run_id: int, status: str) -> None:
    db.flush()
    db.update("runs", run_id, {"finished": iso(now_utc()), "status": status})
