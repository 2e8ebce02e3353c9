"""An unreadable root folder: what the file system still holds is found by an inode scan, and a run that
extracts nothing never reports success. Truth: the fixtures' icat hashes (fixtures/truth/<image>/files.o0.tsv,
made from the undamaged images by make_truth.sh)."""
from __future__ import annotations

import re
import shutil
import sqlite3
import struct
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import IMAGES, REPO, TRUTH


def _fat16_root(image: Path) -> tuple[int, int]:
    """(byte offset, length) of a FAT16 root directory region, from the boot sector."""
    boot = image.read_bytes()[:512]
    bps, _, reserved, fats, entries = struct.unpack_from("<HBHBH", boot, 11)
    fat_sectors = struct.unpack_from("<H", boot, 22)[0]
    return (reserved + fats * fat_sectors) * bps, entries * 32


def _ext4_root_block(image: Path) -> tuple[int, int]:
    """(byte offset, length) of the ext4 root folder's first block, from TSK istat (independent of devicex)."""
    istat = subprocess.run(["istat", str(image), "2"], capture_output=True, text=True, check=True).stdout
    block = int(istat.split("Direct Blocks:", 1)[1].split()[0])
    fsstat = subprocess.run(["fsstat", str(image)], capture_output=True, text=True, check=True).stdout
    size = int(fsstat.split("Block Size:", 1)[1].split()[0])
    return block * size, size


def _zero(image: Path, offset: int, length: int) -> None:
    with open(image, "r+b") as fh:
        fh.seek(offset)
        fh.write(b"\0" * length)


def _extract(image: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(check=False, args=[sys.executable, "-m", "devicex", "extract", str(image), "-o", str(out), "-q",
                           "--full-extraction-reason", "test"], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def _truth(image: str, by_inode: bool) -> dict[str, str]:
    """md5 of allocated non-empty files: by path below its top-level folder, and for files in the root
    folder (``by_inode``: where the inode still holds them, unlike FAT's directory entries) by
    ``OrphanFile-<inode>``."""
    out = {}
    lines = (TRUTH / image / "files.o0.tsv").read_text(encoding="utf-8", errors="backslashreplace").splitlines()
    columns = lines[0].lstrip("#").split("\t")
    for line in lines[1:]:
        row = dict(zip(columns, line.split("\t"), strict=False))
        md5, size, inode, alloc, path = row["md5"], row["size"], row["inode"], row["alloc"], row["path"]
        if alloc != "allocated" or int(size) == 0 or path.startswith("$"):
            continue
        if "/" in path:
            out["/" + path.split("/", 1)[1]] = md5
        elif by_inode:
            out[f"OrphanFile-{inode}"] = md5
    return out


@pytest.mark.parametrize("image, damage", [("ext4.img", _ext4_root_block), ("fat16.img", _fat16_root)])
def test_unreadable_root_folder_files_are_found_by_inode_scan(tmp_path: Path, image: str, damage) -> None:  # type: ignore[no-untyped-def]
    damaged = tmp_path / image
    shutil.copyfile(IMAGES / image, damaged)
    _zero(damaged, *damage(damaged))
    done = _extract(damaged, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    with closing(sqlite3.connect(tmp_path / "out" / "data" / "case.db")) as db:
        rows = db.execute("SELECT path, md5, alloc FROM files WHERE path LIKE '/$InodeScan/%' AND kind = 'file'"
                          ).fetchall()
        message = db.execute("SELECT message FROM errors WHERE stage = 'walk'").fetchone()[0]
    assert "root folder lists no entries" in message
    found = {}
    for path, md5, alloc in rows:
        assert alloc == "orphan"
        parts = path.split("/", 3)  # "", "$InodeScan", "OrphanDir-N" or "OrphanFile-N", rest
        key = "/" + parts[3] if len(parts) == 4 else parts[2]
        key = key.replace("\\x2f", "/").replace("\\x5c", "\\")  # a name's own / and \ as the truth has them
        found[re.sub(r"[\x00-\x1f\x7f]", "^", key)] = md5  # as the truth (fls) shows control characters
    truth = _truth(image, by_inode=image.startswith("ext"))
    assert truth and {p: found.get(p) for p in truth} == truth
    assert len(rows) == len({p for p, _, _ in rows})  # each file once


def test_nothing_extracted_is_never_success(tmp_path: Path) -> None:
    damaged = tmp_path / "fat16.img"
    shutil.copyfile(IMAGES / "fat16.img", damaged)
    root, _ = _fat16_root(damaged)
    _zero(damaged, root, damaged.stat().st_size - root)  # root folder and every data cluster
    done = _extract(damaged, tmp_path / "out")
    assert done.returncode == 3, done.stderr
    assert "nothing extracted" in done.stderr and "Traceback" not in done.stderr
    with closing(sqlite3.connect(tmp_path / "out" / "data" / "case.db")) as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("failed",)]
