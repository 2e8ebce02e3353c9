"""The single writer: turns worker results into case-database rows, in walk
order, and keeps the run's counts (summary, parser runs, exclusions)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import parsers
from devicex.casedb import CaseDB, ErrorRow, RecordRow
from devicex.entries import DELETED, KIND_DIR, KIND_VIRTUAL_DIR, ORPHAN, Entry
from devicex.parsing import ParserSpec
from devicex.records import canonical_json, canonical_json_objects
from devicex.timeutil import format_utc_offset, iso
from pipelines.events import Reporter
from pipelines.process import GUESSED, ParserOutcome, Result
from pipelines.recordsink import spooled
from pipelines.recordtail import SpoolTail
from pipelines.select import FOLDER_REASON, Decision, FullSelector, Selector


@dataclass
class _ParserCount:
    version: str
    files: int = 0
    records: int = 0
    warnings: int = 0
    failures: int = 0


def _name_hex(entry: Entry) -> str | None:
    raw = entry.name_raw
    if raw.isascii():  # (most names)
        return None
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError:
        return raw.hex()


def _every(row: tuple[Any, ...]) -> bool:
    """The record filter that passes every record (no earlier run took any from the same database)."""
    return True


class ResultWriter:
    def __init__(self, db: CaseDB, run_id: int, source_id: int, summary: Any, reporter: Reporter,
                 selector: Selector | None = None) -> None:
        self.db, self.run_id, self.source_id = db, run_id, source_id
        self.summary, self.reporter = summary, reporter
        self.fs_id = 0
        self._parsers: dict[str, _ParserCount] = {}
        self._exclusions: dict[str, list[int]] = {}
        selector = selector or FullSelector()
        # scoped runs: folders are written only once they hold a taken entry (their names
        # are then already in that entry's path); the others are counted, never named
        self._defer_folders = bool(getattr(selector, "defer_folders", False))
        self._list_excluded = bool(getattr(selector, "list_excluded", False))
        self._scoped = bool(getattr(selector, "scoped", False))
        self._pending: dict[tuple[int, str, str], Result] = {}
        self._kinds: set[str] = set()
        self.left: dict[str, int] = {}  # records a record-level scope left behind: "kind: reason" -> count
        self.attachments: set[tuple[str, str]] = set()  # (volume, path) of the taken messages' attachments
        self.databases: set[tuple[str, str]] = set()  # (volume, path) of other databases records-only parsers read
        self.record_sources: list[int] = []  # file ids of the databases read for selected records only
        self.attachments_taken = 0
        self.already: dict[str, int] = {}  # records a widening run found already taken by earlier runs
        self._earlier = db.conn.execute("SELECT count(*) FROM runs WHERE id < ?", (run_id,)).fetchone()[0] > 0
        self._tails = SpoolTail(db, parsers.by_name())
        self._iso_seen: dict[datetime, str | None] = {}

    def walk_problem(self, volume: str, message: str) -> None:
        if self._scoped and not self._list_excluded:
            # the folder may be out of scope: its name is not recorded
            message = "a folder could not be listed (its name is withheld: scoped extraction)"
        self.summary.warnings += 1
        self.reporter.problem("warning", f"{volume}: {message}")
        self.db.add_error(ErrorRow(self.run_id, self.source_id, volume, None, None, "walk", "warning", message))

    def exclude(self, entry: Entry, decision: Decision, file_id: int | None = None) -> None:
        counts = self._exclusions.setdefault(decision.reason, [0, 0])
        counts[0] += 1
        counts[1] += entry.size if entry.has_content else 0
        self.summary.excluded += 1
        self.summary.excluded_bytes += entry.size if entry.has_content else 0
        self.reporter.advance(nbytes=entry.size if entry.has_content else 0, nfiles=1)
        if self._list_excluded:  # the scope asked for excluded metadata: name and times, nothing read
            self._file_row(Result(entry, file_id or self.db.next_file_id(), None, status="excluded"))

    def untake(self, reason: str, nbytes: int) -> None:
        """An entry counted as excluded under ``reason`` is taken after all (an attachment of a taken message)."""
        counts = self._exclusions.get(reason)
        if counts is not None:
            counts[0] -= 1
            counts[1] -= nbytes
            if counts[0] <= 0:
                del self._exclusions[reason]
        self.summary.excluded -= 1
        self.summary.excluded_bytes -= nbytes

    def write(self, r: Result) -> None:
        e = r.entry
        if r.attachments:
            self.attachments.update((e.volume, p) for p in r.attachments)
        if r.databases:
            self.databases.update((e.volume, p) for p in r.databases)
        if r.decision is not None and r.decision.records_only and r.status != "excluded":
            self.record_sources.append(r.file_id)
        if r.status == "excluded" and r.decision is not None:
            self.exclude(e, r.decision, r.file_id)
            return
        if self._defer_folders:
            if e.kind in (KIND_DIR, KIND_VIRTUAL_DIR):
                self._pending[(self.fs_id, e.volume, e.path)] = r
                return
            parts = e.path.split("/")
            for n in range(2, len(parts)):
                folder = self._pending.pop((self.fs_id, e.volume, "/".join(parts[:n])), None)
                if folder is not None:
                    self._write(folder)
        self._write(r)

    def early(self, r: Result) -> bool:
        """True if ``r`` can be written when it comes back, before the results walked ahead of it (``counted``),
        only its place in walk order kept (``add``): nothing else it writes shows the order (problems reported,
        a scoped run's folders, exclusions, attachments, databases read for selected records), and its
        ``files`` row is put in its place by its id (:meth:`devicex.casedb.CaseDB.hold_ahead`)."""
        return not (self._defer_folders or r.problems or r.attachments or r.databases or r.status == "excluded"
                    or (r.decision is not None and r.decision.records_only))

    def counted(self, r: Result, fs_id: int) -> list[ParserOutcome]:
        """An ``early`` result of the file system ``fs_id`` counted (the run's counts, the progress) and its
        ``files`` row added ahead of its turn, now; returns its parsers' outcomes, whose records ``add`` adds
        in walk order (``records.id`` is given on insert)."""
        current, self.fs_id = self.fs_id, fs_id
        try:
            row = self._row(r)
        finally:
            self.fs_id = current
        self.db.add_file_ahead(row)
        self._count(r)
        self._count_parsed(r)
        self.reporter.advance(nbytes=r.entry.size if r.entry.has_content else 0, nfiles=1)
        return r.parsed

    def add(self, file_id: int, parsed: list[ParserOutcome]) -> None:
        """An ``early`` result's turn in walk order: its ``files`` row is settled, its records are added."""
        self.db.settle(file_id)
        for outcome in parsed:
            self.summary.records -= self._records(file_id, outcome, _every)

    def _file_row(self, r: Result) -> None:
        self.db.add_file(self._row(r))

    def _row(self, r: Result) -> tuple[Any, ...]:
        """The entry's ``files`` row: a plain tuple in the column order of :class:`devicex.casedb.FileRow`
        (built directly, without the named tuple's keyword call: one row per entry)."""
        e, d, t = r.entry, r.digests, r.ftype
        hashes = (None, None, None, None) if d is None else (d.md5, d.sha1, d.sha256, d.size)
        typed = (None, None, None, e.extension, None) if t is None else (
            t.mime, t.description, t.category, e.extension, int(t.ext_mismatch))
        return (
            r.file_id, self.run_id, self.source_id, self.fs_id, e.volume, e.path, e.name, _name_hex(e), e.stream,
            e.address, e.inode, e.kind, e.alloc, int(e.realloc), e.size, *self._times(e),
            e.uid, e.gid, e.mode, e.link_target, *hashes, *typed, int(r.recovered), r.status,
            r.export_rel, canonical_json_objects(r.byte_runs) if r.byte_runs else None, e.content_guess, e.locator,
            e.stored_name, e.mtime_local, e.extra,
            canonical_json({k: format_utc_offset(m) for k, m in e.utc_offsets}) if e.utc_offsets else None)

    def _times(self, e: Entry) -> list[str | None]:
        """The texts of the entry's eight times (mtime ... fn_crtime): a time equal to one of the last two
        distinct ones takes its text (a comparison costs a tenth of a look-up: on NTFS, eight times are
        often two), any other is looked up (``_iso``)."""
        texts: list[str | None] = []
        last = other = last_text = other_text = None
        for when in (e.mtime, e.atime, e.ctime, e.crtime, e.fn_mtime, e.fn_atime, e.fn_ctime, e.fn_crtime):
            if when is None:
                texts.append(None)
            elif when == last:
                texts.append(last_text)
            elif when == other:
                texts.append(other_text)
            else:
                text = self._iso(when)
                last, last_text, other, other_text = when, text, last, last_text
                texts.append(text)
        return texts

    def _iso(self, when: datetime | None) -> str | None:
        """``iso`` of a time, remembered for the next ones (a row's times are often the same, and so are many
        rows'): equal times give the same text, since it is written in UTC."""
        if when is None:
            return None
        text = self._iso_seen.get(when)
        if text is None:
            if len(self._iso_seen) >= 4096:
                self._iso_seen.clear()
            text = self._iso_seen[when] = iso(when)
        return text

    def _write(self, r: Result) -> None:
        e = r.entry
        self._count(r)
        self._file_row(r)
        self._count_parsed(r)
        s = self.summary
        for outcome in r.parsed:
            s.records -= self._records(r.file_id, outcome, self._new_only(r))
        for p in r.problems:
            if p.severity == "warning":
                s.warnings += 1
            else:
                s.errors += 1
            self.reporter.problem(p.severity, f"{e.volume}:{e.full_path}: {p.message}")
            self.db.add_error(ErrorRow(self.run_id, self.source_id, e.volume, r.file_id, e.full_path, p.stage,
                                       p.severity, p.message))
        self.reporter.advance(nbytes=e.size if e.has_content else 0, nfiles=1)  # declared sizes, as planned

    def _count(self, r: Result) -> None:
        e, d, t = r.entry, r.digests, r.ftype
        s = self.summary
        s.files += 1
        s.deleted += e.alloc in (DELETED, ORPHAN)
        s.recovered += r.recovered
        s.guessed += r.status == GUESSED
        if d is not None:
            s.streams_read += 1
            s.bytes_read += d.size
        if r.export_rel:
            s.exported += 1
        if r.export_reused:
            s.exports_reused += 1
        if t is not None:
            s.by_category[t.category] = s.by_category.get(t.category, 0) + 1

    def _count_parsed(self, r: Result) -> None:
        s = self.summary
        for outcome in r.parsed:
            count = self._parsers.setdefault(outcome.spec.name, _ParserCount(outcome.spec.version))
            count.files += 1
            count.records += outcome.count
            count.warnings += outcome.warnings
            count.failures += int(outcome.failed)
            s.records += outcome.count
            for reason, n in outcome.left.items():
                self.left[reason] = self.left.get(reason, 0) + n

    def _records(self, file_id: int, outcome: ParserOutcome, new: Callable[[tuple[Any, ...]], bool]) -> int:
        """The outcome's records into case.db: those that came back in memory, then the
        spooled ones batch by batch (written as they go: never all held at once); ``new`` passes those to
        write (``_new_only``). Returns how many were not written because an earlier run had taken them."""
        for kind, schema in outcome.kinds.items():
            if kind not in self._kinds:
                self._kinds.add(kind)
                self.db.add_kind(kind, outcome.spec.name, schema)
        name, version = outcome.spec.name, outcome.spec.version
        skipped = len(outcome.rows)
        rows = [RecordRow(file_id, name, version, *row) for row in outcome.rows if new(row)]
        skipped -= len(rows)
        self.db.add_records(rows)
        if outcome.spool is None:
            return skipped
        start = self._tails.resume(file_id, outcome.spool, outcome.spec)  # frames read while it was parsed
        try:
            for batch, _end in spooled(outcome.spool, start):
                taken = [(file_id, name, version, *row) for row in batch if new(row)]
                skipped += len(batch) - len(taken)
                self.db.add_records(taken)  # written in batches
        finally:
            outcome.spool.unlink(missing_ok=True)
        return skipped

    def _new_only(self, r: Result) -> Callable[[tuple[Any, ...]], bool]:
        """For a database read for selected records in a run after others (a widened scope): a filter
        passing only the records no earlier run took from the same database, counting the others."""
        if not (self._earlier and r.decision is not None and r.decision.records_only):
            return _every
        self.db.flush()
        seen = {(t, table, rowid, hashlib.sha256(data.encode()).digest()) for t, table, rowid, data in
                self.db.conn.execute(
                    "SELECT r.record_type, r.source_table, r.source_rowid, r.data FROM records r JOIN files f "
                    "ON f.id = r.file_id WHERE f.run_id < ? AND f.volume = ? AND f.path = ?",
                    (self.run_id, r.entry.volume, r.entry.path))}

        def new(row: tuple[Any, ...]) -> bool:
            if (row[0], row[3], row[4], hashlib.sha256(row[2].encode()).digest()) not in seen:
                return True
            self.already[row[0]] = self.already.get(row[0], 0) + 1
            return False

        return new

    def beside(self, due: int | None, later: list[int]) -> None:
        """While big streams are being parsed: the records their first parsers have spooled so far are
        written, those of ``due`` (everything before it in walk order written) into ``records``, those of
        the ``later`` ones staged until they are due (:mod:`pipelines.recordtail`); the rest, and each
        stream's file row, come with its result. So the writer works beside the parsers instead of after
        them. Not in a run after others into the same case: what an earlier run took is left out per
        record, by the decision that comes with the result."""
        if self._earlier:
            return
        if due is not None:
            self._tails.write(due)
        for file_id in later:
            self._tails.stage(file_id)

    def finish(self, registry: Iterable[ParserSpec]) -> None:
        self._tails.close()
        for folder in self._pending.values():  # folders that came to hold nothing taken
            self.exclude(folder.entry, Decision(False, FOLDER_REASON))
        self._pending.clear()
        self.db.flush()
        with self.db.conn:
            for spec in registry:
                c = self._parsers.get(spec.name, _ParserCount(spec.version))
                self.db.conn.execute("INSERT OR REPLACE INTO parser_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                                     (self.run_id, spec.name, spec.version, c.files, c.records, c.warnings,
                                      c.failures))
            for reason, (count, nbytes) in sorted(self._exclusions.items()):
                self.db.conn.execute("INSERT OR REPLACE INTO exclusions (run_id, reason, count, bytes) "
                                     "VALUES (?, ?, ?, ?)", (self.run_id, reason, count, nbytes))
            for reason, count in sorted(self.left.items()):  # records: counted per kind, never named
                self.db.conn.execute("INSERT OR REPLACE INTO exclusions (run_id, reason, count, bytes, record_type) "
                                     "VALUES (?, ?, ?, 0, ?)", (self.run_id, reason, count, reason.split(":")[0]))

    def parser_summaries(self) -> list[dict[str, Any]]:
        return [{"parser": name, "version": c.version, "files": c.files, "records": c.records,
                 "warnings": c.warnings, "failures": c.failures}
                for name, c in sorted(self._parsers.items())]
