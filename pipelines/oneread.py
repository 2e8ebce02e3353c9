"""The extraction of a disk image in one read of the media (see :mod:`pipelines.onepass`): phase A walks
the metadata, handling at once what is not read by the pass and planning the rest; phase B reads the media
once, hashing it (the intake hashes) and serving the plan; results are written in walk order."""
from __future__ import annotations

import ctypes
import gc
import marshal
import pickle
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import parsers
from devicex.casedb import CaseDB
from devicex.entries import BytesContent, ContentReader, Entry
from devicex.hashing import Digests
from devicex.sources import Source
from devicex.sources.base import Layout
from pipelines import store
from pipelines.events import Reporter
from pipelines.exportfile import STAGING
from pipelines.onepass import Dispatcher, MediaPass, Planned, parsed_apart, plannable
from pipelines.parallel import ProcessRunner, make_runner
from pipelines.planstore import PlanStore
from pipelines.process import Result, WorkerSettings
from pipelines.sequence import InOrder
from pipelines.transfer import outcome_of, outcome_values

GC_YOUNG = 10_000  # new container objects between runs of the cycle collector, in the main process
BATCH_BYTES = 2 << 20  # content bytes per batch sent to a worker process
WALK_BLOCKS = 48 << 20  # media blocks kept from the layout to the pass (devicex.sources.blockcache)


@dataclass
class Outcome:
    """What the pass gave: the media hashes and the ranges it could not read (hashed as zeros)."""

    digests: Digests
    bad: list[tuple[int, int, str]]


def _large_buffers_mapped() -> None:
    """glibc: buffers of 2 MiB and more always get their own mapping, returned to the system when freed (its
    default threshold rises after each such free, and blocks of the pass then pile up in the heap); smaller
    ones, the 1 MiB chunks streams and the re-verification are read in, come from the heap, which keeps up to
    8 MiB free at its top instead of giving it back (a fresh mapping per chunk cost a page fault per 4 KiB:
    about 2 CPU-s on bench.ext4)."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 2 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 8 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        return


def hold_blocks(src: Source) -> None:
    """Keep the media blocks TSK reads for the layout and the walk (they read the same metadata many times)."""
    hold = getattr(src, "hold_blocks", None)
    if callable(hold):
        hold(WALK_BLOCKS)


def _blocks(src: Source, step: str) -> None:
    """``drain_blocks`` or ``release_blocks`` of a source that holds blocks (see ``hold_blocks``)."""
    call = getattr(src, step, None)
    if callable(call):
        call()


class OneRead:
    def __init__(self, src: Source, db: CaseDB, settings: WorkerSettings, writer: store.ResultWriter,
                 reporter: Reporter, workers: int, name: Callable[[Entry], str | None]) -> None:
        self.src, self.db, self.settings, self.writer, self.reporter = src, db, settings, writer, reporter
        self.name = name
        work = self.work = settings.data_dir / STAGING / "one-read"
        work.mkdir(parents=True, exist_ok=True)  # the pass's spool files (and the plan's, if it outgrows memory)
        _large_buffers_mapped()
        # content travels with the entries: small batches keep what is in flight (and its copies) small
        self.runner = make_runner(max(1, workers), src.path, settings, batch_bytes=BATCH_BYTES)
        self.order = InOrder(self._emit, work / "waiting.sqlite", freeze=_freeze, thaw=_thaw)
        db.hold_ahead(work / "held.sqlite")  # files rows of results written before their turn (ResultWriter.early)
        self.dispatch = Dispatcher(self.runner, self.order, self._done)
        if isinstance(self.runner, ProcessRunner):
            self.runner.waiting = self._tail
        self.plan = PlanStore(work / "plan.sqlite")
        self.views: dict[str, Any] = {}
        self.fs_rows: list[tuple[int, Any]] = []  # (filesystems row id, view), in walk order
        self.fs_ids: dict[str, int] = {}  # filesystems row id by the view's label
        self.list_excluded = bool(getattr(settings.selector, "list_excluded", False))
        self.walked = 0
        self.content_bytes = 0

    def run(self, layout: Layout, vol_ids: dict[str, int], summary: Any,
            after_reads: Callable[[], None] | None = None) -> Outcome:
        """Walk, read the media once, and wait for every result; ``after_reads`` is called once the media
        has been read for the last time (the pass, and every stream read on its own), while the rest goes on."""
        thresholds = gc.get_threshold()
        # this process makes and drops a few objects per entry, few of them in cycles: the cycle collector runs
        # once per 10,000 new objects instead of 700 (measured on the bench tree: 0.17 s of collections -> 0.05)
        gc.set_threshold(GC_YOUNG, *thresholds[1:])
        try:
            self._walk_all(layout, vol_ids, summary)
            _blocks(self.src, "drain_blocks")  # what the walk read is not read again by the pass
            self.reporter.totals(self.walked, self.content_bytes)
            outcome = self._read_media()
            _blocks(self.src, "release_blocks")  # the pass took them: later reads (none expected) go to the media
            if after_reads is not None:  # once the streams read on their own (if any) are done too
                self.runner.after_reads(after_reads)
            self.dispatch.drain()
            if self.order.waiting:
                raise RuntimeError(f"{self.order.waiting} entries walked but never processed")
            self.db.end_hold()  # every files row settled: all written
            return outcome
        except BaseException:
            self._stop_hold()
            raise
        finally:
            gc.set_threshold(*thresholds)
            _blocks(self.src, "release_blocks")
            self.plan.close()
            self.runner.close()
            self.order.close()
            summary.media_bytes_read += self.runner.media_bytes_read  # what worker processes read per entry

    def _stop_hold(self) -> None:
        """The run stops early: the files rows settled are written, those ahead of their turn dropped, as far as
        the output still takes writes (if not, the run's failure says why, and nothing more is written)."""
        try:
            self.db.end_hold()
        except (OSError, sqlite3.Error):
            self.db.drop_pending()

    def _walk_all(self, layout: Layout, vol_ids: dict[str, int], summary: Any) -> None:
        for fs in layout.filesystems:
            fs_id = self.db.insert("filesystems", {
                "volume_id": vol_ids[fs.volume.label], "label": fs.label, "offset": fs.offset,
                "fs_type": fs.fs_type, "block_size": fs.block_size, "block_count": fs.block_count,
                "forced": int(fs.forced)})
            summary.filesystems += 1
            self.order.add(("fs", fs_id))
            self.views[fs.label] = fs
            self.fs_ids[fs.label] = fs_id
            self.fs_rows.append((fs_id, fs))
            self._walk(fs)

    def _walk(self, fs: Any) -> None:
        for entry, reader in fs.entries(self.src.label):
            if entry is None:
                self.order.add(("issue", fs.label, str(reader)))
                continue
            self.walked += 1
            self.content_bytes += entry.size if entry.has_content else 0
            self._take(entry, reader, fs)

    def _take(self, entry: Entry, reader: ContentReader | None, view: Any) -> None:
        seq = self.order.number()
        decision = self.settings.selector.decide(entry)
        export_rel = self.name(entry)  # for every entry: export paths do not depend on the scope
        if decision is not None and not decision.include:
            self.order.put(seq, ("exclude", entry, decision, self.db.next_file_id() if self.list_excluded else None))
            return
        file_id = self.db.next_file_id()
        item = self._planned(seq, entry, reader, getattr(view, "plan_runs", None), file_id, export_rel, decision)
        if item is not None:
            self.plan.add(item)
        else:
            self.dispatch.submit(seq, entry, _in_memory(view, entry, reader), file_id, export_rel, decision)

    def _planned(self, seq: int, entry: Entry, reader: ContentReader | None, planner: Any, file_id: int,
                 export_rel: str | None, decision: Any) -> Planned | None:
        if planner is None or reader is None or not entry.has_content or entry.size <= 0 or parsed_apart(entry):
            return None
        found = planner(entry, reader, self.src.size)  # (runs, DFXML byte runs) if plain
        if found is None or not plannable(found[0], entry):
            return None
        return Planned(seq, entry, file_id, export_rel, decision, found[0], found[1])

    def _read_media(self) -> Outcome:
        media = MediaPass(self.src, self.plan.by_offset(), self.dispatch.gathered, self.work)
        try:
            while media.advance() or media.big or media.spooled:
                while media.spooled:
                    self.dispatch.from_spool(*media.spooled.popleft(), self.settings)
                while media.big:
                    item = media.big.popleft()
                    if item.start < media.block_start:
                        media.missed.append(item)
                        continue
                    self.dispatch.inline(item, media, self.settings, self._reopener(item.entry))
            for item in media.missed:
                self.dispatch.submit(item.seq, item.entry, self._reopener(item.entry)(), item.file_id,
                                     item.export_rel, item.decision, item.byte_runs, planned=True)
            return Outcome(media.digests(), media.bad)
        finally:
            media.hasher.close()

    def _tail(self, file_id: int, later: list[int]) -> None:
        """While big streams are parsed by workers: the records spooled so far are written (or staged, for a
        stream that is not yet next in walk order: ResultWriter.beside)."""
        if self.dispatch.next_due(file_id):
            self.writer.beside(file_id, later)
        else:
            self.writer.beside(None, [file_id, *later])

    def _reopener(self, entry: Entry) -> Callable[[], ContentReader | None]:
        view = self.views[entry.volume]

        def reopen() -> ContentReader | None:
            try:
                reader: ContentReader | None = view.reopen(entry)
                return reader
            except OSError:
                return None

        return reopen

    def _done(self, seq: int, result: Result) -> None:
        """A result, put in walk order (a result waits for every entry walked before it: on NTFS nearly all do,
        its files lying on the media in no relation to the order of their names). One that writes nothing whose
        order shows but its rows (``ResultWriter.early``) is counted, and its ``files`` row added, now: only its
        file id and its parsers' outcomes wait."""
        if self.writer.early(result):
            self.order.put(seq, ("rows", result.file_id, self.writer.counted(result, self.fs_ids[result.entry.volume])))
        else:
            self.order.put(seq, ("result", result))

    def _emit(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "rows":
            self.writer.add(item[1], item[2])
        elif kind == "fs":
            self.writer.fs_id = item[1]
        elif kind == "issue":
            self.writer.walk_problem(item[1], item[2])
        elif kind == "exclude":
            self.writer.exclude(item[1], item[2], item[3])
        else:
            self.writer.write(item[1])


def _in_memory(view: Any, entry: Entry, reader: ContentReader | None) -> ContentReader | None:
    """A stream the walk gives without reading the media (NTFS resident data, in the MFT record it has loaded;
    an empty stream) as its bytes, so that no worker opens the source to read it; else the walk's reader."""
    held = getattr(view, "held_data", None)
    data = held(entry, reader) if callable(held) else None
    return BytesContent(data) if data is not None else reader


def _outcomes(item: tuple[Any, ...]) -> list[Any]:
    """The parser outcomes a waiting item holds (a result's, or those of a result whose row is written)."""
    return item[1].parsed if item[0] == "result" else item[2] if item[0] == "rows" else []


_PICKLED = pickle.PROTO[0]  # the first byte of a pickle (protocol 2 and later); marshal's never is


def _freeze(item: tuple[Any, ...]) -> bytes:
    """A waiting item as bytes (:class:`~pipelines.sequence.InOrder`): a written result's file id and parser
    outcomes (the most common by far) by ``marshal``, far cheaper both ways; anything else pickled, its parsers by
    name."""
    if item[0] == "rows":
        try:
            return marshal.dumps((item[1], [outcome_values(o) for o in item[2]]))
        except ValueError:  # a value marshal does not hold
            pass
    for outcome in _outcomes(item):
        outcome.spec = outcome.spec.name
    return pickle.dumps(item, pickle.HIGHEST_PROTOCOL)


def _thaw(blob: bytes) -> tuple[Any, ...]:
    if blob[0] != _PICKLED:
        file_id, parsed = marshal.loads(blob)
        if parsed:
            specs = parsers.by_name()
            parsed = [outcome_of(values, specs) for values in parsed]
        return "rows", file_id, parsed
    item: tuple[Any, ...] = pickle.loads(blob)
    outcomes = _outcomes(item)
    if outcomes:
        specs = parsers.by_name()
        for outcome in outcomes:
            outcome.spec = specs[outcome.spec]
    return item
