"""The shared ring handing streams' bytes to the worker processes (pipelines.handoff)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from devicex.entries import Entry
from pipelines.handoff import Ring, SharedContent
from pipelines.parallel import BATCH_BYTES, ProcessRunner
from pipelines.process import WorkerSettings
from pipelines.select import FullSelector


def test_put_until_full_then_room_once_released() -> None:
    ring = Ring(64)
    try:
        first = ring.put(b"a" * 20)
        mark = ring.head
        second = ring.put(b"b" * 20)
        assert first == (0, 20) and second == (20, 20)
        third = ring.put(b"c" * 20)
        assert third == (40, 20)
        assert ring.put(b"d" * 20) is None  # 4 bytes left at the end: the stream would wrap, and 0.. is in use
        ring.release(mark)  # the first batch came back
        assert ring.put(b"d" * 20) == (0, 20)  # the end is skipped: a stream never wraps
        assert bytes(ring.view[0:20]) == b"d" * 20 and bytes(ring.view[40:60]) == b"c" * 20
        assert ring.put(b"e") is None  # 20..60 still in use, 60..64 skipped
    finally:
        ring.close()


def test_half_the_ring_always_fits_once_empty() -> None:
    ring = Ring(64)
    try:
        assert ring.fits(32) and not ring.fits(33) and not ring.fits(0)
        for size in (7, 32, 13, 32, 1, 32):
            where = ring.put(b"x" * size)
            assert where is not None
            ring.release(ring.head)
    finally:
        ring.close()


def test_a_forked_process_reads_what_the_parent_wrote_after_the_fork() -> None:
    ring = Ring(4096)
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: waits for the parent's word, then reports what it sees in the ring
            os.close(write_end)
            place, size = (int(x) for x in os.read(read_end, 64).split())
            status = 0 if bytes(SharedContent(ring.view[place:place + size]).view(0, size)) == b"evidence" else 3
            os._exit(status)
        os.close(read_end)
        where = ring.put(b"evidence")
        assert where is not None
        os.write(write_end, f"{where[0]} {where[1]}".encode())
        os.close(write_end)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        ring.close()


def test_shared_content_views_in_place_and_reads_copies() -> None:
    ring = Ring(64)
    try:
        where = ring.put(b"0123456789")
        assert where is not None
        content = SharedContent(ring.view[where[0]:where[0] + where[1]])
        view = content.view(2, 4)
        assert isinstance(view, memoryview) and bytes(view) == b"2345"
        copy = content.read(8, 100)
        assert isinstance(copy, bytes) and copy == b"89"
        view.release()
        del content
    finally:
        ring.close()


@pytest.mark.parametrize("size", [1, 31, 32])
def test_streams_up_to_half_go_through_in_order(size: int) -> None:
    ring = Ring(64)
    try:
        marks = []
        for n in range(20):
            data = bytes([n]) * size
            while (where := ring.put(data)) is None:
                ring.release(marks.pop(0))
            assert bytes(ring.view[where[0]:where[0] + size]) == data
            marks.append(ring.head)
    finally:
        ring.close()


def _stream_entry(n: int, size: int) -> Entry:
    return Entry(source="ext4.img", volume="whole", fs_offset=0, fs_type="ext4", inode=n, attr_type=None,
                 attr_id=None, stream=None, path=f"/s{n}", name=f"s{n}", name_raw=f"s{n}".encode(), kind="file",
                 size=size, alloc="allocated", realloc=False, meta_seq=None, mtime=None, atime=None, ctime=None,
                 crtime=None)


def test_the_batch_before_a_big_stream_gives_back_none_of_its_ring_space(tmp_path: Path) -> None:
    """A big stream goes alone in its batch; the batch sent before it must not give back the ring space the
    big stream's bytes lie in when it returns (a later stream would overwrite them while a worker reads
    them: a wrong hash and export)."""
    settings = WorkerSettings(data_dir=tmp_path, export=False, parse=False, selector=FullSelector(),
                              known_sparse=lambda entry: False)
    runner = ProcessRunner(2, Path("fixtures/images/ext4.img"), settings)
    streams = [os.urandom(1000), os.urandom(BATCH_BYTES), os.urandom(3000)]
    try:
        results = runner.submit_bytes(_stream_entry(1, len(streams[0])), streams[0], 1, None, None)
        before_big = runner._ring.head
        results += runner.submit_bytes(_stream_entry(2, len(streams[1])), streams[1], 2, None, None)
        assert runner._window[0][2] == before_big  # the small stream's batch, sent before the big one went in
        results += runner.submit_bytes(_stream_entry(3, len(streams[2])), streams[2], 3, None, None)
        results += list(runner.drain())
    finally:
        runner.close()
    assert [r.file_id for r in results] == [1, 2, 3]
    assert [r.digests.sha256 if r.digests else None for r in results] == [
        hashlib.sha256(data).hexdigest() for data in streams]
