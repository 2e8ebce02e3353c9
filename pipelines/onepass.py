"""One read of the media: the content of every entry and the intake hashes from the same sequential pass.

For a disk image, the extraction first walks the metadata (phase A), TSK's reads of it through a bounded block
cache (``hold_blocks``: each metadata block read once while held). Each entry whose stream lies plainly on the
media (``view.plan_runs``: its byte runs) goes into a plan, spooled to disk; a stream the walk gives without
reading the media (empty, resident data: ``view.held_data``) goes on with its bytes; every other entry
(compressed data, sparse runs, deleted FAT chains, excluded entries, walk problems) is handled as it comes,
streams read per entry by the runner. Then the media is read once, front to back, in large blocks (phase B,
:class:`MediaPass`), the blocks the walk's cache still holds taken from memory: each block is hashed (MD5,
SHA-1, SHA-256 on two helper threads: the intake hashes) and handed to the planned streams it holds, taken in
the order of their first byte on the media. A stream up to ``GATHER_LIMIT`` whose runs ascend is gathered whole
and goes to the runner with its bytes; a bigger one is processed here as the pass reaches it, its reads served
by the pass as it moves on, except a big database a parser wants by its path (:func:`parsed_apart`), which a
worker reads and parses on its own beside the pass. A stream whose runs are out of order or spread wide, and a
big one reached while another is being processed, is spooled to a file as the pass goes by its runs
(:class:`_Spool`). What the pass cannot serve (a block that could not be read, a stream it has already passed)
is read per entry, the way the walk's reader would, so every output is the same as reading each entry on its
own. Results are written in walk order (:class:`~pipelines.sequence.InOrder`) whatever the order they were read in.
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import parsers
from devicex.entries import ContentReader, Entry
from devicex.errors import one_line
from devicex.hashing import Digests, ParallelHasher
from devicex.sources import Source
from pipelines.intake import MEDIA_CHUNK
from pipelines.parallel import ProcessRunner, ThreadRunner
from pipelines.process import Result, WorkerSettings, process
from pipelines.select import Decision
from pipelines.sequence import InOrder

BLOCK = MEDIA_CHUNK  # the media is read in blocks of the intake hash's size (the same unreadable ranges)
GATHER_LIMIT = 8 << 20  # planned streams up to this size are gathered whole and handed to a worker with their bytes
SPAN_LIMIT = 64 << 20  # ... unless their runs spread wider than this on the media (then read per entry)


@dataclass
class Planned:
    """An entry whose stream is read by the pass: what processing it needs, and where its bytes are."""

    seq: int
    entry: Entry
    file_id: int
    export_rel: str | None
    decision: Decision | None
    runs: list[tuple[int, int]]  # (media offset, length), in stream order, not overlapping on the media
    byte_runs: list[dict[str, int]] | None  # the DFXML byte runs the walk's reader gave
    start: int = field(init=False)  # its first byte on the media (where the pass reaches it)
    #: the entry's compact form (``from_utc_states`` arguments) when the plan's spool gave it back in it
    compact: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        runs = self.runs
        self.start = runs[0][0] if len(runs) == 1 else min(runs)[0]

    @property
    def direct(self) -> bool:
        """Its runs ascend on the media and, if it is to be gathered in memory, do not spread too wide: else it is
        spooled to a file as the pass goes by its runs (:class:`_Spool`)."""
        runs = self.runs
        if len(runs) == 1:
            return True  # one run: ascending, and spread no wider than the stream
        if any(b[0] < a[0] + a[1] for a, b in zip(runs, runs[1:], strict=False)):
            return False
        return self.entry.size > GATHER_LIMIT or runs[-1][0] + runs[-1][1] - runs[0][0] <= SPAN_LIMIT


def parsed_apart(entry: Entry) -> bool:
    """A big stream a parser wants by its path (a phone's message store): read per entry by a worker, so that
    its long parse runs beside the pass instead of holding it up in this process (its bytes are read twice,
    the pass reading them for the media hashes only)."""
    return entry.size > GATHER_LIMIT and any(spec.wants_path(entry.path) for spec in parsers.registry())


def plannable(runs: list[tuple[int, int]] | None, entry: Entry) -> bool:
    """True if a stream with these runs can be served by the pass (runs that do not overlap on the media;
    content that is the entry's own, not a guess)."""
    if not runs or entry.content_guess:
        return False
    if len(runs) == 1:
        return True
    ordered = sorted(runs)
    return not any(b[0] < a[0] + a[1] for a, b in zip(ordered, ordered[1:], strict=False))


Buffer = bytes | bytearray | memoryview


class _Gather:
    """A small planned stream being gathered from the blocks as they pass."""

    __slots__ = ("item", "buf", "run", "got", "tainted", "whole")

    def __init__(self, item: Planned) -> None:
        self.item, self.buf, self.run, self.got, self.tainted = item, bytearray(), 0, 0, False
        self.whole: memoryview | None = None  # the stream, when it lies in one piece of one block

    @property
    def data(self) -> Buffer:
        """The stream's bytes: a view of the block that holds it all (valid while handed out), or the copy
        of its pieces."""
        return self.whole if self.whole is not None else self.buf

    def feed(self, start: int, block: memoryview, bad: bool) -> bool:
        """Take this block's part of the stream; True once the whole stream is in (or it cannot be)."""
        end = start + len(block)
        runs = self.item.runs
        while self.run < len(runs):
            off, length = runs[self.run]
            lo = off + self.got
            if lo >= end:
                return False
            if lo < start:  # bytes already passed (cannot happen with ascending runs): read it per entry
                self.tainted = True
                return True
            hi = min(off + length, end)
            if not self.buf and hi == off + length and self.run == len(runs) - 1 and lo == off:
                self.whole = block[lo - start:hi - start]  # all of it at once: not copied here
            else:
                self.buf += block[lo - start:hi - start]
            self.tainted |= bad
            if hi < off + length:
                self.got += hi - lo
                return False
            self.run += 1
            self.got = 0
        return True


class _Spool:
    """A planned stream whose runs are out of order on the media or spread wide, or a big one reached while
    another is being processed: written to a file as the pass goes by each of its runs (memory stays small)."""

    __slots__ = ("item", "path", "fd", "left", "tainted")

    def __init__(self, item: Planned, path: Path) -> None:
        self.item, self.path, self.tainted = item, path, False
        self.fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_RDWR, 0o600)
        self.left = sum(length for _, length in item.runs)

    def feed(self, start: int, block: bytes | memoryview, bad: bool) -> bool:
        """Take this block's parts of the stream; True once the whole stream is in."""
        end, at = start + len(block), 0
        for off, length in self.item.runs:
            lo, hi = max(off, start), min(off + length, end)
            if lo < hi:
                os.pwrite(self.fd, block[lo - start:hi - start], at + lo - off)
                self.left -= hi - lo
                self.tainted |= bad
            at += length
        return self.left <= 0

    def close(self, remove: bool) -> None:
        os.close(self.fd)
        if remove:
            self.path.unlink(missing_ok=True)


class SpoolContent:
    """The reader of a spooled stream (its file is removed by :meth:`close`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)

    def read(self, offset: int, size: int) -> bytes:
        return os.pread(self._fd, size, offset) if size > 0 else b""

    def close(self) -> None:
        os.close(self._fd)
        self.path.unlink(missing_ok=True)


class MediaPass:
    """The one sequential read of the media: hashes every block (the intake hashes) and serves the plan."""

    def __init__(self, src: Source, plan: Iterator[Planned], on_gathered: Callable[[Planned, Buffer], None],
                 spool_dir: Path) -> None:
        self.src, self.on_gathered, self.spool_dir = src, on_gathered, spool_dir
        self.hasher = ParallelHasher()
        self.bad: list[tuple[int, int, str]] = []  # unreadable ranges, hashed as zeros (as the intake hash did)
        self.block_start, self.block, self.block_bad = 0, memoryview(b""), False
        self.pos = 0  # media bytes read and hashed so far
        self.ended = False
        self._plan = plan
        self._next: Planned | None = next(plan, None)
        self._open: list[_Gather | _Spool] = []
        self.big: deque[Planned] = deque()  # big streams reached, to be processed by the caller
        self.spooled: deque[tuple[Planned, Path]] = deque()  # big spooled streams, complete, for the caller
        self.busy = False  # the caller is processing a big stream, reading it from the pass as it goes
        self.missed: list[Planned] = []  # streams the pass could not serve: read per entry afterwards

    def advance(self) -> bool:
        """Read, hash and hand out the next block; False at the end of the media."""
        if self.ended or self.pos >= self.src.size:
            self._end()
            return False
        want = min(BLOCK, self.src.size - self.pos)
        bad = False
        view = self.hasher.buffer(want)  # reused: what is handed out of a block is copied before the next
        try:
            data = view[:self.src.read_into(self.pos, view)]
        except OSError as exc:
            self.bad.append((self.pos, want, one_line(exc)[:300]))
            view[:] = bytes(want)
            data, bad = view, True
        if not data:
            self._end()
            return False
        self.hasher.update(data)
        self.block_start, self.block, self.block_bad = self.pos, data, bad
        self.pos += len(data)
        self._start_reached()
        self._feed()
        return True

    def _start_reached(self) -> None:
        end = self.pos
        while self._next is not None and self._next.start < end:
            item, self._next = self._next, next(self._plan, None)
            if item.start < self.block_start:
                self.missed.append(item)  # passed while a big stream was being read
            elif not item.direct or (item.entry.size > GATHER_LIMIT and (self.big or self.busy)):
                self._open.append(_Spool(item, self.spool_dir / f"{item.seq}.spool"))
            elif item.entry.size > GATHER_LIMIT:
                self.big.append(item)
            else:
                self._open.append(_Gather(item))

    def _feed(self) -> None:
        still: list[_Gather | _Spool] = []
        block = self.block
        for gather in self._open:
            if not gather.feed(self.block_start, block, self.block_bad):
                still.append(gather)
            elif gather.tainted:
                self.missed.append(gather.item)
                if isinstance(gather, _Spool):
                    gather.close(remove=True)
            elif isinstance(gather, _Gather):
                self.on_gathered(gather.item, gather.data)  # handed on (copied) before the next block
            else:
                self._spooled(gather)
        self._open = still

    def _spooled(self, spool: _Spool) -> None:
        """A spooled stream is complete: a small one goes on with its bytes, a big one to the caller."""
        if spool.item.entry.size > GATHER_LIMIT:
            spool.close(remove=False)
            self.spooled.append((spool.item, spool.path))
            return
        data = os.pread(spool.fd, spool.item.entry.size, 0)
        spool.close(remove=True)
        self.on_gathered(spool.item, data)

    def _end(self) -> None:
        """The media ended (or could not be read further): what is still open is read per entry."""
        self.ended = True
        for gather in self._open:
            self.missed.append(gather.item)
            if isinstance(gather, _Spool):
                gather.close(remove=True)
        self._open = []
        while self._next is not None:
            self.missed.append(self._next)
            self._next = next(self._plan, None)

    def take(self, offset: int, size: int) -> bytes | None:
        """``size`` media bytes at ``offset`` from the pass, advancing it as far as needed; None if the pass has
        already left them behind, could not read them, or the media ended."""
        pieces: list[bytes] = []
        while size > 0:
            while offset >= self.block_start + len(self.block):
                if not self.advance():
                    return None
            if offset < self.block_start or self.block_bad:
                return None
            piece = bytes(self.block[offset - self.block_start:offset - self.block_start + size])
            pieces.append(piece)
            offset += len(piece)
            size -= len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)  # one copy of the bytes, not two

    def digests(self) -> Digests:
        return self.hasher.digests()


class PassContent:
    """The reader of a big planned stream processed as the pass reaches it: reads in stream order come from
    the pass; any other read (a parser seeking back, a block the pass could not read) goes to the entry's own
    reader, opened when first needed."""

    def __init__(self, media: MediaPass, item: Planned, reopen: Callable[[], ContentReader | None]) -> None:
        self._media, self._item, self._reopen = media, item, reopen
        self._next = 0
        self._own: ContentReader | None = None
        self._off_pass = False

    def read(self, offset: int, size: int) -> bytes:
        size = min(size, self._item.entry.size - offset)
        if size <= 0:
            return b""
        if not self._off_pass and offset == self._next:
            data = self._from_pass(offset, size)
            if data is not None:
                self._next += len(data)
                return data
            self._off_pass = True
        if self._own is None:
            self._own = self._reopen()
            if self._own is None:
                raise OSError("cannot open the entry again")
        return self._own.read(offset, size)

    def _from_pass(self, offset: int, size: int) -> bytes | None:
        pieces: list[bytes] = []
        covered = 0
        for start, length in self._item.runs:
            lo, hi = max(offset, covered), min(offset + size, covered + length)
            if lo < hi:
                piece = self._media.take(start + lo - covered, hi - lo)
                if piece is None:
                    return None
                pieces.append(piece)
            covered += length
            if covered >= offset + size:
                break
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class Dispatcher:
    """Hands entries to the runner and puts every result in its place in walk order."""

    def __init__(self, runner: ThreadRunner | ProcessRunner, order: InOrder,
                 done: Callable[[int, Result], None] | None = None) -> None:
        self.runner, self.order = runner, order
        #: what becomes of a result (its walk-order number and itself): by default it is put in walk order
        self.done = done or (lambda seq, result: order.put(seq, ("result", result)))
        self._sent: deque[tuple[int, list[dict[str, int]] | None, bool]] = deque()
        self._seqs: dict[int, int] = {}  # file id -> walk-order number, of the entries at the runner

    def next_due(self, file_id: int) -> bool:
        """True if everything before the entry ``file_id`` (at the runner) has been written."""
        return self._seqs.get(file_id) == self.order.released

    def submit(self, seq: int, entry: Entry, reader: ContentReader | None, file_id: int, export_rel: str | None,
               decision: Decision | None, byte_runs: list[dict[str, int]] | None = None,
               planned: bool = False) -> None:
        self._sending(seq, file_id, byte_runs, planned)
        self._place(self.runner.submit(entry, reader, file_id, export_rel, decision))

    def gathered(self, item: Planned, data: Buffer) -> None:
        """A gathered stream: its bytes are copied by the runner (into shared memory for worker processes)."""
        self._sending(item.seq, item.file_id, item.byte_runs, True)
        self._place(self.runner.submit_bytes(item.entry, data, item.file_id, item.export_rel, item.decision,
                                             item.compact))

    def _sending(self, seq: int, file_id: int, byte_runs: list[dict[str, int]] | None, planned: bool) -> None:
        self._sent.append((seq, byte_runs, planned))
        self._seqs[file_id] = seq

    def inline(self, item: Planned, media: MediaPass, settings: WorkerSettings,
               reopen: Callable[[], ContentReader | None]) -> None:
        media.busy = True  # a big stream reached meanwhile is spooled, not passed by
        try:
            result = process(item.entry, PassContent(media, item, reopen), item.file_id, item.export_rel, settings,
                             item.decision)
        finally:
            media.busy = False
        self._planned(result, item.byte_runs)
        self.done(item.seq, result)

    def from_spool(self, item: Planned, path: Path, settings: WorkerSettings) -> None:
        """A big stream the pass spooled to ``path``, processed here from there (the file is removed)."""
        reader = SpoolContent(path)
        try:
            result = process(item.entry, reader, item.file_id, item.export_rel, settings, item.decision)
        finally:
            reader.close()
        self._planned(result, item.byte_runs)
        self.done(item.seq, result)

    def drain(self) -> None:
        self._place(self.runner.drain())

    def _place(self, results: Iterable[Result]) -> None:
        for result in results:
            seq, byte_runs, planned = self._sent.popleft()
            self._seqs.pop(result.file_id, None)
            if planned:
                self._planned(result, byte_runs)
            self.done(seq, result)

    @staticmethod
    def _planned(result: Result, byte_runs: list[dict[str, int]] | None) -> None:
        """The DFXML byte runs the walk's reader gave (the pass's reader has none of its own)."""
        result.byte_runs = byte_runs or None
