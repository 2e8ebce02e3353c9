"""Dry run of a scope: how many files and bytes an extraction would take and
leave, per rule, without exporting, parsing or recording anything of the
device's content.

It walks the file systems like an extraction and applies the same selector;
files the scope decides on metadata are not read at all, the others are read
only as far as their rules need (the same :class:`pipelines.select.Content`).
With a communications selection, it also walks again, as an extraction does after its walk
(:mod:`pipelines.attachments`), to count the attachments of the messages it would take and the other
databases the parsers would read beside a message store (WhatsApp's ``wa.db``): files the first walk
left that an extraction takes after all, counted as taken, per kind, and no longer as left.
Nothing is written under ``OUT/data``: no case database, no files. The only
trace is one ``scope-dry-run`` entry appended to ``OUT/custody.jsonl`` (the
evidence was opened and read), holding the scope's SHA-256 and the counts.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeAlias, cast

from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import Actor, Artefact, CustodyLog
from devicex.entries import KIND_DIR, KIND_VIRTUAL_DIR, BytesContent, ContentReader, Entry
from devicex.errors import SourceError
from devicex.sources import View, open_source
from pipelines import attachments
from pipelines.events import Reporter, SilentReporter
from pipelines.extract import ExtractOptions
from pipelines.record_count import Finder, RecordCounts, count, view_finder
from pipelines.select import FOLDER_REASON, Content, Decision, Selector
from pipelines.streamed import StreamedSiblings


@dataclass
class Preview:
    taken_files: int = 0
    taken_bytes: int = 0
    folders_kept: int = 0
    excluded: dict[str, list[int]] = field(default_factory=dict)  # reason -> [files, bytes]
    bytes_read_to_decide: int = 0
    filesystems: int = 0
    walk_problems: int = 0
    fatal: str | None = None
    records: RecordCounts = field(default_factory=RecordCounts)  # what communications selections would take
    record_scope: bool = False  # the scope has communications selections (records are counted)
    record_databases: int = 0  # taken files that are databases read for their records only (not exported)
    after_walk: dict[str, list[int]] = field(default_factory=dict)  # kind -> [files, bytes] taken after the walk

    @property
    def excluded_entries(self) -> int:
        """Entries left in the image (files, and folders holding nothing taken)."""
        return sum(c for c, _ in self.excluded.values())

    @property
    def excluded_bytes(self) -> int:
        return sum(b for _, (_, b) in self.excluded.items())

    def as_dict(self) -> dict[str, object]:
        return {"taken_files": self.taken_files, "taken_bytes": self.taken_bytes,
                "folders_kept": self.folders_kept,
                "excluded": {r: {"files": c, "bytes": b} for r, (c, b) in sorted(self.excluded.items())},
                "excluded_entries": self.excluded_entries, "excluded_bytes": self.excluded_bytes,
                "bytes_read_to_decide": self.bytes_read_to_decide, "filesystems": self.filesystems,
                "walk_problems": self.walk_problems, "fatal": self.fatal} | ({
                "records_taken": dict(sorted(self.records.taken.items())),
                "records_left": dict(sorted(self.records.left.items())),
                "record_databases": self.record_databases,
                "taken_after_walk": {k: {"files": c, "bytes": b} for k, (c, b) in sorted(self.after_walk.items())},
                "record_databases_unreadable": self.records.problems} if self.record_scope else {})


def _decide(selector: Selector, entry: Entry, reader: ContentReader | None) -> tuple[Decision, int]:
    content = Content(entry, reader, keep=0)
    decision = selector.decide_content(entry, content)
    return decision, content.bytes_read


def _records(selector: Selector, entry: Entry, reader: ContentReader | None, find: Finder, region: str,
             decided: Decision | None) -> tuple[Decision, int, RecordCounts | None]:
    """Decide (if not yet decided), and for a database a communications selection reads, count its records."""
    decision, nread = (decided, 0) if decided is not None else _decide(selector, entry, reader)
    records = getattr(selector, "records", None)
    if not decision.records_only or records is None or reader is None:
        return decision, nread, None
    return decision, nread + entry.size, count(records, entry, reader, find, region)


Outcome: TypeAlias = Future[tuple[Decision, int, "RecordCounts | None"]] | Decision


class _Tally:
    """The dry run's writer: counts what would be taken and left, per reason; writes nothing."""

    def __init__(self, preview: Preview, reporter: Reporter) -> None:
        self.preview, self.reporter = preview, reporter
        self.pending: dict[tuple[str, str], bool] = {}  # folder -> holds something taken

    def settle(self, entry: Entry, outcome: Outcome) -> None:
        preview = self.preview
        if isinstance(outcome, Decision):
            decision = outcome
        else:
            decision, nread, counted = outcome.result()
            preview.bytes_read_to_decide += nread
            if counted is not None:
                preview.records.add(counted)
        size = entry.size if entry.has_content else 0
        if entry.kind in (KIND_DIR, KIND_VIRTUAL_DIR) and decision.include:
            self.pending.setdefault((entry.volume, entry.path), False)
        elif decision.include:
            preview.taken_files += 1
            preview.taken_bytes += size
            preview.record_databases += decision.records_only
            self.hold_parents(entry)
        else:
            counts = preview.excluded.setdefault(decision.reason, [0, 0])
            counts[0] += 1
            counts[1] += size
        self.reporter.advance(nfiles=1)

    def hold_parents(self, entry: Entry) -> None:
        """The folders above a taken file are kept."""
        parts = entry.path.split("/")
        for n in range(2, len(parts)):
            key = (entry.volume, "/".join(parts[:n]))
            if key in self.pending:
                self.pending[key] = True

    def close_folders(self, defer: bool) -> None:
        """Folders are kept when they hold something taken (or always, when folders are not deferred)."""
        for held in self.pending.values():
            if held or not defer:
                self.preview.folders_kept += 1
            else:
                counts = self.preview.excluded.setdefault(FOLDER_REASON, [0, 0])
                counts[0] += 1


AFTER_WALK = {attachments.TAKE: "attachments of taken messages",
              attachments.DATABASE: "databases read beside a message store (not exported)"}


def _after_walk(filesystems: list[View], label: str, selector: Selector, tally: _Tally) -> None:
    """What an extraction takes after its walk (:func:`pipelines.attachments.take`): found by the same second
    walk, counted as taken (per kind) and no longer as left under the rule that left it in the first walk; the
    folders above it are kept."""
    preview = tally.preview
    wanted = attachments.plan(preview.records.databases, preview.records.attachments)
    if not wanted:
        return
    for _, entry, _, left, _ in attachments.left_wanted(enumerate(filesystems), label, wanted, selector):
        how = wanted[(entry.volume, entry.path)]
        counts = preview.excluded.get(left.reason)
        if counts is not None:  # as pipelines.store.ResultWriter.untake
            counts[0] -= 1
            counts[1] -= entry.size
            if counts[0] <= 0:
                del preview.excluded[left.reason]
        kind = preview.after_walk.setdefault(AFTER_WALK[how], [0, 0])
        kind[0] += 1
        kind[1] += entry.size
        preview.taken_files += 1
        preview.taken_bytes += entry.size
        preview.record_databases += how.records_only
        tally.hold_parents(entry)


def _outcome(selector: Selector, entry: Entry, reader: ContentReader | None, find: Finder, region: str,
             decision: Decision | None, streamed: bool, pool: ThreadPoolExecutor) -> Outcome:
    if decision is not None and not decision.records_only:
        return decision
    if streamed and reader is not None and not isinstance(reader, BytesContent):
        return _now(selector, entry, reader, find, region, decision)  # valid only until the walk moves on
    return pool.submit(_records, selector, entry, reader, find, region, decision)


def _now(selector: Selector, entry: Entry, reader: ContentReader | None, find: Finder, region: str,
         decision: Decision | None) -> Outcome:
    """Counted here, in this thread (a streamed view's reader and sibling index are this thread's)."""
    done: Future[tuple[Decision, int, RecordCounts | None]] = Future()
    done.set_result(_records(selector, entry, reader, find, region, decision))
    return done


def _settle(window: deque[tuple[Entry, Outcome]], tally: _Tally, keep: int) -> None:
    while len(window) > keep:
        tally.settle(*window.popleft())


def _walk(fs: View, label: str, selector: Selector, pool: ThreadPoolExecutor, tally: _Tally, workers: int,
          region: str) -> None:
    """Decide on every entry of one file system, content decisions on the pool, settled in walk order. In a
    streamed view (a tar), as in an extraction (:mod:`pipelines.streamed`), the siblings a parser may read are
    kept as they stream past and a database a parser wants by path is counted once the walk has ended."""
    window: deque[tuple[Entry, Outcome]] = deque()
    kept = StreamedSiblings() if fs.streamed else None
    find: Finder = (lambda path: kept.find("", path)) if kept is not None else view_finder(fs)
    deferred: list[tuple[Entry, ContentReader | None, Decision | None]] = []
    try:
        for entry, item in fs.entries(label):
            if entry is None:
                tally.preview.walk_problems += 1
                continue
            reader = cast("ContentReader | None", item)  # with an entry, the walk gives its reader
            decision = selector.decide(entry)
            if kept is not None:
                reader, later = kept.take(entry, reader, decision is None or decision.include)
                if later:
                    deferred.append((entry, reader, decision))
                    continue
            window.append((entry, _outcome(selector, entry, reader, find, region, decision, fs.streamed, pool)))
            _settle(window, tally, max(8, workers * 32))
        window.extend((entry, _now(selector, entry, reader, find, region, decision))
                      for entry, reader, decision in deferred)
        _settle(window, tally, 0)
    finally:
        if kept is not None:
            kept.close()


def run(opts: ExtractOptions, reporter: Reporter | None = None) -> Preview:
    reporter = reporter or SilentReporter()
    preview = Preview(record_scope=getattr(opts.selector, "records", None) is not None)
    actor = Actor(opts.examiner_id or opts.examiner, opts.examiner)
    custody = CustodyLog(opts.out / CUSTODY_FILE, actor, opts.case_ref, opts.exhibit_ref)
    try:
        src = open_source(opts.source)
    except SourceError as exc:
        preview.fatal = str(exc)
        reporter.problem("error", str(exc))
        return preview
    tally = _Tally(preview, reporter)
    try:
        layout = src.layout()
        reporter.stage("dry run", total_bytes=None)
        with ThreadPoolExecutor(max_workers=max(1, opts.workers), thread_name_prefix="dvx-dry") as pool:
            for fs in layout.filesystems:
                preview.filesystems += 1
                _walk(fs, src.label, opts.selector, pool, tally, opts.workers, opts.region)
        if not layout.filesystems:
            preview.fatal = f"{src.path}: no readable file system found"
            reporter.problem("error", preview.fatal)
        _after_walk(list(layout.filesystems), src.label, opts.selector, tally)
        tally.close_folders(bool(getattr(opts.selector, "defer_folders", False)))
        scope = getattr(opts.selector, "scope", None)
        custody.append("scope-dry-run", inputs=[Artefact("source", str(src.path), None, src.size)],
                       result="ok" if not preview.fatal else "no-file-system",
                       details={"scope_file": scope.name if scope else None,
                                "scope_sha256": scope.sha256 if scope else None,
                                "mode": "scoped" if scope else "full",
                                "full_extraction_reason": None if scope else opts.full_reason,
                                "exported": 0, "counts": preview.as_dict()})
    finally:
        src.close()
    return preview
