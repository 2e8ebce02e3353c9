"""devicex on its own fixture images against truth from fls/icat, md5sum &
co., ewfinfo and exiftool (fixtures/make_truth.sh): every file and deleted
entry found, every hash equal, EXIF/GPS equal, exports byte-exact, and two
runs byte-identical in listing and hashes."""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devicex.sources import open_source
from pipelines.extract import ExtractOptions, run
from pipelines.validate import compare
from pipelines.validate.record import Tally
from pipelines.validate.requirements import BUILT_IN
from pipelines.validate.truth import load_dataset
from tests.conftest import IMAGES, TRUTH

FIXTURES = load_dataset(TRUTH.parent)
FIXTURE_NAMES = sorted(p.name for p in TRUTH.iterdir() if p.is_dir() and (IMAGES / p.name).exists()) \
    if TRUTH.is_dir() else []


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outs = {}
    for name in FIXTURE_NAMES:
        out = tmp_path_factory.mktemp(name.replace(".", "_"))
        summary = run(ExtractOptions(source=IMAGES / name, out=out, case_ref="T-1", exhibit_ref=name))
        assert summary.fatal is None, summary.fatal
        outs[name] = out
    return outs


def _db(out: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(out / "data" / "case.db")
    conn.row_factory = sqlite3.Row
    return conn


def test_fixtures_present() -> None:
    assert {"ext4.img", "ntfs.img", "mbr2.img", "gpt.img", "ext4.E01", "split.raw.001"} <= set(FIXTURE_NAMES)


def _tallies() -> dict[str, Tally]:
    return {r.id: Tally(r) for r in BUILT_IN}


def _assert_agree(tallies: dict[str, Tally], *ids: str) -> None:
    for rid in ids:
        tally = tallies[rid]
        assert tally.compared > 0, rid
        assert not tally.disagreements, (rid, len(tally.disagreements), tally.disagreements[:5])


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_media_hashes_match_coreutils(name: str, extracted: dict[str, Path]) -> None:
    t = _tallies()
    compare.media_hashes(name, TRUTH / name / "media.tsv", _db(extracted[name]), t["media-hashes"])
    _assert_agree(t, "media-hashes")
    src = _db(extracted[name]).execute("SELECT * FROM sources").fetchone()
    assert src["verified"] == "match"


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_entry_hash_and_time_matches_tsk(name: str, extracted: dict[str, Path]) -> None:
    """The comparisons `devicex validate` records: listing, deleted entries, hashes (fls/icat +
    coreutils), MIME types (file(1) on icat's output), times (fls -l; truth-tool faults only
    with the raw bytes shown)."""
    conn = _db(extracted[name])
    targets = [fs for fs in FIXTURES.filesystems if fs.media.stored.name == name]
    assert targets
    t = _tallies()
    src = open_source(IMAGES / name)
    try:
        for fs in targets:
            rows = compare.fs_rows(conn, fs)
            compare.listing(fs, rows, t["entries-listed"], t["deleted-found"])
            compare.content_hashes(fs, rows, t["content-hashes"])
            compare.times(fs, rows, t["times"], src.img)
            compare.typing(fs, rows, t["typing"])
    finally:
        src.close()
    _assert_agree(t, "entries-listed", "content-hashes", "times", "typing")
    assert not t["deleted-found"].disagreements
    for fault in t["times"].truth_faults:
        assert fault.reasons and fault.evidence


@pytest.mark.parametrize("name", [n for n in FIXTURE_NAMES if (TRUTH / n / "exiftool.json").exists()])
def test_exif_matches_exiftool(name: str, extracted: dict[str, Path]) -> None:
    t = _tallies()
    for fs in (fs for fs in FIXTURES.filesystems if fs.media.stored.name == name):
        compare.exif(fs, _db(extracted[name]), t["exif"])
    _assert_agree(t, "exif")


@pytest.mark.parametrize("name", ["ext4.img", "ntfs.img", "fat16.img"])
def test_exports_are_byte_exact_with_original_mtime(name: str, extracted: dict[str, Path]) -> None:
    if name not in extracted:
        pytest.fail(f"fixture {name} missing")
    out = extracted[name]
    rows = _db(out).execute("SELECT * FROM files WHERE export_path IS NOT NULL").fetchall()
    assert rows
    root = (out / "data" / "files").resolve()
    for r in rows:
        target = (out / "data" / r["export_path"]).resolve()
        assert os.path.commonpath([target, root]) == str(root), r["export_path"]
        assert target.is_file() and not target.is_symlink()
        assert hashlib.sha256(target.read_bytes()).hexdigest() == r["sha256"]
        if r["mtime"]:
            mtime = datetime.fromtimestamp(target.stat().st_mtime, UTC)
            assert mtime.strftime("%Y-%m-%dT%H:%M:%S") == r["mtime"][:19]
    # Nothing but what the database lists was written (no temp files left).
    written = {p.relative_to(out / "data").as_posix() for p in root.rglob("*") if p.is_file()}
    assert written == {r["export_path"] for r in rows}


def test_deleted_files_are_flagged_recovered(extracted: dict[str, Path]) -> None:
    for name in ("ext4.img", "ntfs.img"):
        rows = _db(extracted[name]).execute(
            "SELECT path, recovered, status FROM files WHERE alloc != 'allocated' AND kind = 'file' "
            "AND size > 0").fetchall()
        assert rows, name
        assert any(r["recovered"] for r in rows), name


def test_alternate_data_streams_are_their_own_streams(extracted: dict[str, Path]) -> None:
    rows = _db(extracted["ntfs.img"]).execute("SELECT path, stream, export_path FROM files WHERE stream IS NOT NULL "
                                              "AND path NOT LIKE '/$%'").fetchall()
    streams = {(r["path"], r["stream"]) for r in rows}
    assert ("/Users/alice/Documents/notes.txt", "secret.txt") in streams
    assert all(r["export_path"].endswith("^3A" + r["stream"]) for r in rows)


def test_extension_mismatch_flagged(extracted: dict[str, Path]) -> None:
    row = _db(extracted["fat16.img"]).execute(
        "SELECT mime, ext_mismatch, category FROM files WHERE path = '/Documents/holiday.txt'").fetchone()
    assert (row["mime"], row["ext_mismatch"], row["category"]) == ("image/jpeg", 1, "image")


def test_e01_stored_hashes_checked(extracted: dict[str, Path]) -> None:
    src = _db(extracted["ext4.E01"]).execute("SELECT * FROM sources").fetchone()
    info = (TRUTH / "ext4.E01" / "ewfinfo.txt").read_text()
    assert src["stored_check"] == "pass"
    assert src["stored_md5"] in info and src["stored_sha1"] in info


def test_partitions_recorded(extracted: dict[str, Path]) -> None:
    for name in ("mbr2.img", "gpt.img"):
        conn = _db(extracted[name])
        mmls = (TRUTH / name / "mmls.txt").read_text()
        starts = {int(m) for m in re.findall(r"^\d+:\s+\S+\s+(\d+)", mmls, re.M)}
        vols = {r["start"] // r["sector_size"] for r in conn.execute("SELECT * FROM volumes")}
        assert starts <= vols, (name, starts, vols)
        assert conn.execute("SELECT COUNT(*) FROM filesystems").fetchone()[0] == 2


def test_two_runs_are_identical(tmp_path: Path, extracted: dict[str, Path]) -> None:
    query = ("SELECT volume, path, stream, address, alloc, size, md5, sha1, sha256, mime, export_path "
             "FROM files ORDER BY id")
    first = _db(extracted["ntfs.img"]).execute(query).fetchall()
    run(ExtractOptions(source=IMAGES / "ntfs.img", out=tmp_path, workers=1))
    second = _db(tmp_path).execute(query).fetchall()
    assert [tuple(r) for r in first] == [tuple(r) for r in second]


@pytest.mark.parametrize("name", ["ext4.img", "ntfs.img", "fat16.img", "mbr2.img"])
def test_byte_runs_locate_the_content_in_the_image(name: str, extracted: dict[str, Path]) -> None:
    """Reading the image at each recorded run gives back exactly the hashed content."""
    rows = _db(extracted[name]).execute(
        "SELECT path, size, sha256, byte_runs FROM files WHERE byte_runs IS NOT NULL AND status = 'ok'").fetchall()
    assert len(rows) >= 3, name
    with open(IMAGES / name, "rb") as img:
        for r in rows:
            data = bytearray(r["size"])
            for run in json.loads(r["byte_runs"]):
                img.seek(run["img_offset"])
                data[run["file_offset"]:run["file_offset"] + run["len"]] = img.read(run["len"])
            assert hashlib.sha256(bytes(data)).hexdigest() == r["sha256"], r["path"]
