"""The pass serving streams whose runs do not simply follow each other on the media: runs out of order (a
fragmented NTFS file whose second half lies before its first), and a big stream reached while another big one
is being read from the pass. Each is served from the one read (spooled to a file as the pass goes by its runs),
with its bytes in stream order, and nothing is read from the media a second time."""
from __future__ import annotations

import random
from pathlib import Path

from devicex.entries import Entry
from pipelines.onepass import BLOCK, GATHER_LIMIT, MediaPass, Planned


class _Media:
    """Media bytes in memory, counting what is read."""

    def __init__(self, data: bytes) -> None:
        self.data, self.size, self.read_bytes = data, len(data), 0

    def read(self, offset: int, size: int) -> bytes:
        piece = self.data[offset:offset + size]
        self.read_bytes += len(piece)
        return piece

    def read_into(self, offset: int, view: memoryview) -> int:
        piece = self.read(offset, len(view))
        view[:len(piece)] = piece
        return len(piece)


def _planned(seq: int, runs: list[tuple[int, int]]) -> Planned:
    size = sum(length for _, length in runs)
    entry = Entry(source="t", volume="whole", fs_offset=0, fs_type="ntfs", inode=seq, attr_type=None, attr_id=None,
                  stream=None, path=f"/f{seq}", name=f"f{seq}", name_raw=f"f{seq}".encode(), kind="file",
                  size=size, alloc="allocated", realloc=False, meta_seq=None, mtime=None, atime=None, ctime=None,
                  crtime=None)
    return Planned(seq, entry, seq, None, None, runs, None)


def _stream(data: bytes, runs: list[tuple[int, int]]) -> bytes:
    return b"".join(data[off:off + length] for off, length in runs)


def test_out_of_order_and_overlapped_streams_come_from_the_one_read(tmp_path: Path) -> None:
    data = random.Random(3).randbytes(12 * BLOCK)
    media = _Media(data)
    small = _planned(1, [(5 * BLOCK + 100, 3000), (BLOCK + 7, 5000)])  # second half first on the media
    big_a = _planned(2, [(2 * BLOCK, GATHER_LIMIT // 2), (8 * BLOCK, GATHER_LIMIT // 2 + 10)])  # a gap...
    big_b = _planned(3, [(2 * BLOCK + GATHER_LIMIT // 2 + 50, GATHER_LIMIT + 1)])  # ...that holds another
    plan = sorted([small, big_a, big_b], key=lambda p: p.start)
    gathered: dict[int, bytes] = {}
    media_pass = MediaPass(media, iter(plan), lambda item, b: gathered.__setitem__(item.seq, b or b""), tmp_path)
    spooled: dict[int, bytes] = {}
    big_read: bytes | None = None
    try:
        while media_pass.advance() or media_pass.big or media_pass.spooled:
            while media_pass.spooled:
                item, path = media_pass.spooled.popleft()
                spooled[item.seq] = path.read_bytes()
                path.unlink()
            while media_pass.big:  # read from the pass in stream order, as Dispatcher.inline does
                item = media_pass.big.popleft()
                media_pass.busy = True
                big_read = b"".join(media_pass.take(off, length) or b"!" for off, length in item.runs)
                media_pass.busy = False
    finally:
        media_pass.hasher.close()
    assert not media_pass.missed
    assert gathered == {1: _stream(data, small.runs)}
    assert big_read == _stream(data, big_a.runs)
    assert spooled == {3: _stream(data, big_b.runs)}  # reached while big_a was read: spooled, not passed by
    assert media.read_bytes == len(data)  # the media once
    assert not list(tmp_path.iterdir())
