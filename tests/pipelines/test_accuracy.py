"""Accuracy of what is recorded and exported, against independent tools: sparse content exported
as holes, OLE documents typed like file(1) on the whole file, exFAT's recorded UTC offsets applied
(TSK's fls reads the same local times as UTC), and rows without content naming no export."""
from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from devicex.scope import parse_text
from pipelines.extract import ExtractOptions, run
from pipelines.select import ScopeSelector
from pipelines.validate.truth import decode, read_fls
from tests.conftest import CORPUS, IMAGES, needs_corpus


def _rows(out: Path, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(out / "data" / "case.db")
    conn.row_factory = sqlite3.Row
    return conn.execute(sql, args).fetchall()


def test_a_sparse_file_is_exported_with_holes(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    sparse = tree / "sparse.bin"
    with open(sparse, "wb") as f:  # 64 MiB logical, 8 bytes of data at each end
        f.write(b"HEAD1234")
        f.seek((64 << 20) - 8)
        f.write(b"TAIL5678")
    image = tmp_path / "sparse.ext4"
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-d", str(tree), str(image), "8M"],
                   check=True, capture_output=True)
    out = tmp_path / "out"
    run(ExtractOptions(source=image, out=out, full_reason="test"))
    (row,) = _rows(out, "SELECT * FROM files WHERE path = '/sparse.bin'")
    exported = out / "data" / row["export_path"]
    expected = subprocess.run(["sha256sum", str(sparse)], capture_output=True, text=True, check=True).stdout[:64]
    assert row["sha256"] == expected and row["status"] == "ok"
    assert exported.stat().st_size == 64 << 20
    assert subprocess.run(["sha256sum", str(exported)], capture_output=True, text=True, check=True).stdout[:64] == expected
    assert exported.stat().st_blocks * 512 < 1 << 20, "the holes were written out as zeros"


@needs_corpus
def test_an_ole_word_document_is_a_document_as_file_says(tmp_path: Path) -> None:
    media = decode(CORPUS / "dftt" / "8-jpeg-search.zip", "8-jpeg-search.dd", tmp_path)
    out = tmp_path / "out"
    run(ExtractOptions(source=media, out=out, full_reason="test"))
    (row,) = _rows(out, "SELECT * FROM files WHERE path = '/misc/file12.doc'")
    truth = subprocess.run(["file", "-b", "--mime-type", str(out / "data" / row["export_path"])],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert (row["mime"], row["category"]) == (truth, "document") == ("application/msword", "document")
    # a scope selecting documents takes it (the category is known before anything is exported)
    scoped = tmp_path / "scoped"
    scope = parse_text('[authorisation]\nlegal_basis = "test"\nreference = "T"\nauthorised_by = "T"\n'
                        'purpose = "test"\nuser_agreement = false\nless_intrusive_means = "none"\n'
                        '[[select]]\ncategories = ["documents"]\n', name="test.toml")
    run(ExtractOptions(source=media, out=scoped, selector=ScopeSelector(scope), scope_text=scope.text))
    assert [r["path"] for r in _rows(scoped, "SELECT path FROM files WHERE kind = 'file'")] == ["/misc/file12.doc"]


@needs_corpus
def test_exfat_recorded_utc_offsets_are_applied(tmp_path: Path) -> None:
    media = decode(CORPUS / "dfir_ntfs" / "win_exfat_7.raw.gz", None, tmp_path)
    out = tmp_path / "out"
    run(ExtractOptions(source=media, out=out, export=False, full_reason="test"))
    fls = {e.path: e for e in read_fls(CORPUS / "dfir_ntfs" / "truth" / "win_exfat_7.raw.gz.fls.txt")}
    adjusted = _rows(out, "SELECT * FROM files WHERE utc_offsets IS NOT NULL")
    assert len(adjusted) >= 5
    offsets = set()
    for row in adjusted:
        recorded = json.loads(row["utc_offsets"])
        offsets.add(recorded["mtime"])
        sign = -1 if recorded["mtime"][0] == "-" else 1
        hours, minutes = recorded["mtime"][1:].split(":")
        delta = timedelta(hours=int(hours), minutes=int(minutes)) * sign
        local = fls[row["path"][1:]].mtime  # fls: the stored local time, read as UTC
        assert local is not None
        ours = datetime.fromisoformat(row["mtime"]).replace(microsecond=0)
        assert ours == local - delta, row["path"]
    assert {"+05:45", "-10:00"} <= offsets


@pytest.mark.parametrize("name", ["ntfs.img", "exfat.img"])
def test_rows_without_content_name_no_export_and_no_hash(name: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(ExtractOptions(source=IMAGES / name, out=out, full_reason="test"))
    rows = _rows(out, "SELECT path, export_path, status, md5 FROM files")
    assert any(r["status"] == "no-content" for r in rows)
    for r in rows:
        if r["export_path"] is not None:
            assert (out / "data" / r["export_path"]).is_file(), r["export_path"]
        if r["status"] in ("no-content", "unreadable"):
            assert (r["md5"], r["export_path"]) == (None, None), r["path"]
    if name == "exfat.img":  # TSK cannot read exFAT's $FAT1 (like an unreadable $MBR): no hash, not the empty MD5
        (fat1,) = [r for r in rows if r["path"] == "/$FAT1"]
        assert fat1["status"] == "unreadable" and fat1["md5"] is None
