"""Hashing against coreutils (md5sum, sha1sum, sha256sum) as the independent truth:
the one-thread and the two-helper-thread paths, zero-filled unreadable ranges, short sources."""
from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from devicex.hashing import (
    PARALLEL_MIN,
    MultiHasher,
    ParallelHasher,
    hash_reader,
    sha256_file,
    sha256_reader,
)


def _coreutils(path: Path) -> tuple[str, str, str]:
    return tuple(  # type: ignore[return-value]
        subprocess.run([tool, str(path)], capture_output=True, text=True, check=True).stdout.split()[0]
        for tool in ("md5sum", "sha1sum", "sha256sum"))


def _reader(data: bytes, fail_at: set[int] | None = None) -> Callable[[int, memoryview], int]:
    def read_into(offset: int, view: memoryview) -> int:
        if fail_at and offset in fail_at:
            view[:4] = b"junk"  # a read that fails part way: the chunk is still hashed as zeros
            raise OSError(5, "Input/output error")
        piece = data[offset:offset + len(view)]
        view[:len(piece)] = piece
        return len(piece)
    return read_into


@pytest.mark.parametrize("size", [0, 1, 1 << 20, PARALLEL_MIN + 12345])
def test_hash_reader_equals_coreutils(size: int, tmp_path: Path) -> None:
    data = os.urandom(size)
    path = tmp_path / "blob"
    path.write_bytes(data)
    got = hash_reader(_reader(data), size, chunk=4 << 20)
    assert (got.md5, got.sha1, got.sha256) == _coreutils(path)
    assert got.size == size
    assert sha256_file(path) == (got.sha256, size)


def test_parallel_and_single_thread_hashers_agree() -> None:
    chunks = [os.urandom(n) for n in (1, 4096, 1 << 20, 3, 777_777)]
    single, parallel = MultiHasher(), ParallelHasher(depth=2)
    for chunk in chunks:
        single.update(chunk)
        parallel.update(chunk)
    assert parallel.digests() == single.digests()
    assert not any(t.is_alive() for t in parallel._threads)  # digests() stops the helper threads


@pytest.mark.parametrize("size", [0, 1, 70_000])
def test_a_hasher_fed_at_its_making_equals_coreutils(size: int, tmp_path: Path) -> None:
    data = os.urandom(size)
    path = tmp_path / "blob"
    path.write_bytes(data)
    for first in (data, bytearray(data), memoryview(data)):
        fed = MultiHasher(first)
        fed.update(b"")
        got = fed.digests()
        assert (got.md5, got.sha1, got.sha256, got.size) == (*_coreutils(path), size)
    then = MultiHasher(data[:5])
    then.update(data[5:])
    assert then.digests() == MultiHasher(data).digests()


def test_unreadable_ranges_are_hashed_as_zeros_and_listed(tmp_path: Path) -> None:
    chunk = 1 << 20
    data = os.urandom(PARALLEL_MIN + 3 * chunk)
    bad: list[tuple[int, int, str]] = []
    got = hash_reader(_reader(data, {chunk, 5 * chunk}), len(data), chunk=chunk, bad=bad)
    expected = bytearray(data)
    expected[chunk:2 * chunk] = bytes(chunk)
    expected[5 * chunk:6 * chunk] = bytes(chunk)
    path = tmp_path / "as-dd-noerror-sync"
    path.write_bytes(expected)
    assert (got.md5, got.sha1, got.sha256) == _coreutils(path)
    assert [(o, n) for o, n, _ in bad] == [(chunk, chunk), (5 * chunk, chunk)]
    assert all("Input/output error" in why for _, _, why in bad)


def test_errors_propagate_without_a_bad_list() -> None:
    with pytest.raises(OSError):
        hash_reader(_reader(bytes(100), {0}), 100)


def test_a_source_that_runs_dry_reports_the_smaller_size(tmp_path: Path) -> None:
    data = os.urandom(5000)
    got = hash_reader(_reader(data), 9000, chunk=1024)
    path = tmp_path / "short"
    path.write_bytes(data)
    assert got.size == 5000 and (got.md5, got.sha1, got.sha256) == _coreutils(path)


@pytest.mark.parametrize("size", [1 << 20, PARALLEL_MIN + 12345])
def test_sha256_reader_equals_coreutils(size: int, tmp_path: Path) -> None:
    """Below PARALLEL_MIN on the caller's thread, above it on a helper thread beside the reads."""
    data = os.urandom(size)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_reader(_reader(data), size, chunk=4 << 20) == (_coreutils(path)[2], size)


def test_sha256_reader_hashes_unreadable_chunks_as_zeros_as_the_intake_does() -> None:
    chunk = 1 << 20
    data = os.urandom(PARALLEL_MIN + 3 * chunk)
    failing = {chunk, 7 * chunk}
    digest, size = sha256_reader(_reader(data, failing), len(data), chunk=chunk)
    intake = hash_reader(_reader(data, failing), len(data), chunk=chunk, bad=[])
    assert (digest, size) == (intake.sha256, intake.size)
    assert digest != hash_reader(_reader(data), len(data), chunk=chunk).sha256


def test_an_error_that_stops_the_sha256_read_stops_its_helper_thread() -> None:
    class Stop(Exception):
        pass

    def read_into(offset: int, view: memoryview) -> int:
        if offset >= 8 << 20:
            raise Stop
        view[:] = bytes(len(view))
        return len(view)

    before = set(threading.enumerate())
    with pytest.raises(Stop):
        sha256_reader(read_into, PARALLEL_MIN, chunk=1 << 20)
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]
