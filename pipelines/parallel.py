"""Running :func:`pipelines.process.process` on many entries, results in walk order.

Two runners with the same interface:

* :class:`ThreadRunner` -- worker threads in this process, reading through the
  readers the walk paired with the entries (``--workers 1``, and the fallback).
* :class:`ProcessRunner` -- worker processes. A source's objects cannot cross
  processes: an entry whose content is already in memory (a stream gathered by
  the one read, a streamed archive member) goes with its bytes, copied into
  shared memory (:mod:`pipelines.handoff`); any other entry is opened again in the worker,
  which opens the source itself (read only) and asks the entry's view to
  ``reopen`` it: the same stream the walk paired with it. Entries go out in
  batches and results come back in batches, in submission order, so the single
  database writer sees exactly the order of a single-worker run.

Measured on the 20,000-file benchmark image (bench/): per-file work is mostly
Python and libmagic; with threads the walk, the writer and the workers contend
for the GIL, with processes each worker has a core.

Workers are forked (the selector and settings are inherited, not pickled) right
when the runner is made; they exit with ``os._exit`` and never touch what they
inherited (database connection, the parent's source handles).
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

import parsers
from devicex.entries import BytesContent, ContentReader, Entry
from devicex.errors import SourceError
from devicex.parsing import Sibling
from devicex.sources.base import MediaReads
from pipelines.handoff import Ring, SharedContent
from pipelines.lifetime import die_with_parent
from pipelines.limits import cap_process_memory
from pipelines.process import Problem, Result, WorkerSettings, process
from pipelines.readerio import open_reader
from pipelines.select import Decision
from pipelines.transfer import Task, decode_results, decode_tasks, encode_results, encode_tasks

BATCH_FILES = 64  # entries per batch sent to a worker process
BATCH_BYTES = 8 << 20  # ... or fewer, once their content adds up to this
TAIL_EVERY = 0.05  # seconds between looks at the records a big stream's parser has spooled so far


class ReadsDone:
    """Tells (once) when no queued or unfinished stream is read from the source on its own: the streams handed
    over with their bytes need no read, the others are read by whoever processes them."""

    def __init__(self) -> None:
        self._reading = 0  # streams queued or in flight that are read from the source on their own
        self._callback: Callable[[], None] | None = None

    def after_reads(self, callback: Callable[[], None]) -> None:
        """``callback()`` now if no such stream is left, else when the last one has been processed; the
        caller hands over nothing more to read from the source after this."""
        self._callback = callback
        self._reads_done(0)

    def _reads_done(self, finished: int) -> None:
        self._reading -= finished
        if self._callback is not None and not self._reading:
            callback, self._callback = self._callback, None
            callback()


def _reads_alone(reader: ContentReader | None) -> bool:
    return reader is not None and not isinstance(reader, BytesContent)


class ThreadRunner(ReadsDone):
    """``process`` on a pool of threads; results yielded in submission order."""

    def __init__(self, workers: int, settings: WorkerSettings, source_path: Path | None = None) -> None:
        _close_views()  # parsers' siblings are read on a second handle of this source, opened when first asked for
        if source_path is not None:
            _worker["path"] = str(source_path)
        self._settings = settings
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="dvx")
        self._window: deque[tuple[Future[Result], bool]] = deque()  # and whether it reads the source alone
        super().__init__()
        self._limit = max(8, workers * 32)
        self.media_bytes_read = 0  # counted in this process (MediaReads) like the rest

    def submit(self, entry: Entry, reader: ContentReader | None, file_id: int, export_rel: str | None,
               decision: Decision | None) -> list[Result]:
        """Queue one entry; return the results that are due (in order), possibly none."""
        reads = _reads_alone(reader)
        self._reading += reads
        self._window.append((self._pool.submit(process, entry, reader, file_id, export_rel, self._settings,
                                               decision), reads))
        done = []
        while len(self._window) >= self._limit:
            done.append(self._next())
        return done

    def _next(self) -> Result:
        future, reads = self._window.popleft()
        result = future.result()
        self._reads_done(reads)
        return result

    def submit_bytes(self, entry: Entry, data: bytes | bytearray | memoryview, file_id: int, export_rel: str | None,
                     decision: Decision | None, compact: tuple[Any, ...] | None = None) -> list[Result]:
        """``submit`` for a stream whose bytes are in ``data`` (copied: the caller may reuse it); ``compact``: the
        entry's compact form, if at hand (see ``ProcessRunner.submit_bytes``)."""
        return self.submit(entry, BytesContent(bytes(data)), file_id, export_rel, decision)

    def drain(self) -> list[Result]:
        """The remaining results, in order."""
        return [self._next() for _ in range(len(self._window))]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        _close_views()


# --------------------------------------------------------------------------- worker process side
_worker: dict[str, Any] = {}
# last: reopen it (True), its bytes, or where they lie in the shared ring (place, length)


def _init_worker(source_path: str, settings: WorkerSettings, parent_pid: int, ring: Ring) -> None:
    # Ctrl-C is for the parent (it stops the run and shuts the pool down); SIGINT is blocked across the fork
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    die_with_parent(parent_pid)
    cap_process_memory(settings.limits)
    # what the worker inherited from the parent stays as it is: the collector never walks it again (a full
    # collection would visit every object of the parent's heap, and write to each one's pages)
    gc.freeze()
    _worker["path"] = source_path
    _worker["settings"] = settings
    _worker["ring"] = ring.view  # inherited across the fork, shared with the parent


def _views() -> dict[str, Any]:
    """The source's views by label, opened on first need (entries sent with their bytes need none)."""
    if "views" not in _worker:
        from devicex.sources import open_source

        src = open_source(_worker["path"])
        _worker["src"] = src
        _worker["views"] = {view.label: view for view in src.layout().filesystems}
    views: dict[str, Any] = _worker["views"]
    return views


def _close_views() -> None:
    src = _worker.pop("src", None)
    if src is not None:
        src.close()
    _worker.clear()


def find_sibling(volume: str, path: str) -> Sibling | None:
    """Another entry of a view by path, for a parser (``WorkerSettings.siblings``), read through
    this process's own read-only handles of the source; None if the view cannot open by path."""
    if "path" not in _worker:
        return None
    view = _views().get(volume)
    opener = getattr(view, "open_path", None)
    found = opener(path) if opener is not None else None
    if found is None:
        return None
    reader, size = found
    return Sibling(path, size, lambda: open_reader(reader, size))


def _reopen(entry: Entry) -> tuple[ContentReader | None, Problem | None]:
    try:
        return _views()[entry.volume].reopen(entry), None
    except (OSError, KeyError, SourceError) as exc:
        where = entry.locator or entry.address
        return None, Problem("read", "error", f"cannot reopen {where} in worker: {exc}")


def _run_batch(blob: bytes) -> tuple[bytes, int]:
    """The results of a batch of tasks (both as :mod:`pipelines.transfer` blobs), and the media bytes this
    worker read since its previous batch."""
    before = MediaReads.total()
    settings: WorkerSettings = _worker["settings"]
    out: list[Result] = []
    for entry, file_id, export_rel, decision, content in decode_tasks(blob):
        reader: ContentReader | None = None
        problem = None
        if isinstance(content, tuple):
            place, length = content
            reader = SharedContent(_worker["ring"][place:place + length])
        elif isinstance(content, bytes):
            reader = BytesContent(content)
        elif content:
            reader, problem = _reopen(entry)
        result = process(entry, reader, file_id, export_rel, settings, decision)
        if problem is not None:
            result.problems.insert(0, problem)
        out.append(result)
    return encode_results(out), MediaReads.total() - before


# --------------------------------------------------------------------------- parent side
class ProcessRunner(ReadsDone):
    """``process`` on worker processes that open the source themselves."""

    def __init__(self, workers: int, source_path: Path, settings: WorkerSettings,
                 batch_bytes: int = BATCH_BYTES) -> None:
        ctx = multiprocessing.get_context("fork")
        self._ring = Ring()
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                         initargs=(str(source_path), settings, os.getpid(), self._ring))
        self._specs = parsers.by_name()
        # each batch sent: its entries, file ids, the ring's mark when it was sent, how many of its streams are
        # read from the source on their own, and its future
        self._window: deque[tuple[list[Entry], list[int], int, int, Future[tuple[bytes, int]]]] = deque()
        super().__init__()
        self._batch_reads = 0
        self._ids: list[int] = []
        #: called while the result of a stream alone in its batch is awaited, everything before it returned,
        #: with its file id and those of the streams alone in their batches after it (the writer reads the
        #: records spooled so far: ResultWriter.beside)
        self.waiting: Callable[[int, list[int]], None] | None = None
        self.media_bytes_read = 0  # by the worker processes
        self._limit = workers * 3
        self._batch_bytes = batch_bytes
        self._batch: list[Task] = []
        self._entries: list[Entry] = []
        self._bytes = 0
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._pool.submit(os.getpid).result()  # start the workers now (fork before any thread of ours)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def submit(self, entry: Entry, reader: ContentReader | None, file_id: int, export_rel: str | None,
               decision: Decision | None) -> list[Result]:
        """Queue one entry; return the results that are due (in order), possibly none."""
        done: list[Result] = []
        content: bool | bytes | tuple[int, int] = reader is not None
        if reader is not None:
            self._alone(entry)
        if isinstance(reader, BytesContent):
            content = self._shared(reader.data, done)
        return self._queue(entry, file_id, export_rel, decision, content, done)

    def submit_bytes(self, entry: Entry, data: bytes | bytearray | memoryview, file_id: int, export_rel: str | None,
                     decision: Decision | None, compact: tuple[Any, ...] | None = None) -> list[Result]:
        """``submit`` for a stream whose bytes are in ``data`` (copied: the caller may reuse it). ``compact``: the
        arguments of ``from_utc_states`` that give the entry (``Entry.__reduce__``'s compact form, as the plan's
        spool gave them back), sent as they are instead of reducing the entry again."""
        done: list[Result] = []
        self._alone(entry)
        return self._queue(entry, file_id, export_rel, decision, self._shared(data, done), done, compact)

    def _alone(self, entry: Entry) -> None:
        """A big stream goes alone in its batch (its records can be written while it is parsed): the batch
        before it is sent first, before its bytes go into the ring, so that the space that batch gives back
        when it returns (the ring's mark when it was sent) does not take in this stream's."""
        if entry.size >= BATCH_BYTES:
            self._send()

    def _queue(self, entry: Entry, file_id: int, export_rel: str | None, decision: Decision | None,
               content: bool | bytes | tuple[int, int], done: list[Result], sent: tuple[Any, ...] | None = None
               ) -> list[Result]:
        self._batch.append((sent or entry, file_id, export_rel, decision, content))
        if content is True:  # read from the source by the worker
            self._batch_reads += 1
            self._reading += 1
        self._entries.append(entry)
        self._ids.append(file_id)
        self._bytes += entry.size if content is not False else 0
        if len(self._batch) >= BATCH_FILES or self._bytes >= self._batch_bytes:
            self._send()
        while len(self._window) > self._limit:
            done.extend(self._receive(first=not done))
        return done

    def _shared(self, data: bytes | bytearray | memoryview, done: list[Result]) -> bytes | tuple[int, int]:
        """``data`` copied into the shared ring (where it lies), waiting for earlier batches to come back
        (their results go to ``done``) while the ring is full; the bytes themselves if they never fit."""
        if not self._ring.fits(len(data)):
            return bytes(data)
        while (where := self._ring.put(data)) is None:
            if self._batch:
                self._send()
            else:
                done.extend(self._receive(first=not done))
        return where

    def _send(self) -> None:
        if self._batch:
            self._window.append((self._entries, self._ids, self._ring.head, self._batch_reads,
                                 self._pool.submit(_run_batch, encode_tasks(self._batch))))
            self._batch, self._entries, self._ids, self._bytes, self._batch_reads = [], [], [], 0, 0

    def _receive(self, first: bool) -> Iterator[Result]:
        """The head batch's results; ``first``: all results before them have been returned."""
        entries, ids, mark, reads, future = self._window.popleft()
        if first and len(ids) == 1 and self.waiting is not None:
            while True:
                try:
                    future.result(timeout=TAIL_EVERY)
                    break
                except FutureTimeout:
                    self.waiting(ids[0], [batch[1][0] for batch in self._window if len(batch[1]) == 1])
        blob, nbytes = future.result()
        self._ring.release(mark)  # the worker is done with the batch's bytes
        self.media_bytes_read += nbytes
        self._reads_done(reads)
        yield from decode_results(blob, entries, self._specs)

    def drain(self) -> Iterator[Result]:
        """The remaining results, in order (a batch's results are yielded before the next is awaited)."""
        self._send()
        while self._window:
            yield from self._receive(first=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._ring.close()


def make_runner(workers: int, source_path: Path, settings: WorkerSettings,
                batch_bytes: int = BATCH_BYTES) -> ThreadRunner | ProcessRunner:
    """Worker processes for ``workers`` >= 2 (measured faster), one thread otherwise."""
    if workers >= 2:
        return ProcessRunner(workers, source_path, settings, batch_bytes)
    return ThreadRunner(workers, settings, source_path)
