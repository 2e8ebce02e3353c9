"""Damaged partitioning loses no intact file system: devicex lists, per recovered volume, exactly what
TSK's own `fls -r -p -o OFFSET` lists on the damaged image, and says how each volume was found."""
from __future__ import annotations

import shutil
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from devicex.sources.partition_scan import signature_scan, table_entries
from pipelines.extract import ExtractOptions, run
from tests.conftest import IMAGES, REPO

MBR2_FS = {2048: "fat16", 12288: "ext4"}  # fixtures/truth/mbr2.img/mmls.txt
GPT_FS = {2048: "fat12", 6144: "ext4"}  # fixtures/truth/gpt.img/mmls.txt


def _poke(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def truncated(path: Path) -> None:
    """Cut inside the gap before p2: p1 (FAT16) is whole, p2's entry now starts past the end."""
    with open(path, "r+b") as fh:
        fh.truncate(5 << 20)


def entry_past_end(path: Path) -> None:
    """p2's entry moves to slot 3; slot 2 points far past the end of the media."""
    mbr = bytearray(path.read_bytes()[:512])
    mbr[478:494] = mbr[462:478]
    mbr[462:478] = bytes([0, 0, 0, 0, 0x83, 0, 0, 0]) + struct.pack("<II", 100000, 2048)
    _poke(path, 0, bytes(mbr))


def zeroed_mbr(path: Path) -> None:
    _poke(path, 0, b"\0" * 512)


def gpt_header_byte(path: Path) -> None:
    """One byte of the primary GPT header's signature: TSK then sees only the protective MBR."""
    _poke(path, 512, b"X")


def gpt_entries_lba(path: Path) -> None:
    """One byte of the primary header's entry-array LBA."""
    _poke(path, 512 + 72, b"\x7f")


CASES: dict[str, tuple[str, Callable[[Path], None], dict[int, str], str]] = {
    "truncated": ("mbr2.img", truncated, {2048: "fat16"}, "table-entry"),
    "entry-past-end": ("mbr2.img", entry_past_end, MBR2_FS, "table-entry"),
    "zeroed-mbr": ("mbr2.img", zeroed_mbr, MBR2_FS, "signature"),
    "gpt-signature": ("gpt.img", gpt_header_byte, GPT_FS, "backup-gpt"),
    "gpt-entries-lba": ("gpt.img", gpt_entries_lba, GPT_FS, "backup-gpt"),
}


def _fls(image: Path, sector: int) -> set[str]:
    out = subprocess.run(["fls", "-r", "-p", "-o", str(sector), str(image)], capture_output=True, text=True,
                         check=True).stdout
    return {"/" + line.split("\t", 1)[1] for line in out.splitlines() if "\t" in line}


@pytest.mark.parametrize("name", sorted(CASES))
def test_damaged_partitioning_is_recovered_and_matches_fls(tmp_path: Path, name: str) -> None:
    fixture, damage, expected, how = CASES[name]
    image = tmp_path / f"{name}.img"
    shutil.copyfile(IMAGES / fixture, image)
    damage(image)
    before = image.read_bytes()
    summary = run(ExtractOptions(source=image, out=tmp_path / "out", workers=1, full_reason="test"))
    assert image.read_bytes() == before
    assert summary.filesystems == len(expected) and not summary.fatal
    with closing(sqlite3.connect(tmp_path / "out" / "data" / "case.db")) as db:
        found = db.execute("SELECT v.start, f.fs_type, v.recovery, v.label FROM filesystems f JOIN volumes v ON "
                           "v.id = f.volume_id ORDER BY v.start").fetchall()
        assert [(start // 512, fs) for start, fs, _, _ in found] == sorted(expected.items())
        assert {rec for _, _, rec, _ in found} == {how}
        for start, _, _, label in found:
            paths = {p for (p,) in db.execute("SELECT path FROM files WHERE volume = ? AND stream IS NULL",
                                              (label,))}
            assert paths == _fls(image, start // 512), label
            message = db.execute("SELECT message FROM errors WHERE volume = ? AND stage = 'volume'",
                                 (label,)).fetchone()[0]
            assert message.startswith("recovered volume: ")


def test_table_entries_follow_the_ebr_chain_and_the_scan_skips_what_was_opened() -> None:
    """An extended partition with two logical ones (EBR chain made here by hand), then a scan that resumes
    past each file system it is told about."""
    disk = bytearray(8 << 20)
    mbr = bytearray(512)
    mbr[446 + 4], mbr[446 + 8: 446 + 16] = 0x05, struct.pack("<II", 2048, 8192)
    mbr[510:512] = b"\x55\xaa"
    disk[0:512] = mbr
    for ebr, first, nxt in ((2048, 63, 4096), (2048 + 4096, 63, None)):
        sector = bytearray(512)
        sector[446 + 4], sector[446 + 8: 446 + 16] = 0x83, struct.pack("<II", first, 1000)
        if nxt is not None:
            sector[462 + 4], sector[462 + 8: 462 + 16] = 0x05, struct.pack("<II", nxt, 4096)
        sector[510:512] = b"\x55\xaa"
        disk[ebr * 512: ebr * 512 + 512] = sector
    data = bytes(disk)
    entries, notes = table_entries(lambda o, n: data[o:o + n], len(data))
    assert [(c.start // 512, c.length // 512, c.how) for c in entries] == [(2111, 1000, "table-entry"),
                                                                           (6207, 1000, "table-entry")]
    assert notes == []
    fat = (IMAGES / "fat16.img").read_bytes()[:512]
    two = b"\0" * 4096 + fat + b"\0" * 8192 + fat + b"\0" * 4096
    def read(o, n):
        return two[o:o + n]
    assert [c.start for c in signature_scan(read, len(two))] == [4096, 4096 + 512 + 8192]
    assert [c.start for c in signature_scan(read, len(two), lambda off: off + 10000)] == [4096]


def test_the_report_says_how_a_volume_was_found(tmp_path: Path) -> None:
    image = tmp_path / "gpt.img"
    shutil.copyfile(IMAGES / "gpt.img", image)
    gpt_header_byte(image)
    run(ExtractOptions(source=image, out=tmp_path / "out", workers=1, full_reason="test"))
    done = subprocess.run([sys.executable, "-m", "devicex", "report", str(tmp_path / "out"), "-f", "html", "-q",
                           "--no-custody"], check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "out" / "data" / "report" / "index.html").read_text(encoding="utf-8")
    assert "Found by" in html and html.count("the backup GPT (primary damaged)") == 2
