"""Staged exports: written sparse (aligned all-zero blocks left as holes), with the same bytes as the stream."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from devicex.hashing import Digests
from pipelines.exportfile import HOLE, create, place, write_sparse


def _export(path: Path, chunks: list[bytes]) -> None:
    fd = create(str(path))
    try:
        at, at_end = 0, True
        for chunk in chunks:
            at_end = write_sparse(fd, chunk, at)
            at += len(chunk)
        if not at_end:  # as the export is finished: a trailing hole only counts once the length is set
            os.ftruncate(fd, at)
    finally:
        os.close(fd)


def _data_runs(path: Path) -> list[tuple[int, int]]:
    """The (start, end) of the file's data, between its holes (SEEK_DATA / SEEK_HOLE)."""
    runs, at = [], 0
    size = path.stat().st_size
    with open(path, "rb") as fh:
        while at < size:
            try:
                start = os.lseek(fh.fileno(), at, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole up to the end
                break
            end = os.lseek(fh.fileno(), start, os.SEEK_HOLE)
            runs.append((start, end))
            at = end
    return runs


def test_zero_blocks_become_holes_and_the_bytes_are_the_same(tmp_path: Path) -> None:
    page = 4096
    chunks = [b"x" * HOLE + bytes(2 * HOLE) + b"y" * HOLE,  # data, two zero blocks, data
              bytes(HOLE) + b"z" * HOLE + bytes(HOLE),  # blocks counted from each chunk's own start
              b"w" * (HOLE + page),  # a whole block and a part of one
              bytes(page)]  # zeros, but not a whole block: written
    path = tmp_path / "part"
    _export(path, chunks)
    assert path.read_bytes() == b"".join(chunks)
    assert _data_runs(path) == [(0, HOLE), (3 * HOLE, 4 * HOLE), (5 * HOLE, 6 * HOLE), (7 * HOLE, 8 * HOLE + 2 * page)]


def test_a_stream_of_zeros_only_is_all_hole_and_a_small_one_is_written(tmp_path: Path) -> None:
    zeros, small = tmp_path / "zeros", tmp_path / "small"
    fd = create(str(tmp_path / "ends"))
    try:  # whether the file reaches the end of what was written, or must be given its length
        assert write_sparse(fd, b"a" * 10, 0) and write_sparse(fd, b"b" * HOLE + bytes(HOLE), 10) is False
        assert os.fstat(fd).st_size == HOLE + 10  # (the hole is not part of the file yet)
        assert write_sparse(fd, bytes(HOLE) + b"c", 2 * HOLE + 10) and os.fstat(fd).st_size == 3 * HOLE + 11
    finally:
        os.close(fd)
    _export(zeros, [bytes(4 * HOLE)])
    _export(small, [b"a" + bytes(99)])
    assert zeros.read_bytes() == bytes(4 * HOLE) and _data_runs(zeros) == []
    assert small.read_bytes() == b"a" + bytes(99) and _data_runs(small) == [(0, 100)]


def test_an_export_never_overwrites_a_file(tmp_path: Path) -> None:
    def staged(data: bytes) -> tuple[str, Digests]:
        tmp = tmp_path / f"staged-{len(list(tmp_path.iterdir()))}.part"
        tmp.write_bytes(data)
        return str(tmp), Digests(*(hashlib.new(n, data).hexdigest() for n in ("md5", "sha1", "sha256")), len(data))

    target = str(tmp_path / "photo.jpg")
    tmp, digests = staged(b"first")
    assert place(tmp, target, digests) == (target, False) and not os.path.exists(tmp)
    tmp, digests = staged(b"first")  # the same content again: kept as it is, reported as reused
    assert place(tmp, target, digests) == (target, True) and not os.path.exists(tmp)
    tmp, digests = staged(b"other")  # different content: written beside it
    beside = str(tmp_path / "photo~v2.jpg")
    assert place(tmp, target, digests) == (beside, False)
    assert Path(target).read_bytes() == b"first" and Path(beside).read_bytes() == b"other"
