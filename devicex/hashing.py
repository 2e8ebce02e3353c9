"""One pass over content: MD5, SHA-1 and SHA-256 together (hashlib releases
the GIL on large buffers, so worker threads hash in parallel)."""
from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from devicex.errors import one_line

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Digests:
    md5: str
    sha1: str
    sha256: str
    size: int

    def as_dict(self) -> dict[str, str | int]:
        return {"md5": self.md5, "sha1": self.sha1, "sha256": self.sha256, "size": self.size}

    def __reduce__(self) -> tuple[type[Digests], tuple[str, str, str, int]]:
        # rebuilt by the constructor: the generic pickling of a frozen slotted dataclass costs several times
        # more, and every worker result carries one
        return Digests, (self.md5, self.sha1, self.sha256, self.size)


class MultiHasher:
    """MD5 + SHA-1 + SHA-256 fed from the same buffers."""

    __slots__ = ("_md5", "_sha1", "_sha256", "size")

    def __init__(self, data: bytes | bytearray | memoryview = b"") -> None:
        """(Fed ``data`` first: a stream of one chunk is hashed without a call to :meth:`update`.)"""
        self._md5 = hashlib.md5(data)
        self._sha1 = hashlib.sha1(data)
        self._sha256 = hashlib.sha256(data)
        self.size = len(data)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._md5.update(data)
        self._sha1.update(data)
        self._sha256.update(data)
        self.size += len(data)

    def digests(self) -> Digests:
        return Digests(self._md5.hexdigest(), self._sha1.hexdigest(), self._sha256.hexdigest(), self.size)


class ParallelHasher:
    """MD5 + SHA-1 + SHA-256 over the same buffers on two helper threads: MD5
    (the slowest, and serial by nature) on one, SHA-1 and SHA-256 on the other,
    while the caller's thread only reads. hashlib releases the GIL on large
    buffers, so reading and both hash threads overlap (on two cores the MD5
    thread sets the pace, as in the bench's hash floor); the digests are the
    same as :class:`MultiHasher`'s. ``groups`` names the algorithms each helper
    thread computes (one group of one: a single hash beside the reads). Call
    :meth:`digests` / :meth:`hexdigest` (or :meth:`close`) to stop the helper
    threads."""

    def __init__(self, depth: int = 4,
                 groups: tuple[tuple[str, ...], ...] = (("md5",), ("sha1", "sha256"))) -> None:
        self._hashes = {name: hashlib.new(name) for group in groups for name in group}
        self.size = 0
        self._queues: list[queue.Queue[bytes | bytearray | memoryview | None]] = [
            queue.Queue(maxsize=depth) for _ in groups]
        self._hashed = [0] * len(groups)  # buffers each thread is done with
        self._queued = 0
        self._done = threading.Condition()
        # buffers to read into (:meth:`buffer`), each with the number of buffers queued when it was handed out:
        # ``depth`` of them (the reader waits for the slower thread rather than for room in its queue; memory
        # held stays ``depth`` blocks)
        self._buffers: list[tuple[bytearray, int]] = []
        self._slots = depth
        self._handed = 0
        self._threads = [
            threading.Thread(target=self._run, args=(index, tuple(self._hashes[name].update for name in group)),
                             name="+".join(group), daemon=True)
            for index, group in enumerate(groups)]
        for thread in self._threads:
            thread.start()

    def _run(self, index: int, updates: tuple[Callable[[bytes | bytearray | memoryview], None], ...]) -> None:
        q = self._queues[index]
        while (data := q.get()) is not None:
            for update in updates:
                update(data)
            with self._done:
                self._hashed[index] += 1
                self._done.notify_all()

    def buffer(self, size: int) -> memoryview:
        """A buffer of ``size`` bytes to read the next block into (then given to :meth:`update`), from a few
        reused ones: reading costs no new memory (and no page faults). It is not handed out again before both
        threads are done with what was read into it last."""
        slot = self._handed % self._slots
        self._handed += 1
        if slot < len(self._buffers):
            buf, queued_before = self._buffers[slot]
            need = min(queued_before + 1, self._queued)
            with self._done:
                self._done.wait_for(lambda: min(self._hashed) >= need)
            if len(buf) < size:
                buf = bytearray(size)
            self._buffers[slot] = (buf, self._queued)
        else:
            buf = bytearray(size)
            self._buffers.append((buf, self._queued))
        return memoryview(buf)[:size]

    def update(self, data: bytes | bytearray | memoryview) -> None:
        for q in self._queues:
            q.put(data)  # the buffer must not be changed afterwards (bytes from a read, or a :meth:`buffer`)
        self._queued += 1
        self.size += len(data)

    def close(self) -> None:
        for q, thread in zip(self._queues, self._threads, strict=True):
            if thread.is_alive():
                q.put(None)
                thread.join()

    def hexdigest(self, name: str) -> str:
        """One algorithm's digest (the helper threads are stopped first)."""
        self.close()
        return str(self._hashes[name].hexdigest())

    def digests(self) -> Digests:
        return Digests(self.hexdigest("md5"), self.hexdigest("sha1"), self.hexdigest("sha256"), self.size)


PARALLEL_MIN = 64 << 20  # below this, a helper thread costs more than it saves


ReadInto = Callable[[int, memoryview], int]  # (offset, buffer) -> bytes read into it


def hash_reader(read_into: ReadInto, size: int, chunk: int = CHUNK,
                progress: Callable[[int], None] | None = None,
                bad: list[tuple[int, int, str]] | None = None) -> Digests:
    """Hash ``size`` bytes read by ``read_into(offset, buffer)``; stops early (and reports the smaller size)
    if the reader runs dry. With ``bad`` given, unreadable chunks are hashed as zeros (like ``dd
    conv=noerror,sync``) and listed there as (offset, length, error); without it, errors propagate.
    Large inputs are hashed on two threads (:class:`ParallelHasher`)."""
    if size >= PARALLEL_MIN:
        hasher = ParallelHasher()
        try:
            for data in _chunks(read_into, size, chunk, progress, bad, hasher.buffer):
                hasher.update(data)
            return hasher.digests()
        finally:
            hasher.close()
    multi = MultiHasher()
    for data in _chunks(read_into, size, chunk, progress, bad, _one_buffer()):
        multi.update(data)
    return multi.digests()


def sha256_reader(read_into: ReadInto, size: int, chunk: int = CHUNK,
                  progress: Callable[[int], None] | None = None) -> tuple[str, int]:
    """(SHA-256, bytes hashed) of ``size`` bytes read by ``read_into(offset, buffer)``; unreadable chunks are
    hashed as zeros (as the intake hash does), so damage the intake saw gives the same digest again. Large
    inputs are hashed on a helper thread while the next chunk is read (the read and the hash overlap: on a slow
    device the hash costs no wall time beside the read)."""
    if size < PARALLEL_MIN:
        h = hashlib.sha256()
        hashed = 0
        for data in _chunks(read_into, size, chunk, progress, [], _one_buffer()):
            h.update(data)
            hashed += len(data)
        return h.hexdigest(), hashed
    hasher = ParallelHasher(groups=(("sha256",),))
    try:
        for data in _chunks(read_into, size, chunk, progress, [], hasher.buffer):
            hasher.update(data)
        return hasher.hexdigest("sha256"), hasher.size
    finally:
        hasher.close()


def _one_buffer() -> Callable[[int], memoryview]:
    """One buffer reused for every chunk (for a caller done with each chunk before asking for the next)."""
    held = bytearray()

    def buffer(size: int) -> memoryview:
        if len(held) < size:
            held.extend(bytes(size - len(held)))
        return memoryview(held)[:size]
    return buffer


def _chunks(read_into: ReadInto, size: int, chunk: int, progress: Callable[[int], None] | None,
            bad: list[tuple[int, int, str]] | None, buffer: Callable[[int], memoryview]) -> Iterator[memoryview]:
    """``size`` bytes read by ``read_into`` in chunks into the buffers ``buffer(length)`` gives, until the
    reader runs dry. With ``bad`` given, an unreadable chunk comes as zeros and is listed there as (offset,
    length, error); without it, the error propagates."""
    offset = 0
    while offset < size:
        want = min(chunk, size - offset)
        view = buffer(want)
        try:
            count = read_into(offset, view)
        except OSError as exc:
            if bad is None:
                raise
            bad.append((offset, want, one_line(exc)[:300]))
            view[:] = bytes(want)
            count = want
        if not count:
            break
        yield view[:count]
        offset += count
        if progress is not None:
            progress(count)


def sha256_file(path: str | os.PathLike[str], chunk: int = CHUNK) -> tuple[str, int]:
    """(SHA-256, size) of a file, read in chunks (never whole into memory)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while True:
            data = fh.read(chunk)
            if not data:
                break
            h.update(data)
            size += len(data)
    return h.hexdigest(), size
