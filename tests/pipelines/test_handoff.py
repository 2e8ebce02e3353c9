"""The shared ring handing streams' bytes to the worker processes (pipelines.handoff)."""
from __future__ import annotations

import os

import pytest

from pipelines.handoff import Ring, SharedContent


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
