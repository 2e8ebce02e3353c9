"""Archives, devices and formats not read: damage per member, hostile and
duplicate names, encrypted members, FIFOs and character devices refused at
once, block devices sized from the device, one-line errors naming the format.

The damaged archives are made by GNU tar / gzip / zip and then cut or have a
byte changed; what is expected of them comes from those tools' own listings.
"""
from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from devicex.errors import SourceError
from devicex.sources import open_source
from pipelines.extract import ExtractOptions, Summary, run
from tests.conftest import CORPUS, needs_corpus

ENV = dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8")


def _extract(src: Path, out: Path, workers: int = 2) -> tuple[Summary, sqlite3.Connection]:
    summary = run(ExtractOptions(source=src, out=out, workers=workers, full_reason="archive damage test"))
    conn = sqlite3.connect(out / "data" / "case.db")
    conn.row_factory = sqlite3.Row
    return summary, conn


def _tree(root: Path) -> Path:
    (root / "a").mkdir(parents=True)
    (root / "a" / "first.txt").write_bytes(b"first member\n" * 100)
    (root / "a" / "middle.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    (root / "a" / "last.txt").write_bytes(b"last member\n")
    return root


def test_truncated_tar_keeps_what_was_read_and_names_the_member(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t")
    archive = tmp_path / "cut.tar"
    subprocess.run(["tar", "--sort=name", "-cf", archive, "-C", tree, "a/first.txt", "a/middle.bin", "a/last.txt"],
                   check=True, env=ENV)
    listing = subprocess.run(["tar", "-tf", archive], check=True, capture_output=True, text=True).stdout.split()
    assert listing == ["a/first.txt", "a/middle.bin", "a/last.txt"]
    data = archive.read_bytes()
    archive.write_bytes(data[: data.index(bytes(range(256)) * 4096) + 300_000])  # cut inside middle.bin
    summary, conn = _extract(archive, tmp_path / "out")
    rows = {r["path"]: r for r in conn.execute("SELECT * FROM files")}
    assert rows["/a/first.txt"]["status"] == "ok" and "/a/last.txt" not in rows
    assert rows["/a/middle.bin"]["status"] == "partial" and 0 < rows["/a/middle.bin"]["bytes_read"] < 1 << 20
    walk = [r["message"] for r in conn.execute("SELECT message FROM errors WHERE stage = 'walk'")]
    assert len(walk) == 1 and "member 2 (a/middle.bin)" in walk[0] and "\n" not in walk[0]
    assert summary.source_verified == "match"


def _gzip_tar(tmp_path: Path) -> bytes:
    tree = _tree(tmp_path / "t")
    tar = tmp_path / "x.tar"
    subprocess.run(["tar", "--sort=name", "--mtime=@1700000000", "--owner=0", "--group=0", "--numeric-owner",
                    "-cf", tar, "-C", tree, "a/first.txt", "a/middle.bin", "a/last.txt"], check=True, env=ENV)
    return subprocess.run(["gzip", "-n", "-c", tar], check=True, capture_output=True).stdout


def test_cut_gzip_stream_names_the_member_and_keeps_what_was_read(tmp_path: Path) -> None:
    data = _gzip_tar(tmp_path)
    gz = tmp_path / "cut.tar.gz"
    gz.write_bytes(data[: len(data) // 2])
    assert subprocess.run(["gzip", "-t", gz], capture_output=True, check=False).returncode != 0
    summary, conn = _extract(gz, tmp_path / "out")
    rows = {r["path"]: r for r in conn.execute("SELECT * FROM files")}
    assert rows["/a/first.txt"]["status"] == "ok" and "/a/last.txt" not in rows
    walk = [r["message"] for r in conn.execute("SELECT message FROM errors WHERE stage = 'walk'")]
    assert len(walk) == 1 and "member 2 (a/middle.bin)" in walk[0] and "nothing after it is read" in walk[0]
    assert summary.fatal is None and summary.source_verified == "match"


def test_gzip_checksum_mismatch_is_reported(tmp_path: Path) -> None:
    data = bytearray(_gzip_tar(tmp_path))
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0x5A
    gz = tmp_path / "flipped.tar.gz"
    gz.write_bytes(bytes(data))
    assert "crc error" in subprocess.run(["gzip", "-t", gz], capture_output=True, text=True, check=False).stderr
    summary, conn = _extract(gz, tmp_path / "out")
    assert conn.execute("SELECT status FROM files WHERE path = '/a/first.txt'").fetchone()[0] == "ok"
    walk = [r["message"] for r in conn.execute("SELECT message FROM errors WHERE stage = 'walk'")]
    assert len(walk) == 1 and walk[0].startswith("compressed stream damaged (CRC check failed 0x")
    assert walk[0].endswith("): members read from it may hold wrong bytes")
    assert summary.fatal is None


def test_zip_bad_crc_and_encrypted_member_each_one_line(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t")
    archive = tmp_path / "x.zip"
    subprocess.run(["zip", "-q", "-0", archive, "a/first.txt", "a/middle.bin"], check=True, cwd=tree, env=ENV)
    (tree / "secret.txt").write_bytes(b"only with the password\n")
    subprocess.run(["zip", "-q", "-P", "pw", archive, "secret.txt"], check=True, cwd=tree, env=ENV)
    subprocess.run(["zip", "-q", archive, "a/last.txt"], check=True, cwd=tree, env=ENV)
    data = bytearray(archive.read_bytes())
    at = data.index(b"first member\n") + 5
    data[at] ^= 0x01
    archive.write_bytes(bytes(data))
    tested = subprocess.run(["unzip", "-t", "-P", "pw", archive], capture_output=True, text=True, check=False).stdout
    assert "bad CRC" in tested and "first.txt" in tested
    summary, conn = _extract(archive, tmp_path / "out")
    rows = {r["path"]: r for r in conn.execute("SELECT * FROM files")}
    errors = {r["path"]: r["message"] for r in conn.execute("SELECT path, message FROM errors")}
    assert set(errors) == {"/a/first.txt", "/secret.txt"}
    assert "bad CRC-32" in errors["/a/first.txt"] and "encrypted" in errors["/secret.txt"]
    assert rows["/a/first.txt"]["bytes_read"] == 1300  # the bytes read are kept, exported as they are
    exported = (tmp_path / "out" / "data" / rows["/a/first.txt"]["export_path"]).read_bytes()
    assert exported == bytes(data[at - 5: at - 5 + 1300])
    assert rows["/secret.txt"]["status"] == "unreadable" and rows["/a/last.txt"]["status"] == "ok"
    assert summary.errors == 2


def test_hostile_and_duplicate_names_recorded_as_stored_exported_inside(tmp_path: Path) -> None:
    archive = tmp_path / "hostile.tar"
    names = ["../../escape.txt", "/etc/absolute.txt", "back\\slash.txt", "dup.txt", "dup.txt"]
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tf:
        for n, name in enumerate(names):
            info = tarfile.TarInfo(name)
            body = f"member {n}\n".encode()
            info.size, info.mtime = len(body), 1_700_000_000 + n
            tf.addfile(info, io.BytesIO(body))
    listed = subprocess.run(["tar", "--quoting-style=literal", "-tf", archive], check=True, capture_output=True,
                            text=True, env=ENV).stdout.splitlines()
    assert listed == names  # as GNU tar lists them
    out = tmp_path / "out"
    _, conn = _extract(archive, out)
    rows = conn.execute("SELECT stored_name, export_path, id FROM files ORDER BY id").fetchall()
    assert [r["stored_name"] for r in rows] == names
    data = (out / "data").resolve()
    for r in rows:
        assert (data / r["export_path"]).resolve().is_relative_to(data / "files")
    assert len({r["export_path"] for r in rows}) == 5
    dup = conn.execute("SELECT path, message FROM errors WHERE message LIKE 'duplicate member name%'").fetchall()
    assert [tuple(d) for d in dup] == [("/dup.txt", "duplicate member name: also member 4 of the archive")]
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()


def test_zip_dos_time_is_zone_less_and_never_made_utc(tmp_path: Path) -> None:
    archive = tmp_path / "dos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("note.txt", date_time=(2021, 3, 4, 5, 6, 8)), b"x")
    info = subprocess.run(["zipinfo", "-l", "-T", archive], check=True, capture_output=True, text=True).stdout
    assert "20210304.050608" in info
    _, conn = _extract(archive, tmp_path / "out")
    row = conn.execute("SELECT mtime, atime, ctime, crtime, mtime_local FROM files").fetchone()
    assert tuple(row) == (None, None, None, None, "2021-03-04T05:06:08")


def test_fifo_and_character_device_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    worker = threading.Thread(target=lambda: outcome.append(pytest.raises(SourceError, open_source, fifo).value))
    worker.start()
    worker.join(5)
    assert not worker.is_alive() and "FIFO" in str(outcome[0])
    with pytest.raises(SourceError, match="character device"):
        open_source("/dev/null")


def test_block_device_sized_from_the_device(tmp_path: Path) -> None:
    image = tmp_path / "disk.img"
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", image, "4M"], check=True)
    loop = subprocess.run(["losetup", "-f", "--show", "-r", image], check=True, capture_output=True,
                          text=True).stdout.strip()
    try:
        assert os.stat(loop).st_size == 0
        src = open_source(loop)
        try:
            assert src.container == "block-device" and src.size == 4 << 20
            assert len(src.layout().filesystems) == 1
        finally:
            src.close()
    finally:
        subprocess.run(["losetup", "-d", loop], check=True)


@pytest.mark.parametrize(("head", "at_end", "what"), [
    ((32, b"NXSB"), False, "APFS container"),
    ((0, b"AFF10\r\n\x00"), False, "AFF (Advanced Forensic Format) image"),
    ((64, b"\x7f\x10\xda\xbe"), False, "VirtualBox VDI disk image"),
    ((0, b""), True, "Apple disk image (DMG/UDIF)"),
])
def test_formats_not_read_are_named(tmp_path: Path, head: tuple[int, bytes], at_end: bool, what: str) -> None:
    data = bytearray(64 << 10)
    offset, magic = head
    data[offset:offset + len(magic)] = magic
    if at_end:
        data[-512:-508] = b"koly"
    path = tmp_path / "evidence.bin"
    path.write_bytes(bytes(data))
    with pytest.raises(SourceError) as info:
        open_source(path)
    assert str(info.value) == f"{path}: {what}: a format devicex does not read"


def test_aff4_zip_and_gzip_without_tar_are_named(tmp_path: Path) -> None:
    aff4 = tmp_path / "image.aff4"
    with zipfile.ZipFile(aff4, "w") as zf:
        zf.writestr("information.turtle", "@prefix aff4: <http://aff4.org/Schema#> .")
    with pytest.raises(SourceError, match="AFF4 container: a format devicex does not read"):
        open_source(aff4)
    gz = tmp_path / "disk.img.gz"
    gz.write_bytes(subprocess.run(["gzip", "-n", "-c"], input=bytes(4096), check=True,
                                  capture_output=True).stdout)
    with pytest.raises(SourceError, match="gzip-compressed file that is not a tar archive"):
        open_source(gz)


@needs_corpus
@pytest.mark.parametrize(("name", "message"), [
    ("apfs.raw", "APFS container: a format devicex does not read"),
    ("hfsplus_zlib.dmg", "Apple disk image (DMG/UDIF): a format devicex does not read"),
    ("image-differential.vhd", "differencing VHD: needs its parent image (image.vhd), not read"),
])
def test_corpus_formats_not_read_are_named(name: str, message: str) -> None:
    with pytest.raises(SourceError) as info:
        open_source(CORPUS / "dfvfs" / name)
    assert str(info.value) == f"{CORPUS / 'dfvfs' / name}: {message}"


def test_zip64_members_read_like_any(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t")
    archive = tmp_path / "z64.zip"
    subprocess.run(["zip", "-q", "-fz", archive, "a/first.txt", "a/middle.bin", "a/last.txt"], check=True,
                   cwd=tree, env=ENV)
    assert "version required to extract:   4.5" in subprocess.run(
        ["zipinfo", "-v", archive], check=True, capture_output=True, text=True).stdout  # 4.5: zip64
    expected = {}
    for name in ("a/first.txt", "a/middle.bin", "a/last.txt"):
        body = subprocess.run(["unzip", "-p", archive, name], check=True, capture_output=True).stdout
        expected["/" + name] = subprocess.run(["sha256sum"], input=body, check=True,
                                              capture_output=True).stdout.split()[0].decode()
    summary, conn = _extract(archive, tmp_path / "out")
    assert {r[0]: r[1] for r in conn.execute("SELECT path, sha256 FROM files WHERE kind = 'file'")} == expected
    assert summary.errors == 0
