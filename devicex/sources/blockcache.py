"""A bounded cache of media blocks for the walk of a disk image's metadata.

TSK reads the image through its own small cache (32 pieces of 64 KiB, each starting at the sector of the
byte it wants): a 1 KiB MFT record or a 4 KiB index block costs a 64 KiB read, and the walk, which visits MFT
records in name order rather than in record order, reads the same bytes again and again (on the NTFS bench
image, 313 MiB read for 59 MiB of distinct 4 KiB blocks). :class:`BlockCache` keeps the blocks it has read
(aligned, ``BLOCK`` bytes each, least recently used dropped first, ``capacity`` bytes at most, in one anonymous
mapping returned to the system when the cache is closed), so a byte is read from the media once while it is
held. Once the walk is done (:meth:`BlockCache.drain`), the sequential pass over the media takes the blocks
still held from memory instead of reading them again, and lets each go as it goes by. Only what is read from
the media is counted (:class:`~devicex.sources.base.MediaReads`, by the reader given); bytes served from the
cache are not. Big reads are never kept.
"""
from __future__ import annotations

import bisect
import mmap
import threading
from collections import OrderedDict
from collections.abc import Callable

import pytsk3

BLOCK = 4096
BYPASS = 1 << 20  # reads this big or bigger are not cached


class BlockCache:
    """Reads of ``read_media`` (offset, size) -> bytes over a media of ``media_size`` bytes, through a cache of
    at most ``capacity`` bytes of aligned blocks (``read_media_into`` (offset, buffer) -> count: the same read
    into a buffer, if the media can)."""

    def __init__(self, read_media: Callable[[int, int], bytes], media_size: int, capacity: int,
                 read_media_into: Callable[[int, memoryview], int] | None = None) -> None:
        self._read_media = read_media
        self._read_media_into = read_media_into or self._copy_media_into
        self._size = media_size
        self._slots = max(1, capacity // BLOCK)
        self._buf = mmap.mmap(-1, self._slots * BLOCK, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        if hasattr(mmap, "MADV_DONTFORK"):
            self._buf.madvise(mmap.MADV_DONTFORK)  # processes forked while it is held do not get a copy
        self._view = memoryview(self._buf)  # its slices copy nothing (a read's blocks are copied once, joined)
        self._where: OrderedDict[int, int] = OrderedDict()  # block number -> slot, least recently used first
        self._free = list(range(self._slots - 1, -1, -1))
        self._lock = threading.Lock()
        self._draining = False
        self._drained: list[int] = []  # the blocks held when the walk was done, in order

    def drain(self) -> None:
        """From now on hold no new block, and hand the blocks held to the sequential pass over the media, which
        reads them from here instead of the media and lets them go as it goes by (see :meth:`_pass_read`)."""
        with self._lock:
            self._draining = True
            self._drained = sorted(self._where)

    def read(self, offset: int, size: int) -> bytes:
        if size <= 0 or offset < 0:
            return self._read_media(offset, size)
        if size >= BYPASS:
            return self._pass_read(offset, size) if self._draining else self._read_media(offset, size)
        end = min(offset + size, self._size)
        if end <= offset:
            return b""
        first, last = offset // BLOCK, (end - 1) // BLOCK
        with self._lock:
            if self._draining and not all(b in self._where for b in range(first, last + 1)):
                return self._read_media(offset, size)
            if not self._fill(first, last):
                return self._read_media(offset, size)  # a short or failed read: as the media gives it
            # (_fill has made them the most recently used, in this order)
            return self._held_bytes(offset, end, first, last)

    def _held_bytes(self, offset: int, end: int, first: int, last: int) -> bytes:
        """The bytes from ``offset`` to ``end`` of the held blocks ``first`` to ``last``: one copy of them, out of
        consecutive slots at once (as a run of blocks read together is stored)."""
        where, view = self._where, self._view
        slots = [where[block] for block in range(first, last + 1)]
        base = slots[0] * BLOCK - first * BLOCK
        if slots[-1] - slots[0] == last - first and slots == list(range(slots[0], slots[-1] + 1)):
            return bytes(view[base + offset:base + end])
        pieces = [view[slot * BLOCK:(slot + 1) * BLOCK] for slot in slots]
        pieces[-1] = pieces[-1][:end - last * BLOCK]  # (first, then last: the same piece when first == last)
        pieces[0] = pieces[0][offset - first * BLOCK:]
        return b"".join(pieces)

    def _fill(self, first: int, last: int) -> bool:
        """Read the blocks from ``first`` to ``last`` that are not held, in runs of consecutive missing blocks;
        False if one of them cannot be held (past the last whole block of the media, or read short)."""
        if last - first + 1 > self._slots or (last + 1) * BLOCK > self._size:
            return False
        block, where = first, self._where
        while block <= last:
            try:
                where.move_to_end(block)  # held: now the most recently used
                block += 1
                continue
            except KeyError:
                pass
            run = block
            while run <= last and run not in self._where:
                run += 1
            data = self._read_media(block * BLOCK, (run - block) * BLOCK)
            if len(data) != (run - block) * BLOCK:
                return False
            for i in range(run - block):
                self._store(block + i, data[i * BLOCK:(i + 1) * BLOCK])
            block = run
        return True

    def _store(self, block: int, data: bytes) -> None:
        if self._free:
            slot = self._free.pop()
        else:
            _, slot = self._where.popitem(last=False)
        self._buf[slot * BLOCK:(slot + 1) * BLOCK] = data
        self._where[block] = slot

    def read_into(self, offset: int, view: memoryview) -> int:
        """:meth:`read` into ``view`` (the pass's reused buffers: no new memory per read); the count read."""
        size = len(view)
        if size >= BYPASS and offset >= 0:
            if self._draining:
                return self._pass_read_into(offset, view)
            return self._read_media_into(offset, view)
        data = self.read(offset, size)
        view[:len(data)] = data
        return len(data)

    def _copy_media_into(self, offset: int, view: memoryview) -> int:
        data = self._read_media(offset, len(view))
        view[:len(data)] = data
        return len(data)

    def _pass_read(self, offset: int, size: int) -> bytes:
        """A big read (the pass, or a stream read per entry): see :meth:`_pass_read_into`."""
        with self._lock:
            end = min(offset + size, self._size)
            if not self._held(offset, end):
                return self._read_media(offset, size)  # nothing held here: no copy
        buf = bytearray(max(0, end - offset))
        count = self._pass_read_into(offset, memoryview(buf))
        del buf[count:]
        return bytes(buf)

    def _pass_read_into(self, offset: int, view: memoryview) -> int:
        """A big read into ``view``: held blocks from memory (a run of consecutive blocks in consecutive slots
        copied at once), the bytes between them from the media; the held blocks it covers are let go (the pass
        does not come back). The count read (short where the media ends or reads short)."""
        end = min(offset + len(view), self._size)
        with self._lock:
            held = self._held_blocks(offset, end)
            if not held:
                return self._read_media_into(offset, view)  # nothing held here: straight from the media
            where, buf = self._where, self._view
            pos, i = offset, 0
            while i < len(held):
                first = held[i]
                slot, j = where[first], i + 1
                while j < len(held) and held[j] == first + j - i and where[held[j]] == slot + j - i:
                    j += 1
                lo = first * BLOCK
                if pos < lo:  # the bytes before the run, from the media
                    pos += self._read_media_into(pos, view[pos - offset:lo - offset])
                    if pos < lo:
                        break  # the media ends (or reads short) here: as the media gives it
                hi = min(end, (first + j - i) * BLOCK)
                at = slot * BLOCK - lo
                view[pos - offset:hi - offset] = buf[at + pos:at + hi]
                pos, i = hi, j
            else:
                if pos < end:
                    pos += self._read_media_into(pos, view[pos - offset:end - offset])
            self._let_go_all([b for b in held if b < pos // BLOCK])
        return pos - offset

    def _held(self, offset: int, end: int) -> bool:
        """True if a block of the bytes from ``offset`` to ``end`` is held (once draining)."""
        return bool(self._held_blocks(offset, end))

    def _held_blocks(self, offset: int, end: int) -> list[int]:
        """The blocks held among those of the bytes from ``offset`` to ``end`` (once draining: no block is held
        anew, so they are among those held when the walk was done)."""
        where, drained = self._where, self._drained
        if not where or end <= offset:
            return []
        lo = bisect.bisect_left(drained, offset // BLOCK)
        hi = bisect.bisect_right(drained, (end - 1) // BLOCK)
        return [b for b in drained[lo:hi] if b in where]

    def _let_go_all(self, blocks: list[int]) -> None:
        """Let the held ``blocks`` go, their memory given back to the system a run of consecutive slots at once."""
        slots = sorted(slot for slot in map(self._where.pop, blocks) if slot is not None)
        self._free.extend(slots)
        if not hasattr(mmap, "MADV_DONTNEED"):
            return
        i = 0
        while i < len(slots):
            j = i + 1
            while j < len(slots) and slots[j] == slots[i] + j - i:
                j += 1
            self._buf.madvise(mmap.MADV_DONTNEED, slots[i] * BLOCK, (j - i) * BLOCK)  # back to the system
            i = j

    def close(self) -> None:
        with self._lock:
            self._where.clear()
            self._free = []
            self._view.release()
            self._buf.close()


class MediaImg(pytsk3.Img_Info):  # type: ignore[misc]
    """A pytsk3 image whose subclass reads the media (``read_media``, counting what it reads); TSK's reads go
    through a :class:`BlockCache` while one is held (:meth:`hold_blocks`)."""

    _cache: BlockCache | None = None

    def read(self, offset: int, size: int) -> bytes:
        cache = self._cache
        if cache is not None:
            return cache.read(offset, size)
        data: bytes = self.read_media(offset, size)
        return data

    def read_into(self, offset: int, view: memoryview) -> int:
        """:meth:`read` into ``view``; the count read."""
        cache = self._cache
        if cache is not None:
            return cache.read_into(offset, view)
        return self.read_media_into(offset, view)

    def read_media_into(self, offset: int, view: memoryview) -> int:
        """``read_media`` into ``view`` (a subclass that can read in place does so); the count read."""
        data: bytes = self.read_media(offset, len(view))
        view[:len(data)] = data
        return len(data)

    def hold_blocks(self, capacity: int) -> None:
        """Keep up to ``capacity`` bytes of the blocks read from now on (until :meth:`release_blocks`)."""
        self.release_blocks()
        self._cache = BlockCache(self.read_media, int(self.get_size()), capacity, self.read_media_into)

    def drain_blocks(self) -> None:
        """Hold no new block; the pass over the media takes the blocks held (see :meth:`BlockCache.drain`)."""
        if self._cache is not None:
            self._cache.drain()

    def release_blocks(self) -> None:
        cache, self._cache = self._cache, None
        if cache is not None:
            cache.close()
