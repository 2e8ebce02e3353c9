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

import hashlib
import logging
import multiprocessing
import os
import platform
import signal
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import parsers
from devicex import TOOL_NAME, __version__
from devicex.casedb import CaseDB
from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import Actor, Artefact, CustodyError, CustodyLog
from devicex.entries import BytesContent, Entry
from devicex.errors import OutputBusy, OutputError, SourceError, output_problem
from devicex.evidence import export_listing
from devicex.exportpath import ExportNamer
from devicex.hashing import sha256_file
from devicex.outdir import check_out
from devicex.records import canonical_json
from devicex.sources import Source, open_source
from devicex.timeutil import iso, now_utc
from pipelines import store
from pipelines.events import Cancelled, Reporter, SilentReporter
from pipelines.intake import check_stored, hash_media, open_evidence
from pipelines.lifetime import die_with_parent
from pipelines.parallel import find_sibling, make_runner
from pipelines.process import WorkerSettings, process, remove_staging
from pipelines.recovery import close_dead_runs, reverify_unfinished
from pipelines.select import FullSelector, Selector, scope_custody

os.environ["TZ"] = "UTC"  # TSK turns FAT's zone-less local times into epoch via the process zone
time.tzset()
logging.getLogger("exifread").disabled = True  # exifread logs to stderr; warnings come via records


@dataclass
class ExtractOptions:
    source: Path
    out: Path
    case_ref: str | None = None
    exhibit_ref: str | None = None
    examiner: str = "unknown examiner"
    examiner_id: str | None = None
    organisation: str | None = None
    workers: int = 2
    export: bool = True
    parse: bool = True
    selector: Selector = field(default_factory=FullSelector)
    scope_text: str | None = None
    full_reason: str | None = None
    dry_run: bool = False
    validation: dict[str, Any] | None = None  # the validation record this run is under (see pipelines.validate)
    region: str = "GB"  # where national phone numbers in parsed records are read
    timezone: str | None = None  # the device's IANA time zone, given by the examiner


@dataclass
class Summary:
    run_id: int = 0
    files: int = 0
    streams_read: int = 0
    bytes_read: int = 0
    deleted: int = 0
    recovered: int = 0
    guessed: int = 0  # deleted entries read in full whose content is a guess (not counted as recovered)
    exported: int = 0
    records: int = 0
    warnings: int = 0
    errors: int = 0
    excluded: int = 0
    excluded_bytes: int = 0
    exports_reused: int = 0  # identical content already exported by an earlier run into OUT: not rewritten
    filesystems: int = 0
    volumes: int = 0
    source_verified: str = "not-run"
    stored_check: str = "none"
    fatal: str | None = None
    by_category: dict[str, int] = field(default_factory=dict)


def _known_sparse(entry: Entry) -> bool:
    # NTFS $BadClus:$Bad is declared as big as the volume but is sparse (TSK reads 0 bytes).
    return entry.fs_type == "ntfs" and entry.path == "/$BadClus" and entry.stream == "$Bad"


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
        "parsers": [f"{p.name}/{p.version}" for p in parsers.registry()],
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
    try:
        src = open_evidence(opts.source, custody)
    except SourceError as exc:
        summary.fatal = str(exc)
        db.add_error((run_id, None, None, None, str(opts.source), "open", "error", exc.problem))
        reporter.problem("error", str(exc))
        _finish(db, run_id, "failed")
        db.close()
        return summary
    except Exception as exc:  # noqa: BLE001 - only output problems are turned into OutputError
        _close_failed(db, custody, run_id, None, summary, exc)
        raise _output_error(exc, opts.out) from None
    try:
        _extract(opts, src, db, custody, run_id, params, reporter, summary)
    except (KeyboardInterrupt, Cancelled) as exc:  # what was written stays; the record says the run did not finish
        status = "cancelled" if isinstance(exc, Cancelled) else "interrupted"
        summary.fatal = str(exc) if isinstance(exc, Cancelled) else "interrupted by the user"
        custody.append(f"extraction-{status}", inputs=[Artefact("source", str(src.path), None, src.size)],
                       result=status, details={"files_written": summary.files, "reason": summary.fatal})
        _finish(db, run_id, status)
        raise
    except Exception as exc:  # noqa: BLE001 - only output problems are turned into OutputError
        _close_failed(db, custody, run_id, src, summary, exc)
        raise _output_error(exc, opts.out) from None
    finally:
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
    """An output problem ended the run: free what space the temp files held, then close the run's record as
    failed in case.db and the custody log, as far as the output still takes writes."""
    problem = output_problem(exc)
    if problem is None:
        return
    summary.fatal = problem
    remove_staging(db.path.parent)
    try:
        custody.append("extraction-failed", inputs=[Artefact("source", str(src.path), None, src.size)] if src else [],
                       result="output-unwritable", details={"run_id": run_id, "problem": problem,
                                                            "entries_recorded": summary.files})
    except (OSError, CustodyError):
        pass  # the log cannot take it either: the one-line error is all that can be said
    try:
        db.flush()
    except (OSError, sqlite3.Error):
        db.drop_pending()  # rows that cannot be written; the entries are re-read by the next run
    try:
        db.add_error((run_id, None, None, None, None, "output", "error", problem))
        _finish(db, run_id, "failed")
    except (OSError, sqlite3.Error):
        db.drop_pending()  # the database cannot take it either; its row stays "running" and the next run closes it


def _extract(opts: ExtractOptions, src: Source, db: CaseDB, custody: CustodyLog, run_id: int,
             params: dict[str, Any], reporter: Reporter, summary: Summary) -> None:
    bad: list[tuple[int, int, str]] = []
    plan = _Plan(src.path, src.countable)  # counts what is to come (for the ETA) while the media is hashed
    intake = hash_media(src, reporter, "intake hash", bad)
    stored = check_stored(src, intake)
    summary.stored_check = stored.verdict
    source_id = db.insert("sources", {
        "run_id": run_id, "path": str(src.path.resolve()), "name": src.label, "container": src.container,
        "segments": canonical_json([p.name for p in src.segments]), "size": src.size,
        "md5": intake.md5, "sha1": intake.sha1, "sha256": intake.sha256,
        "stored_md5": src.stored_hashes.get("md5"), "stored_sha1": src.stored_hashes.get("sha1"),
        "stored_sha256": src.stored_hashes.get("sha256"), "stored_check": stored.verdict,
        "ewf_headers": canonical_json(src.ewf_headers) if src.ewf_headers else None})
    reverify_unfinished(db, custody, src.path, src.size,
                        {"md5": intake.md5, "sha1": intake.sha1, "sha256": intake.sha256}, run_id)
    custody.append("intake", inputs=[Artefact("source", str(src.path), intake.sha256, src.size)],
                   result="ok" if stored.verdict != "fail" else "stored-hash-mismatch",
                   details={"container": src.container, "segments": [p.name for p in src.segments],
                            "md5": intake.md5, "sha1": intake.sha1, "sha256": intake.sha256,
                            "bytes_hashed": intake.size, "stored_hash_check": stored.verdict,
                            "stored_hash_details": stored.details})
    for offset, length, error in bad:
        msg = f"media unreadable at bytes {offset}-{offset + length - 1} (hashed as zeros): {error}"
        reporter.problem("error", f"{src.path}: {msg}")
        db.add_error((run_id, source_id, None, None, str(src.path), "intake", "error", msg))
    if stored.verdict == "fail":
        msg = f"{src.path}: hashes stored in the image do not match its content"
        reporter.problem("error", msg)
        db.add_error((run_id, source_id, None, None, str(src.path), "intake", "error",
                      "; ".join(f"{k}: {v}" for k, v in stored.details.items())))
    custody.append("scope", **scope_custody(opts.out, opts.selector, opts.full_reason))
    custody.append("extraction-start", inputs=[Artefact("source", str(src.path), intake.sha256, src.size)],
                   details={"tool": TOOL_NAME, "tool_version": __version__, "python": platform.python_version(),
                            "parameters": params, "settings_sha256": settings_digest(params)})
    layout = src.layout()
    db.conn.execute("UPDATE sources SET partition_table = ? WHERE id = ?", (layout.table, source_id))
    vol_ids = {}
    for vol in layout.volumes:
        vol_ids[vol.label] = db.insert("volumes", {
            "source_id": source_id, "label": vol.label, "tbl": vol.table, "addr": vol.addr, "start": vol.start,
            "length": vol.length, "sector_size": vol.sector_size, "description": vol.description,
            "allocated": int(vol.allocated), "past_end": int(vol.past_end)})
    summary.volumes = len(layout.volumes)
    for prob in layout.problems:
        msg = f"{src.path}: volume {prob.volume.label} (offset {prob.volume.start}): {prob.message}"
        reporter.problem("warning", msg)
        db.add_error((run_id, source_id, prob.volume.label, None, None, "volume", "warning", prob.message))
    if not layout.filesystems:
        summary.fatal = f"{src.path}: no readable file system found"
        reporter.problem("error", summary.fatal)
        db.add_error((run_id, source_id, None, None, str(src.path), "volume", "error", "no readable file system"))
    settings = WorkerSettings(opts.out / "data", opts.export and not opts.dry_run, opts.parse and not opts.dry_run,
                              opts.selector, _known_sparse, find_sibling, opts.region)
    namer = ExportNamer()
    writer = store.ResultWriter(db, run_id, source_id, summary, reporter, opts.selector)
    reporter.stage("extract")  # totals (for the ETA) are shown once the counting process has them
    remove_staging(settings.data_dir)
    runner = make_runner(max(1, opts.workers), src.path, settings)
    walked = 0
    try:
        for fs in layout.filesystems:
            fs_id = db.insert("filesystems", {
                "volume_id": vol_ids[fs.volume.label], "label": fs.label, "offset": fs.offset,
                "fs_type": fs.fs_type, "block_size": fs.block_size, "block_count": fs.block_count,
                "forced": int(fs.forced)})
            writer.fs_id = fs_id
            summary.filesystems += 1
            for entry, reader in fs.entries(src.label):
                walked += 1
                if walked % 256 == 1 and plan.ready():
                    reporter.totals(*plan.totals())
                if entry is None:
                    writer.walk_problem(fs.label, str(reader))
                    continue
                decision = opts.selector.decide(entry)
                export_rel = None  # names are assigned for every entry: export paths do not depend on the scope
                if entry.kind in ("dir", "virtual-dir"):
                    namer.assign_dir(entry.volume, entry.path)
                elif entry.has_content:
                    export_rel = "files/" + namer.assign_file(entry.volume, entry.path, entry.stream)
                if decision is not None and not decision.include:
                    writer.exclude(entry, decision)
                    continue
                file_id = db.next_file_id()
                if fs.streamed and reader is not None and not isinstance(reader, BytesContent):
                    # a streamed member too big to carry: read here, now, after everything before it
                    for result in runner.drain():
                        writer.write(result)
                    writer.write(process(entry, reader, file_id, export_rel, settings, decision))
                    continue
                for result in runner.submit(entry, reader, file_id, export_rel, decision):
                    writer.write(result)
            for result in runner.drain():
                writer.write(result)
    finally:
        plan.stop()
        runner.close()
        remove_staging(settings.data_dir)
    writer.finish(parsers.registry())
    if layout.filesystems and not summary.files and not summary.excluded:
        summary.fatal = f"{src.path}: nothing extracted: file systems were found but no entry could be read"
        reporter.problem("error", summary.fatal)
        db.add_error((run_id, source_id, None, None, str(src.path), "walk", "error",
                      "nothing extracted: no entry could be read from any file system"))
    verify = hash_media(src, reporter, "re-verify hash", [])
    same = (verify.md5, verify.sha1, verify.sha256) == (intake.md5, intake.sha1, intake.sha256)
    summary.source_verified = "match" if same else "mismatch"
    db.conn.execute("UPDATE sources SET verify_md5=?, verify_sha1=?, verify_sha256=?, verified=? WHERE id=?",
                    (verify.md5, verify.sha1, verify.sha256, summary.source_verified, source_id))
    if not same:
        reporter.problem("error", f"{src.path}: source hashes changed during extraction")
        db.add_error((run_id, source_id, None, None, str(src.path), "verify", "error",
                      "source hashes after extraction differ from intake"))
    for outcome in writer.parser_summaries():
        custody.append("parser-run", details=outcome)
    db_path = opts.out / "data" / "case.db"
    _finish(db, run_id, "failed" if summary.fatal and not summary.files else "completed")
    custody.append("source-reverify", inputs=[Artefact("source", str(src.path), verify.sha256, src.size)],
                   result="ok" if same else "mismatch",
                   details={"md5": verify.md5, "sha1": verify.sha1, "sha256": verify.sha256,
                            "intake_sha256": intake.sha256, "verdict": summary.source_verified})
    db.flush()
    db.conn.commit()
    digest, db_size = sha256_file(db_path)
    custody.append("extraction", inputs=[Artefact("source", str(src.path), intake.sha256, src.size)],
                   outputs=[Artefact("case-database", "data/case.db", digest, db_size),
                            export_listing(db.conn, run_id)],
                   result="ok" if not summary.fatal else "no-file-system",
                   details={k: v for k, v in asdict(summary).items() if k != "by_category"} | {
                       "by_category": dict(sorted(summary.by_category.items()))})


class _Plan:
    """Entries and declared content bytes to come (a metadata-only walk), for the progress bar's
    totals and ETA. Counted in a forked process on its own read-only handle of the source, started
    before the intake hash: on two cores it runs beside the hash threads (a thread would contend
    with them for the GIL) and the extraction never waits for it; the totals are shown when they
    arrive. Counting is optional: if it fails (the extraction's own walk reports the problem),
    progress has no totals; a source that cannot be counted without reading it twice (a streamed
    archive) is not counted."""

    def __init__(self, source: Path, countable: bool = True) -> None:
        self._totals: tuple[int | None, int | None] | None = None
        if not countable:
            self._totals = (None, None)
            return
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_count_entries, args=(source, send, os.getpid()), name="devicex-plan", daemon=True)
        # Ctrl-C is for the parent (it stops the run; this daemon process ends with it): the child ignores it,
        # and SIGINT stays blocked across the fork so that none can land before the child says so.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._proc.start()  # forked before any thread of this run exists
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        send.close()

    def ready(self) -> bool:
        """True once, when the totals have arrived (never blocks)."""
        if self._totals is not None or self._recv.closed or not self._recv.poll():
            return False
        self._receive()
        return True

    def totals(self) -> tuple[int | None, int | None]:
        """(entries, content bytes), waiting for them if need be; (None, None) if they could not be counted."""
        if self._totals is None:
            self._receive()
        assert self._totals is not None
        return self._totals

    def _receive(self) -> None:
        try:
            self._totals = self._recv.recv()
        except EOFError:  # the counting process died
            self._totals = (None, None)
        self._recv.close()
        self._proc.join()

    def stop(self) -> None:
        """The extraction is done: totals no longer matter; stop counting if still at it."""
        if not hasattr(self, "_proc"):
            return
        if self._totals is None and self._proc.is_alive():
            self._proc.terminate()
        self._proc.join()
        if not self._recv.closed:
            self._recv.close()


def _count_entries(source: Path, send: Connection, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    totals: tuple[int | None, int | None] = (None, None)
    try:
        src = open_source(source)
        try:
            files = nbytes = 0
            for fs in src.layout().filesystems:
                for entry, _ in fs.entries(src.label):
                    if entry is not None:
                        files += 1
                        nbytes += entry.size if entry.has_content else 0
            totals = (files, nbytes)
        finally:
            src.close()
    except Exception:  # noqa: BLE001 - no ETA then; the extraction's own walk reports the problem
        totals = (None, None)
    send.send(totals)
    send.close()


def _finish(db: CaseDB, run_id: int, status: str) -> None:
    db.flush()
    db.update("runs", run_id, {"finished": iso(now_utc()), "status": status})
