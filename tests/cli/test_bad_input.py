"""Bad input through the real command line: one clear line naming the file and
the problem, no traceback, recorded in the case database, the rest still
processed, and a non-zero exit only when nothing could be read."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IMAGES, REPO

SECTOR = 512
REASON = "test: suspect device, full extraction authorised"


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devicex", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env={"COLUMNS": "100", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})


def _errors(out: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(out / "data" / "case.db")
    conn.row_factory = sqlite3.Row
    return conn.execute("SELECT * FROM errors").fetchall()


def _assert_clean_error(proc: subprocess.CompletedProcess[str], name: str, problem: str) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert lines, proc.stderr
    assert any(name in ln and problem in ln for ln in lines), proc.stderr


def _copy(name: str, tmp: Path) -> Path:
    return Path(shutil.copy(IMAGES / name, tmp / name))


def test_not_an_image(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.dd"
    bogus.write_text("this is a shopping list, not a disk image\n" * 20)
    proc = _run("extract", bogus, "-o", tmp_path / "out", "-q", "--full-extraction-reason", REASON, cwd=tmp_path)
    assert proc.returncode == 3
    _assert_clean_error(proc, "notes.dd", "no readable file system")
    assert any("Cannot determine file system type" in r["message"] for r in _errors(tmp_path / "out"))


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "seized.E01"
    empty.write_bytes(b"")
    proc = _run("extract", empty, "-o", tmp_path / "out", "-q", "--full-extraction-reason", REASON, cwd=tmp_path)
    assert proc.returncode == 3
    _assert_clean_error(proc, "seized.E01", "empty file")
    assert [r["stage"] for r in _errors(tmp_path / "out")] == ["open"]


def test_missing_split_segment(tmp_path: Path) -> None:
    for n in ("001", "003"):
        shutil.copy(IMAGES / f"split.raw.{n}", tmp_path / f"split.raw.{n}")
    proc = _run("extract", tmp_path / "split.raw.001", "-o", tmp_path / "out", "-q", "--full-extraction-reason", REASON,
                cwd=tmp_path)
    assert proc.returncode == 3
    _assert_clean_error(proc, "split.raw.001", "segment missing: split.raw.002")


def _first_block_offset(img: Path, inode: int) -> int:
    """Byte offset of an inode's first data block, from TSK's istat/fsstat."""
    stat = subprocess.run(["istat", str(img), str(inode)], capture_output=True, text=True, check=True).stdout
    block = int(stat.split("Direct Blocks:")[1].split()[0])
    fsstat = subprocess.run(["fsstat", str(img)], capture_output=True, text=True, check=True).stdout
    size = int(fsstat.split("Block Size:")[1].split()[0])
    return block * size


def test_truncated_image_keeps_going(tmp_path: Path) -> None:
    img = _copy("ext4.img", tmp_path)
    cut = _first_block_offset(img, 17)  # Documents/photo_backup.txt (fixtures/truth/ext4.img/files.o0.tsv)
    with open(img, "r+b") as fh:
        fh.truncate(cut)
    out = tmp_path / "out"
    proc = _run("extract", img, "-o", out, "-q", "--full-extraction-reason", REASON, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    conn = sqlite3.connect(out / "data" / "case.db")
    statuses = dict(conn.execute("SELECT status, COUNT(*) FROM files GROUP BY status").fetchall())
    assert statuses.get("ok", 0) >= 2  # files before the cut are still read
    damaged = statuses.get("partial", 0) + statuses.get("unreadable", 0)
    assert damaged >= 1, statuses
    errors = _errors(out)
    assert len(errors) >= damaged  # each damaged file is listed with its reason
    assert any(r["path"] == "/Documents/photo_backup.txt" and r["stage"] == "read" for r in errors)


def test_corrupt_superblock(tmp_path: Path) -> None:
    img = _copy("ext4.img", tmp_path)
    with open(img, "r+b") as fh:
        fh.seek(1024)
        fh.write(bytes(1024))
    proc = _run("extract", img, "-o", tmp_path / "out", "-q", "--full-extraction-reason", REASON, cwd=tmp_path)
    assert proc.returncode == 3
    _assert_clean_error(proc, "ext4.img", "no readable file system")


def test_one_bad_partition_does_not_stop_the_run(tmp_path: Path) -> None:
    img = _copy("mbr2.img", tmp_path)
    with open(img, "r+b") as fh:  # wipe the ext4 superblock of partition 2 (starts at sector 12288)
        fh.seek(12288 * SECTOR + 1024)
        fh.write(bytes(1024))
    out = tmp_path / "out"
    # not quiet: the warning must be shown
    proc = _run("extract", img, "-o", out, "--full-extraction-reason", REASON, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert any("offset 6291456" in ln and "no file system opened" in ln for ln in proc.stderr.splitlines())
    conn = sqlite3.connect(out / "data" / "case.db")
    assert conn.execute("SELECT COUNT(*) FROM files f JOIN filesystems s ON s.id = f.fs_id "
                        "WHERE s.offset = 2048 * 512 AND f.md5 IS NOT NULL").fetchone()[0] > 0
    bad = [r for r in _errors(out) if r["stage"] == "volume"]
    assert len(bad) == 1 and bad[0]["volume"].endswith("_o12288"), [tuple(r) for r in bad]


def test_partition_past_the_end(tmp_path: Path) -> None:
    img = _copy("mbr2.img", tmp_path)
    with open(img, "r+b") as fh:
        fh.truncate((12288 + 4096) * SECTOR)  # partition 2 is 10240 sectors long
    out = tmp_path / "out"
    proc = _run("extract", img, "-o", out, "-q", "--full-extraction-reason", REASON, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    msgs = [r["message"] for r in _errors(out)]
    assert any("runs past the end of the media" in m for m in msgs), msgs
    conn = sqlite3.connect(out / "data" / "case.db")
    assert conn.execute("SELECT COUNT(*) FROM files f JOIN filesystems s ON s.id = f.fs_id "
                        "WHERE s.offset = 2048 * 512 AND f.status = 'ok'").fetchone()[0] > 0


def test_info_and_ls(tmp_path: Path) -> None:
    proc = _run("info", IMAGES / "mbr2.img", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "dos" in proc.stdout and "fat16" in proc.stdout and "ext4" in proc.stdout
    proc = _run("ls", IMAGES / "ext4.img", cwd=tmp_path)
    assert proc.returncode == 0
    assert "r/r * " in proc.stdout and "secret-deleted.txt" in proc.stdout
    proc = _run("ls", tmp_path / "nope.dd", cwd=tmp_path)
    assert proc.returncode == 3
    _assert_clean_error(proc, "nope.dd", "no such file")


def test_help_documents_exit_codes(tmp_path: Path) -> None:
    proc = _run("--help", cwd=tmp_path)
    assert "Exit codes" in proc.stdout and "nothing could be read" in proc.stdout


def test_output_that_is_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("an existing file")
    proc = _run("extract", IMAGES / "ext4.img", "-o", out, "--full-extraction-reason", REASON, cwd=tmp_path)
    assert proc.returncode == 2
    _assert_clean_error(proc, "out", "is not a folder")
    assert out.read_text() == "an existing file"


def test_full_extraction_needs_a_reason(tmp_path: Path) -> None:
    proc = _run("extract", IMAGES / "ext4.img", "-o", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2
    _assert_clean_error(proc, "--full-extraction-reason", "no scope given")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["extract"], ["extract", "x.dd"]])
def test_usage_errors(args: list[str], tmp_path: Path) -> None:
    proc = _run(*args, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
