"""A full disk and a read-only OUT (real file systems: small tmpfs mounts): one line, exit 6, the run closed
as failed, and a later run into a writable OUT closes whatever could not be closed."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from devicex.custody import check_chain
from tests.conftest import IMAGES, REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _extract(image: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(check=False, args=[sys.executable, "-m", "devicex", "extract", str(image), "-o", str(out), "-q",
                           "--full-extraction-reason", "test"], cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture()
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 400 KiB tmpfs: room for the case database, not for the NTFS fixture's exports (2.6 MiB)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(check=False, args=["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)], capture_output=True,
                          text=True)
    assert done.returncode == 0, f"these tests need root to mount a tmpfs: {done.stderr.strip()}"
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_disk_full_is_one_line_exit_6_and_the_run_is_closed_as_failed(small_fs: Path) -> None:
    out = small_fs / "out"
    done = _extract(IMAGES / "ntfs.img", out)
    assert done.returncode == 6
    line = _one_error_line(done.stderr)
    assert line.startswith(f"error: {out}: output cannot be written: ") and "disk full" in line
    assert not (out / "data" / ".staging").exists() or not any((out / "data" / ".staging").rglob("*.part"))
    with closing(sqlite3.connect(out / "data" / "case.db")) as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("failed",)]
        assert db.execute("SELECT COUNT(*) FROM errors WHERE stage = 'output'").fetchone()[0] == 1
    report = check_chain((out / "custody.jsonl").read_bytes())
    assert report.ok, report.issues
    last = report.entries[-1].entry
    assert last["action"] == "extraction-failed" and last["result"] == "output-unwritable"

    moved = small_fs.parent / "moved"  # the examiner moves the case to a bigger disk and runs again
    shutil.copytree(out, moved)
    again = _extract(IMAGES / "ntfs.img", moved)
    assert again.returncode == 0, again.stderr
    with closing(sqlite3.connect(moved / "data" / "case.db")) as db:
        assert db.execute("SELECT status FROM runs ORDER BY id").fetchall() == [("failed",), ("completed",)]
        # the failed run ended before its pass over the media was done: no hash claimed, nothing to re-verify
        assert db.execute("SELECT verified, sha256 IS NULL FROM sources ORDER BY id").fetchall() == [
            ("not-run", 1), ("match", 0)]


def test_read_only_out_is_one_line_exit_6(small_fs: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    out = small_fs / "out"
    done = _extract(IMAGES / "fat16.img", out)
    assert done.returncode == 6
    assert "read-only" in _one_error_line(done.stderr)


def test_an_existing_case_on_a_now_read_only_file_system_is_one_line_exit_6(small_fs: Path) -> None:
    out = small_fs / "out"
    assert _extract(IMAGES / "mbr2.img", out).returncode == 0
    before = (out / "custody.jsonl").read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    done = _extract(IMAGES / "mbr2.img", out)
    assert done.returncode == 6
    assert "read-only" in _one_error_line(done.stderr)
    assert (out / "custody.jsonl").read_bytes() == before
