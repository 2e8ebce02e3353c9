"""Per-stream work, done once per stream in a worker thread: read in chunks,
hash (MD5/SHA-1/SHA-256), type by signature, export atomically, run parsers.

Nothing here touches the case database: results go back to the single writer.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from operator import attrgetter
from pathlib import Path
from typing import BinaryIO

import parsers
from devicex.entries import DELETED, ORPHAN, ContentReader, Entry
from devicex.errors import Damage, NotMyFormat, OutputError, one_line, output_problem
from devicex.filetype import HEAD_SIZE, WHOLE_FILE_LIMIT, WHOLE_FILE_TYPES, FileType, identify, identify_path
from devicex.hashing import CHUNK, Digests, MultiHasher
from devicex.parsing import ParserContext, ParserSpec, Sibling
from pipelines.exportfile import STAGING, create, make_dir, place, staging_dir, write_sparse
from pipelines.limits import LimitExceeded, Limits, describe, limited
from pipelines.readerio import open_for_parsers
from pipelines.record_scope import RecordScope, attachment_paths
from pipelines.recordsink import RecordSink, Row
from pipelines.select import Content, Decision, Selector

KEEP_IN_MEMORY = 16 << 20  # streams up to this size are parsed from memory
GUESSED = "guessed"  # status of content read in full whose attribution is a guess (Entry.content_guess)


@dataclass
class Problem:
    stage: str
    severity: str  # "warning" (recoverable) or "error" (failure for this item)
    message: str


@dataclass
class ParserOutcome:
    spec: ParserSpec
    rows: list[Row] = field(default_factory=list)  # the first records, serialised (see pipelines.recordsink)
    spool: Path | None = None  # the rest, spooled to a file the writer streams in and deletes
    count: int = 0  # records in all
    kinds: dict[str, str] = field(default_factory=dict)  # record type -> declared schema (JSON)
    warnings: int = 0
    failed: bool = False
    left: dict[str, int] = field(default_factory=dict)  # records a record-level scope left: reason -> count


@dataclass
class Result:
    entry: Entry
    file_id: int
    export_rel: str | None
    status: str = "no-content"
    digests: Digests | None = None
    ftype: FileType | None = None
    recovered: bool = False
    parsed: list[ParserOutcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    decision: Decision | None = None
    export_reused: bool = False  # identical content was already exported by an earlier run
    byte_runs: list[dict[str, int]] | None = None  # where the content lies in the image (DFXML)
    attachments: list[str] = field(default_factory=list)  # paths of the taken messages' attachments
    databases: list[str] = field(default_factory=list)  # other databases the parsers read (records-only)

    def __reduce__(self) -> tuple[Callable[..., Result], tuple[object, ...]]:
        # a worker's result goes to the parent as its values in field order (the generic pickling of a
        # dataclass writes each field's name beside its value, for every result)
        return result_of, _RESULT_VALUES(self)


_RESULT_FIELDS = tuple(f.name for f in fields(Result))
_RESULT_VALUES = attrgetter(*_RESULT_FIELDS)


def result_of(*values: object) -> Result:
    """A result from its values in field order (:meth:`Result.__reduce__`, :mod:`pipelines.transfer`)."""
    result: Result = object.__new__(Result)
    result.__dict__.update(zip(_RESULT_FIELDS, values, strict=True))
    return result


@dataclass(frozen=True)
class WorkerSettings:
    data_dir: Path
    export: bool
    parse: bool
    selector: Selector
    known_sparse: Callable[[Entry], bool]
    #: finds another entry of the same file system by (volume, path), for parsers' siblings
    siblings: Callable[[str, str], Sibling | None] | None = None
    #: region in which national phone numbers are read (ISO 3166 code)
    region: str = "GB"
    limits: Limits = field(default_factory=Limits.from_env)  # per parser and file

    @cached_property
    def data_path(self) -> str:
        """``data_dir`` as text, the base of every export's path (built per stream: pathlib costs)."""
        return str(self.data_dir).rstrip("/")


def _set_times(fd: int, entry: Entry) -> None:
    mtime, atime = entry.mtime, entry.atime
    if mtime is None:
        return
    mtime_ns = int(mtime.timestamp()) * 1_000_000_000 + mtime.microsecond * 1000
    atime_ns = mtime_ns if atime is None or atime == mtime else (
        int(atime.timestamp()) * 1_000_000_000 + atime.microsecond * 1000)
    os.utime(fd, ns=(atime_ns, mtime_ns))


def process(entry: Entry, reader: ContentReader | None, file_id: int, export_rel: str | None,
            settings: WorkerSettings, decision: Decision | None) -> Result:
    """Read, hash, type, (select), export and parse one stream."""
    result = Result(entry, file_id, export_rel, decision=decision)
    if entry.notes:
        result.problems.extend(Problem("source", "warning", note) for note in entry.notes)
    if getattr(reader, "byte_runs", None) is not None:
        _byte_runs(entry, reader, result)
    if decision is None and entry.has_content:
        # The scope needs content: decide BEFORE exporting anything, reading only what the
        # rules ask for (see pipelines.select.Content); out-of-scope bytes never reach OUT.
        content = Content(entry, reader, KEEP_IN_MEMORY)
        decision = result.decision = settings.selector.decide_content(entry, content)
        if not decision.include:
            result.status = "excluded"
            result.export_rel = None
            return result
        reader = content.reader(reader)  # whole stream already in memory: not read twice
    if reader is None or not entry.has_content:
        result.status = "no-content" if decision is None or decision.include else "excluded"
        result.export_rel = None  # nothing is written for it, so it names no file
        return result
    records = _record_scope(settings, decision)
    if records is not None:  # a communications database: parsed for its selected records, never exported
        export_rel = result.export_rel = None
    target = f"{settings.data_path}/{export_rel}" if settings.export and export_rel else None
    tmp = f"{staging_dir(settings.data_dir)}/{file_id}.part" if target else None
    read = _read(entry, reader, settings, result, export_rel, target, tmp)
    damage = getattr(reader, "damage", None)  # found once the bytes were read (a checksum): they are kept
    if damage:
        result.problems.append(Problem("read", "error", damage))
    # nothing read of a non-empty stream: no content, so no hash (the empty-file hash would be a claim)
    unread = read.offset == 0 and entry.size > 0 and not settings.known_sparse(entry)
    result.digests = None if unread else (read.hasher or MultiHasher()).digests()
    result.ftype = read.ftype if read.ftype is not None else identify(read.head, entry.extension)
    _set_status(result, entry, read.offset, settings)
    target = _place_export(result, entry, settings, export_rel, read.target, tmp)
    if not (settings.export and target is not None):
        result.export_rel = None
    if result.ftype.mime in WHOLE_FILE_TYPES and read.offset > 0:
        result.ftype = _retype_whole(result.ftype, read.memory, target, reader, read.offset, entry.extension)
    wanted = read.wanted if records is None else [s for s in read.wanted if records.wants(s)]
    if settings.parse and read.offset > 0 and wanted:
        opener = open_for_parsers(read.memory, target, reader, read.offset)
        for index, spec in enumerate(wanted):
            result.parsed.append(_run_parser(spec, index, entry, opener, read.head, result.ftype.mime, read.offset,
                                             result, settings, records))
    return result


def _record_scope(settings: WorkerSettings, decision: Decision | None) -> RecordScope | None:
    """The record-level scope to apply to this stream's records (None: keep them all)."""
    if decision is None or not decision.records_only:
        return None
    records: RecordScope | None = getattr(settings.selector, "records", None)
    return records


def _byte_runs(entry: Entry, reader: ContentReader | None, result: Result) -> None:
    """Where the content lies in the image, when the source can say (DFXML byte runs)."""
    runs = getattr(reader, "byte_runs", None)
    if callable(runs) and entry.has_content:
        try:
            result.byte_runs = runs(entry.fs_offset, entry.size)
        except OSError as exc:  # damaged run list: the content may still be readable
            result.problems.append(Problem("layout", "warning", f"block list unreadable: {one_line(exc)}"))


@dataclass
class _Pass:
    """What the one read of a stream produced."""

    memory: bytearray | None
    target: str | None
    hasher: MultiHasher | None = None  # made with the first chunk
    offset: int = 0
    head: bytes = b""
    ftype: FileType | None = None
    wanted: Sequence[ParserSpec] = ()
    at_end: bool = True  # the staged export's last write reached its last byte (no trailing hole)


def _read(entry: Entry, reader: ContentReader, settings: WorkerSettings, result: Result, rel: str | None,
          target: str | None, tmp: str | None) -> _Pass:
    """Read the stream once in chunks: hash, type its head, keep it for parsers, write the staged export
    (``rel``: its name under data/, ``target``: its final path, ``tmp``: the staging file)."""
    size = entry.size
    read = _Pass(bytearray() if size <= KEEP_IN_MEMORY and settings.parse else None, target)
    out: int | None = None  # the staged export's file descriptor
    # a stream in shared memory is read in place (pipelines.handoff.SharedContent)
    chunk: Callable[[int, int], bytes | memoryview] = getattr(reader, "view", None) or reader.read
    try:
        if tmp is not None and target is not None:
            out = create(tmp)
        while read.offset < size:
            try:
                data = chunk(read.offset, min(CHUNK, size - read.offset))
            except OSError as exc:
                result.problems.append(Problem("read", "error",
                                               f"read failed at offset {read.offset}: {one_line(exc)}"))
                break
            if not data:
                if not settings.known_sparse(entry):
                    result.problems.append(Problem("read", "warning",
                                                   f"short read: {read.offset} of {size} bytes available"))
                break
            if read.offset == 0:
                read.head = bytes(data[:HEAD_SIZE])
                # typed as soon as the head is in: streams no parser wants are not kept in memory
                extension = entry.extension
                read.ftype = identify(read.head, extension)
                read.wanted = (parsers.for_type(read.ftype.mime, extension, entry.path)
                               if settings.parse else [])
                if not read.wanted:
                    read.memory = None
            if read.hasher is None:
                read.hasher = MultiHasher(data)
            else:
                read.hasher.update(data)
            if read.memory is not None:
                read.memory += data
            if out is not None:
                read.at_end = write_sparse(out, data, read.offset)
            read.offset += len(data)
    except OSError as exc:  # export target problems
        if output_problem(exc):  # disk full, read-only: the run cannot go on
            _discard(out, tmp)
            out = None
            raise OutputError(f"export {rel}: {output_problem(exc)}") from None
        result.problems.append(Problem("export", "error", f"cannot write export: {one_line(exc)}"))
        read.target = None
    finally:
        if out is not None and not _close_sparse(out, None if read.at_end else read.offset, result, entry):
            read.target = None
    return read


def _set_status(result: Result, entry: Entry, offset: int, settings: WorkerSettings) -> None:
    read_all = offset >= entry.size
    if read_all and entry.content_guess:
        result.status = GUESSED  # all bytes read, but whether they are this entry's is a guess
    elif read_all:
        result.status = "ok"
    elif settings.known_sparse(entry) and not result.problems:
        result.status = "sparse"
    else:
        result.status = "partial" if offset else "unreadable"
    result.recovered = (entry.alloc in (DELETED, ORPHAN) and read_all and entry.size > 0
                        and not entry.content_guess)


def _place_export(result: Result, entry: Entry, settings: WorkerSettings, rel: str | None, target: str | None,
                  tmp: str | None) -> str | None:
    """Move the staged export to its name (or beside an earlier, different one); the final path or None."""
    if tmp is not None and target is not None and result.digests is not None:
        try:
            # the target's folder is made only now: an export that never completes leaves no empty folder
            # (seal refuses folders no extraction recorded)
            folder = target.rpartition("/")[0]
            make_dir(folder)
            try:
                placed, result.export_reused = place(tmp, target, result.digests)
            except FileNotFoundError:  # the folder went away since (another run into a recreated OUT)
                make_dir(folder, again=True)
                placed, result.export_reused = place(tmp, target, result.digests)
            if placed != target:  # moved aside to name~vN
                result.export_rel = placed[len(settings.data_path) + 1:]
            target = placed
        except OSError as exc:
            if output_problem(exc):
                _discard(None, tmp)
                raise OutputError(f"export {rel}: {output_problem(exc)}") from None
            result.problems.append(Problem("export", "error", f"cannot finish export: {one_line(exc)}"))
            target = None
    else:
        target = None
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _discard(out: int | None, tmp: str | None) -> None:
    """Drop a half-written export temp file (frees its space on a full disk)."""
    if out is not None:
        with contextlib.suppress(OSError):  # nothing is buffered: the file goes anyway
            os.close(out)
    if tmp is not None:
        with contextlib.suppress(FileNotFoundError):  # never made, or already gone
            os.unlink(tmp)


def _close_sparse(out: int, length: int | None, result: Result, entry: Entry) -> bool:
    """Set the export's length when it ends in a hole (``length``: a trailing hole is only a gap until then;
    None: the last write reached the end, so the file has its length), then its times (on the open file: no
    path to look up, and they go with it into place), and close it; False if that failed."""
    try:
        if length is not None:
            os.ftruncate(out, length)
        _set_times(out, entry)
    except OSError as exc:
        if output_problem(exc):
            raise OutputError(f"export: {output_problem(exc)}") from None
        result.problems.append(Problem("export", "error", f"cannot finish export: {one_line(exc)}"))
        return False
    finally:
        os.close(out)
    return True


def _retype_whole(ftype: FileType, memory: bytearray | None, target: str | None, reader: ContentReader,
                  size: int, extension: str) -> FileType:
    """Type a stream whose type needs more than its head (OLE compound documents: the
    directory tells a Word document from an Excel sheet) on its whole content, as file(1)
    types the whole file: the exported copy, the copy in memory, or a second read."""
    if target is not None:
        return identify_path(target, extension)
    if memory is not None and len(memory) == size:
        return identify(bytes(memory), extension, whole=True)
    if size > WHOLE_FILE_LIMIT:
        return ftype
    try:
        data = reader.read(0, size)
    except OSError:
        return ftype
    return identify(data, extension, whole=True) if len(data) == size else ftype


def record_spool(data_dir: Path, file_id: int, index: int, parser: str) -> str:
    """Where the records of the ``index``-th parser run on a stream are spooled (the writer may read the
    first parser's spool while it is being written: see :meth:`pipelines.store.ResultWriter.tail`)."""
    return f"{data_dir}/{STAGING}/records/{file_id}-{index}-{parser}.records"


def _run_parser(spec: ParserSpec, index: int, entry: Entry, opener: Callable[[], BinaryIO], head: bytes, mime: str,
                size: int, result: Result, settings: WorkerSettings,
                records: RecordScope | None = None) -> ParserOutcome:
    outcome = ParserOutcome(spec)
    finder = settings.siblings
    # a database read for selected records only is copied to scratch OUTSIDE the output folder:
    # the records left behind never reach OUT, not even in a temporary copy
    scratch = (f"{staging_dir(settings.data_dir)}/{result.file_id}-{spec.name}/scratch" if records is None
               else tempfile.mkdtemp(prefix="devicex-records-"))
    ctx = ParserContext(opener, head, mime, size, path=entry.path, region=settings.region,
                        siblings=(lambda path: finder(entry.volume, path)) if finder else None,
                        scratch=scratch)
    sink = RecordSink(record_spool(settings.data_dir, result.file_id, index, spec.name))
    try:
        with limited(settings.limits, size):
            for record in spec.parse(entry, ctx):
                if records is not None:
                    reason = records.judge(record)
                    if reason is not None:  # left behind: only counted
                        outcome.left[reason] = outcome.left.get(reason, 0) + 1
                        continue
                    result.attachments.extend(attachment_paths(record))
                sink.add(record)
    except (LimitExceeded, MemoryError) as exc:  # a pathological file: a failure for it, and the run goes on
        outcome.failed = True
        result.problems.append(Problem(f"parse:{spec.name}", "error",
                                       f"parser {spec.name} {describe(exc, settings.limits.for_size(size))}"))
    except NotMyFormat:
        pass  # tier 1: not this parser's format; nothing to record
    except Damage as exc:  # tier 2: recoverable damage, keep what was yielded
        ctx.warn(str(exc))
    except Exception as exc:
        outcome.failed = True
        result.problems.append(Problem(f"parse:{spec.name}", "error",
                                       f"parser {spec.name} failed: {type(exc).__name__}: {one_line(exc)}"))
    finally:
        if records is not None or ctx.scratch_used:  # (a folder the parser never asked for is not there)
            shutil.rmtree(scratch, ignore_errors=True)
        try:
            sink.close()
        except OSError as exc:  # the spool could not be written: what is in memory is kept
            outcome.failed = True
            result.problems.append(Problem(f"parse:{spec.name}", "error", f"cannot spool records: {one_line(exc)}"))
    outcome.rows, outcome.spool, outcome.count, outcome.kinds = sink.rows, sink.spool, sink.count, sink.kinds
    if records is not None:
        result.databases.extend(ctx.databases)
    for message in ctx.warnings:
        outcome.warnings += 1
        result.problems.append(Problem(f"parse:{spec.name}", "warning", message))
    return outcome
