"""The walk's block cache: the same bytes as the media, each block read from the media once while held, the
count of media reads honest (what is served from memory is not counted), memory bounded."""
from __future__ import annotations

import os
import random
from pathlib import Path

from devicex.sources.base import MediaReads
from devicex.sources.blockcache import BLOCK, BYPASS, BlockCache
from devicex.sources.image import open_image


def _media(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    data = random.Random(5).randbytes(size)
    path = tmp_path / "media.raw"
    path.write_bytes(data)
    return path, data


class _Media:
    """The media file read as the cache's reader does, every read recorded as (offset, bytes returned)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self.reads: list[tuple[int, int]] = []

    def read(self, offset: int, length: int) -> bytes:
        got = os.pread(self._fd, length, offset)
        self.reads.append((offset, len(got)))
        return got

    def no_byte_read_twice(self) -> bool:
        ranges = sorted(self.reads)
        return all(a[0] + a[1] <= b[0] for a, b in zip(ranges, ranges[1:], strict=False))

    def close(self) -> None:
        os.close(self._fd)


def test_cached_reads_equal_the_media_and_each_block_is_read_once(tmp_path: Path) -> None:
    size = 64 * BLOCK + 1000  # a partial last block, never held
    path, data = _media(tmp_path, size)
    media = _Media(path)
    cache = BlockCache(media.read, size, capacity=size)
    rng = random.Random(9)
    try:
        for _ in range(2000):
            offset = rng.randrange(size)
            length = rng.choice((1, 512, 1024, 4096, 65536))
            assert cache.read(offset, length) == data[offset:offset + length]
    finally:
        cache.close()
        media.close()
    reads = media.reads
    blocks = [b for off, n in reads if off + n <= 64 * BLOCK for b in range(off // BLOCK, (off + n) // BLOCK)]
    assert len(blocks) == len(set(blocks))  # no held block read twice
    assert all(off % BLOCK == 0 and n % BLOCK == 0 for off, n in reads if off + n <= 64 * BLOCK)


def test_capacity_bounds_what_is_held_and_big_reads_go_straight_to_the_media(tmp_path: Path) -> None:
    size = BYPASS * 3
    path, data = _media(tmp_path, size)
    media = _Media(path)
    reads = media.reads
    cache = BlockCache(media.read, size, capacity=8 * BLOCK)
    try:
        for offset in range(0, 16 * BLOCK, BLOCK):  # 16 blocks through a cache of 8
            cache.read(offset, 100)
        assert len(cache._where) == 8
        reads.clear()
        cache.read(0, 100)  # evicted: read again
        assert reads == [(0, BLOCK)]
        reads.clear()
        assert cache.read(BLOCK, BYPASS) == data[BLOCK:BLOCK + BYPASS]
        assert reads == [(BLOCK, BYPASS)]
    finally:
        cache.close()
        media.close()


def test_image_counts_only_media_reads_while_blocks_are_held(tmp_path: Path) -> None:
    path, data = _media(tmp_path, 256 * BLOCK)
    src = open_image(path, data[:512])
    try:
        src.hold_blocks(1 << 20)
        before = MediaReads.total()
        for _ in range(10):
            assert src.img.read(100, 65536) == data[100:100 + 65536]
        assert MediaReads.total() - before == 17 * BLOCK  # the 17 blocks holding bytes 100..65635, once
        src.release_blocks()
        before = MediaReads.total()
        assert src.img.read(100, 65536) == data[100:100 + 65536]
        assert MediaReads.total() - before == 65536
    finally:
        src.close()


def test_the_pass_takes_the_held_blocks_instead_of_reading_them_again(tmp_path: Path) -> None:
    size = 3 * BYPASS + 5000
    path, data = _media(tmp_path, size)
    media = _Media(path)
    reads = media.reads
    cache = BlockCache(media.read, size, capacity=1 << 20)
    try:
        for offset in (100, BYPASS + 3 * BLOCK + 1, 2 * BYPASS - 10):  # metadata read by the walk
            assert cache.read(offset, 9000) == data[offset:offset + 9000]
        held = set(cache._where)
        cache.drain()
        walked = sum(n for _, n in reads)
        out = b"".join(cache.read(pos, BYPASS) for pos in range(0, size, BYPASS))  # the pass
        assert out == data
        assert sum(n for _, n in reads) - walked == size - len(held) * BLOCK  # held blocks not read again
        assert media.no_byte_read_twice()
        assert not cache._where  # let go as the pass went by
        assert cache.read(100, 50) == data[100:150]  # afterwards: from the media, nothing held anew
        assert not cache._where
    finally:
        cache.close()
        media.close()


def test_the_pass_over_scattered_held_blocks_gives_the_media_bytes(tmp_path: Path) -> None:
    """Held blocks scattered, in runs and alone, in slots out of order; pass reads not aligned to blocks, the
    last one past the media's end: the media's bytes, no byte read twice from the media, each block taken from
    memory let go."""
    size = 2 * BYPASS + 3 * BLOCK + 123
    path, data = _media(tmp_path, size)
    media = _Media(path)
    reads = media.reads
    rng = random.Random(3)
    cache = BlockCache(media.read, size, capacity=1 << 20)
    try:
        for _ in range(60):  # metadata read by the walk, in no order
            offset, length = rng.randrange(size - 3 * BLOCK), rng.randint(1, 3 * BLOCK)
            assert cache.read(offset, length) == data[offset:offset + length]
        held = set(cache._where)
        assert len(held) > 20
        cache.drain()
        reads.clear()
        out = bytearray()
        pos = 0
        for length in (BYPASS + 777, BYPASS + 5000, 2 * BYPASS):  # the last one past the end
            view = memoryview(bytearray(length))
            count = cache.read_into(pos, view)
            out += view[:count]
            pos += count
        assert bytes(out) == data
        assert media.no_byte_read_twice()
        assert sum(n for _, n in reads) == size - len(held) * BLOCK  # the held blocks not read again
        assert not cache._where  # let go as the pass went by
    finally:
        cache.close()
        media.close()


def test_a_read_over_blocks_held_in_scattered_slots_equals_one_over_consecutive_slots(tmp_path: Path) -> None:
    size = 32 * BLOCK
    path, data = _media(tmp_path, size)
    media = _Media(path)
    cache = BlockCache(media.read, size, capacity=size)
    try:
        assert cache.read(3 * BLOCK + 7, 10) == data[3 * BLOCK + 7:3 * BLOCK + 17]  # block 3 held first
        assert cache.read(1 * BLOCK, 1) == data[BLOCK:BLOCK + 1]  # then block 1
        slots = [cache._where[block] for block in (1, 3)]
        assert slots == [1, 0]  # out of order: a read over blocks 0 to 4 takes them from scattered slots
        assert cache.read(100, 4 * BLOCK + 50) == data[100:4 * BLOCK + 150]
        assert cache.read(10 * BLOCK + 5, 3 * BLOCK) == data[10 * BLOCK + 5:13 * BLOCK + 5]  # read together
        assert [cache._where[block] for block in range(10, 14)] == list(range(5, 9))  # held side by side
        assert cache.read(10 * BLOCK + 5, 3 * BLOCK) == data[10 * BLOCK + 5:13 * BLOCK + 5]
        assert cache.read(0, 5 * BLOCK) == data[:5 * BLOCK]
    finally:
        cache.close()
        media.close()
    assert media.no_byte_read_twice()
