"""Handing streams' bytes to the worker processes through shared memory instead of a pipe.

A stream already in memory (gathered by the one read, or a streamed archive member) used to travel to its
worker pickled inside the batch: copied into the pickle, through the pipe twice (kernel copies), into the
worker's read buffer and into a new bytes object there. Here the parent copies it once into a ring of shared
memory mapped before the workers are forked (they inherit the mapping), and the batch carries only where it
lies; the worker hashes, exports and types it from that memory in place. Batches come back in the order they
were sent, so the ring's space is given back in the order it was taken (:meth:`Ring.release` with the mark the
batch got when it was sent).
"""
from __future__ import annotations

import mmap

RING_BYTES = 16 << 20  # shared memory for streams in flight to the workers (2 MiB batches, up to 6 in flight)


class Ring:
    """A ring of shared memory: space taken in order with :meth:`put` and given back in the same order."""

    def __init__(self, size: int = RING_BYTES) -> None:
        self.size = size
        self._mem = mmap.mmap(-1, size)  # anonymous and shared: a forked worker sees what the parent writes
        self.view = memoryview(self._mem)
        self.head = 0  # bytes taken so far (positions only grow: the place in the ring is position % size)
        self.tail = 0  # ... and given back so far

    def fits(self, size: int) -> bool:
        """True if a stream of ``size`` bytes goes through the ring (half of it at most: it always has room
        once the ring is empty)."""
        return 0 < size <= self.size // 2

    def put(self, data: bytes | bytearray | memoryview) -> tuple[int, int] | None:
        """Copy ``data`` in; (place, length) in the ring, or None if there is no room until space is given
        back. A stream never wraps round the end: the space left there is skipped."""
        size = len(data)
        start = self.head % self.size
        skip = self.size - start if start + size > self.size else 0
        if self.head + skip + size - self.tail > self.size:
            return None
        place = 0 if skip else start
        self.view[place:place + size] = data
        self.head += skip + size
        return place, size

    def release(self, mark: int) -> None:
        """Give back everything taken before ``mark`` (a value of :attr:`head`)."""
        self.tail = max(self.tail, mark)

    def close(self) -> None:
        self.view.release()
        self._mem.close()


class SharedContent:
    """A stream lying in the ring, read by a worker: :meth:`view` gives its bytes in place (hashing and the
    export need no copy), :meth:`read` a copy (as every other reader)."""

    __slots__ = ("_view",)

    def __init__(self, view: memoryview) -> None:
        self._view = view

    def view(self, offset: int, size: int) -> memoryview:
        return self._view[offset:offset + size]

    def read(self, offset: int, size: int) -> bytes:
        return bytes(self._view[offset:offset + size])
