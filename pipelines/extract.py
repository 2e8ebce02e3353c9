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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import parsers
from devicex import TOOL_NAME, __version__
from devicex.casedb import CaseDB, ErrorRow
from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import Actor, Artefact, CustodyError, CustodyLog
from devicex.entries import BytesContent, ContentReader, Entry
from devicex.errors import OutputBusy, OutputError, SourceError, output_problem
from devicex.evidence import export_listing
from devicex.exportpath import ExportNamer
from devicex.hashing import Digests, sha256_file
from devicex.outdir import check_out
from devicex.records import canonical_json
from devicex.sources import Source
from devicex.sources.base import Layout, MediaReads
from devicex.timeutil import iso, now_utc
from pipelines import attachments, record_custody, store
from pipelines.events import Cancelled, Reporter, SilentReporter
from pipelines.intake import hash_media, insert_source, log_reverify, open_evidence, record_intake, reverify_media
from pipelines.oneread import OneRead
from pipelines.parallel import ProcessRunner, ThreadRunner, find_sibling, make_runner
from pipelines.plan import Plan
from pipelines.process import WorkerSettings, process, remove_staging
from pipelines.recovery import close_dead_runs
from pipelines.select import Decision, FullSelector, Selector, scope_custody
from pipelines.streamed import StreamedSiblings

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
    reverify: str = "sha256"  # hashing of the media after extraction: "sha256", "all" or "none"
    one_read: bool = True  # disk images: content and intake hashes from one sequential read (pipelines.oneread)


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
    nothing_extracted: bool = False  # file systems opened, but no entry of them could be read
    by_category: dict[str, int] = field(default_factory=dict)
    #: bytes read from the media by the whole run (all processes: walk, content, media hashes), for the
    #: bytes-read ratio; not in the custody log (worker processes' caches make it vary from run to run)
    media_bytes_read: int = 0
    media_size: int = 0  # the size of the media (what the intake hash covers)


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
    # if the log cannot take it either, the one-line error is all that can be said
    with contextlib.suppress(OSError, CustodyError):
        custody.append("extraction-failed", inputs=[Artefact("source", str(src.path), None, src.size)] if src else [],
                       result=result, details={"run_id": run_id, "problem": problem,
                                               "entries_recorded": summary.files})
    try:
        db.flush()
    except (OSError, sqlite3.Error):
        db.drop_pending()  # rows that cannot be written; the entries are re-read by the next run
    try:
        db.add_error(ErrorRow(run_id, None, None, None, None, "output", "error", problem))
        _finish(db, run_id, "failed")
    except (OSError, sqlite3.Error):
        db.drop_pending()  # the database cannot take it either; its row stays "running" and the next run closes it


@dataclass
class _Run:
    """One extraction in progress: what its stages read and record into."""

    opts: ExtractOptions
    src: Source
    db: CaseDB
    custody: CustodyLog
    run_id: int
    reporter: Reporter
    summary: Summary
    source_id: int | None = None

    def problem(self, stage: str, message: str, *, severity: str = "error", volume: str | None = None,
                path: str | None = None, shown: str | None = None) -> None:
        """A problem of the source or of a volume: in ``errors``, and on screen as ``shown`` if given."""
        if shown is not None:
            self.reporter.problem(severity, shown)
        self.db.add_error(ErrorRow(self.run_id, self.source_id, volume, None, path, stage, severity, message))


def _extract(opts: ExtractOptions, src: Source, db: CaseDB, custody: CustodyLog, run_id: int,
             params: dict[str, Any], reporter: Reporter, summary: Summary) -> None:
    run = _Run(opts, src, db, custody, run_id, reporter, summary)
    if opts.one_read and getattr(src, "img", None) is not None:  # a disk image (TSK reads its file systems)
        _extract_one_read(run, params)
        return
    plan = Plan(src.path, src.countable)  # counts what is to come (for the ETA) while the media is hashed
    intake = _intake(run)
    _start(run, params, intake.sha256)
    layout = src.layout()
    vol_ids = _record_layout(run, layout)
    writer = _walk(run, layout, vol_ids, plan)
    _close(run, layout, intake, writer)


def _start(run: _Run, params: dict[str, Any], sha256: str | None) -> None:
    run.custody.append("scope", **scope_custody(run.opts.out, run.opts.selector, run.opts.full_reason))
    run.custody.append("extraction-start", inputs=[Artefact("source", str(run.src.path), sha256, run.src.size)],
                       details={"tool": TOOL_NAME, "tool_version": __version__,
                                "python": platform.python_version(), "parameters": params,
                                "settings_sha256": settings_digest(params)})


def _extract_one_read(run: _Run, params: dict[str, Any]) -> None:
    """A disk image: the walk, then one read of the media that gives both the content and the intake hashes,
    which are recorded (``sources``, custody ``intake``) before the re-verification and the closing entry."""
    src, opts = run.src, run.opts
    run.source_id = _insert_source(run)
    _start(run, params, None)
    layout = src.layout()
    vol_ids = _record_layout(run, layout)
    settings = _settings(opts)
    writer = store.ResultWriter(run.db, run.run_id, run.source_id, run.summary, run.reporter, opts.selector)
    run.reporter.stage("extract")  # its totals (for the ETA) once the walk has counted them
    remove_staging(settings.data_dir)
    namer = _Namer()
    reader = OneRead(src, run.db, settings, writer, run.reporter, opts.workers, namer.name)
    try:
        outcome = reader.run(layout, vol_ids, run.summary)
        _take_attachments(run, writer, reader.fs_rows, settings)
    finally:
        remove_staging(settings.data_dir)
    intake = _record_intake(run, outcome.digests, outcome.bad, during_extraction=True)
    writer.finish(parsers.registry())
    _close(run, layout, intake, writer)


def _intake(run: _Run) -> Digests:
    """Hash the whole media, check hashes stored in it, record the source (``sources``, custody ``intake``)."""
    bad: list[tuple[int, int, str]] = []
    intake = hash_media(run.src, run.reporter, "intake hash", bad)
    run.source_id = _insert_source(run)
    return _record_intake(run, intake, bad)


def _insert_source(run: _Run) -> int:
    return insert_source(run.db, run.run_id, run.src)


def _record_intake(run: _Run, intake: Digests, bad: list[tuple[int, int, str]],
                   during_extraction: bool = False) -> Digests:
    assert run.source_id is not None
    run.summary.stored_check = record_intake(run.db, run.custody, run.src, (run.run_id, run.source_id), intake, bad,
                                             run.problem, during_extraction)
    return intake


def _record_layout(run: _Run, layout: Layout) -> dict[str, int]:
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


def _settings(opts: ExtractOptions) -> WorkerSettings:
    return WorkerSettings(opts.out / "data", opts.export and not opts.dry_run, opts.parse and not opts.dry_run,
                          opts.selector, _known_sparse, find_sibling, opts.region)


class _Namer:
    """Export names, assigned for every entry in walk order (export paths do not depend on the scope)."""

    def __init__(self) -> None:
        self.namer = ExportNamer()

    def name(self, entry: Entry) -> str | None:
        if entry.kind in ("dir", "virtual-dir"):
            self.namer.assign_dir(entry.volume, entry.path)
        elif entry.has_content:
            return "files/" + self.namer.assign_file(entry.volume, entry.path, entry.stream)
        return None


def _walk(run: _Run, layout: Layout, vol_ids: dict[str, int], plan: Plan) -> store.ResultWriter:
    """Walk every file system; each entry is named, selected, processed and stored in walk order."""
    opts = run.opts
    settings = _settings(opts)
    assert run.source_id is not None  # recorded by _intake
    writer = store.ResultWriter(run.db, run.run_id, run.source_id, run.summary, run.reporter, opts.selector)
    run.reporter.stage("extract")  # totals (for the ETA) are shown once the counting process has them
    remove_staging(settings.data_dir)
    runner = make_runner(max(1, opts.workers), run.src.path, settings)
    if isinstance(runner, ProcessRunner):
        runner.waiting = writer.tail
    taker = _Taker(run, settings, runner, writer)
    walked = 0
    views = []
    try:
        for fs in layout.filesystems:
            writer.fs_id = run.db.insert("filesystems", {
                "volume_id": vol_ids[fs.volume.label], "label": fs.label, "offset": fs.offset,
                "fs_type": fs.fs_type, "block_size": fs.block_size, "block_count": fs.block_count,
                "forced": int(fs.forced)})
            views.append((writer.fs_id, fs))
            run.summary.filesystems += 1
            taker.view(fs.streamed)
            for entry, reader in fs.entries(run.src.label):
                walked += 1
                if walked % 256 == 1 and plan.ready():
                    run.reporter.totals(*plan.totals())
                if entry is None:
                    writer.walk_problem(fs.label, str(reader))
                else:
                    taker.take(entry, reader, fs.streamed)
            taker.end_view()
        _take_attachments(run, writer, views, settings)
    finally:
        plan.stop()
        runner.close()
        taker.view(False)
        remove_staging(settings.data_dir)
        run.summary.media_bytes_read += runner.media_bytes_read + plan.media_bytes_read
    writer.finish(parsers.registry())
    return writer


def _take_attachments(run: _Run, writer: store.ResultWriter, views: list[tuple[int, Any]],
                      settings: WorkerSettings) -> None:
    """The attachments (and databases read beside a message store) the messages a communications selection took
    need, found once every entry was walked."""
    if writer.attachments or writer.databases:  # what the messages a communications selection took need
        writer.attachments_taken = attachments.take(
            views, run.src.label, attachments.wanted(writer), run.opts.selector, writer,
            lambda e, r, rel, d: process(e, r, run.db.next_file_id(), rel, settings, d))


class _Taker:
    """One walked entry at a time: its export name, the selector's decision on metadata, then processing
    (on the runner, or here for a streamed member too big to hand over) and storing, in walk order."""

    def __init__(self, run: _Run, settings: WorkerSettings, runner: ThreadRunner | ProcessRunner,
                 writer: store.ResultWriter) -> None:
        self.run, self.settings, self.runner, self.writer = run, settings, runner, writer
        self.namer = _Namer()
        self.streamed: StreamedSiblings | None = None  # a streamed view's siblings (see pipelines.streamed)
        self.deferred: list[tuple[Entry, ContentReader | None, int, str | None, Decision | None]] = []

    def view(self, streamed: bool) -> None:
        """A new view begins (or, streamed False, the walk ends): a streamed view gets a sibling index."""
        if self.streamed is not None:
            self.streamed.close()
        self.streamed, self.deferred = None, []
        if streamed:
            self.streamed = StreamedSiblings()

    def take(self, entry: Entry, reader: ContentReader | None, streamed: bool) -> None:
        decision = self.run.opts.selector.decide(entry)
        export_rel = self.namer.name(entry)  # for every entry: export paths do not depend on the scope
        included = decision is None or decision.include
        defer = False
        if self.streamed is not None:
            reader, defer = self.streamed.take(entry, reader, included)
        if not included:
            assert decision is not None
            self.writer.exclude(entry, decision)
            return
        file_id = self.run.db.next_file_id()
        if defer:  # wanted by a parser by path: processed once its siblings have passed
            self.deferred.append((entry, reader, file_id, export_rel, decision))
            return
        if streamed and reader is not None and not isinstance(reader, BytesContent):
            # a streamed member too big to carry: read here, now, after everything before it
            self.drain()
            self.writer.write(process(entry, reader, file_id, export_rel, self.settings, decision))
            return
        for result in self.runner.submit(entry, reader, file_id, export_rel, decision):
            self.writer.write(result)

    def drain(self) -> None:
        for result in self.runner.drain():
            self.writer.write(result)

    def end_view(self) -> None:
        """The view's walk has ended: what is due, then the entries kept for their siblings (here, in walk order)."""
        self.drain()
        if self.streamed is None:
            return
        settings = replace(self.settings, siblings=self.streamed.find)
        for entry, reader, file_id, export_rel, decision in self.deferred:
            self.writer.write(process(entry, reader, file_id, export_rel, settings, decision))
        self.deferred = []


def _close(run: _Run, layout: Layout, intake: Digests, writer: store.ResultWriter) -> None:
    """Re-verify the media, close the run in case.db, and log it: ``parser-run``, ``source-reverify`` and
    the closing ``extraction`` entry (case.db digest, export listing, the summary)."""
    src, summary = run.src, run.summary
    if layout.filesystems and not summary.excluded and not _real_entries(run.db, run.run_id):
        summary.nothing_extracted = True
        summary.fatal = f"{src.path}: nothing extracted: file systems were found but no entry could be read"
        run.problem("walk", "nothing extracted: no entry could be read from any file system", path=str(src.path),
                    shown=summary.fatal)
    reverify = reverify_media(src, run.reporter, run.opts.reverify)
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


def _finish(db: CaseDB, run_id: int, status: str) -> None:
    db.flush()
    db.update("runs", run_id, {"finished": iso(now_utc()), "status": status})
