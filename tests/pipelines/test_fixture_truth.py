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
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from devicex.entries import component_name
from pipelines.extract import ExtractOptions, run
from tests.conftest import IMAGES, TRUTH

_FLS_RE = re.compile(r"^(?P<type>\S+) (?P<del>\* )?(?P<addr>[\d-]+)(?P<realloc>\(realloc\))?:\t(?P<path>[^\t]*)\t")
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


def _tsv(path: Path) -> list[dict[str, str]]:
    lines = path.read_bytes().decode("utf-8", "backslashreplace").splitlines()
    header = lines[0].lstrip("#").split("\t")
    return [dict(zip(header, ln.split("\t"))) for ln in lines[1:] if ln and not ln.startswith("#")]


def _fls_key(path: str, stream: str | None) -> str:
    """Our path as fls prints it: names with their '/', '\\' and dots back, control characters as '^'."""
    text = "/".join(component_name(c) for c in path.split("/")) + (f":{stream}" if stream else "")
    return "".join("^" if ord(ch) < 0x20 else ch for ch in text)


def _fs_rows(conn: sqlite3.Connection, offset_sectors: int) -> list[sqlite3.Row]:
    return conn.execute("SELECT f.* FROM files f JOIN filesystems fs ON fs.id = f.fs_id WHERE fs.offset = ? "
                        "ORDER BY f.id", (offset_sectors * 512,)).fetchall()


def test_fixtures_present() -> None:
    assert {"ext4.img", "ntfs.img", "mbr2.img", "gpt.img", "ext4.E01", "split.raw.001"} <= set(FIXTURE_NAMES)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_media_hashes_match_coreutils(name: str, extracted: dict[str, Path]) -> None:
    (truth,) = _tsv(TRUTH / name / "media.tsv")
    src = _db(extracted[name]).execute("SELECT * FROM sources").fetchone()
    assert (src["md5"], src["sha1"], src["sha256"], src["size"]) == \
        (truth["md5"], truth["sha1"], truth["sha256"], int(truth["size"]))
    assert src["verified"] == "match"
    assert (src["verify_sha256"], src["verify_md5"]) == (truth["sha256"], truth["md5"])


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_entry_and_hash_matches_tsk(name: str, extracted: dict[str, Path]) -> None:
    conn = _db(extracted[name])
    tables = sorted((TRUTH / name).glob("files.o*.tsv"))
    assert tables
    for table in tables:
        offset = int(table.name.split(".")[1][1:])
        rows = _fs_rows(conn, offset)
        ours = Counter((_fls_key(r["path"], r["stream"]), r["md5"], r["sha1"], r["sha256"], r["alloc"] != "allocated")
                       for r in rows if r["md5"])
        expected = Counter(("/" + t["path"], t["md5"], t["sha1"], t["sha256"], t["alloc"] == "deleted")
                           for t in _tsv(table))
        missing = expected - ours
        assert not missing, f"{table.name}: {sorted(missing)[:5]}"
        listed = Counter()
        for line in (TRUTH / name / f"fls.o{offset}.txt").read_bytes().decode("utf-8", "backslashreplace").splitlines():
            m = _FLS_RE.match(line)
            assert m, line
            listed[("/" + m.group("path"), bool(m.group("del")))] += 1
        ours_listed = Counter((_fls_key(r["path"], r["stream"]), r["alloc"] != "allocated") for r in rows)
        assert not listed - ours_listed, sorted(listed - ours_listed)[:5]


@pytest.mark.parametrize("name", [n for n in FIXTURE_NAMES if (TRUTH / n / "exiftool.json").exists()])
def test_exif_matches_exiftool(name: str, extracted: dict[str, Path]) -> None:
    truth_file = TRUTH / name / "exiftool.json"
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    conn = _db(extracted[name])
    checked = 0
    for path, tags in truth.items():
        row = conn.execute("SELECT r.data FROM records r JOIN files f ON f.id = r.file_id "
                           "WHERE f.path = ? AND r.parser = 'exif'", ("/" + path,)).fetchone()
        if not any(k in tags for k in ("Make", "DateTimeOriginal", "GPSLatitude")):
            continue
        assert row is not None, f"no EXIF record for {path}"
        checked += 1
        data = json.loads(row["data"])
        assert data["make"] == tags.get("Make") and data["model"] == tags.get("Model")
        assert data["taken_local"] == tags.get("DateTimeOriginal")
        if "SerialNumber" in tags:
            assert data["serial"] == str(tags["SerialNumber"])
        for ours, key in (("latitude", "GPSLatitude"), ("longitude", "GPSLongitude"), ("altitude", "GPSAltitude")):
            if key in tags:
                expected = float(tags[key])
                if key == "GPSAltitude" and tags.get("GPSAltitudeRef") == 1:
                    expected = -expected
                assert data[ours] == pytest.approx(expected, abs=1e-6), (path, key)
        if "OffsetTimeOriginal" in tags and "DateTimeOriginal" in tags:
            local = datetime.strptime(tags["DateTimeOriginal"] + tags["OffsetTimeOriginal"].replace(":", ""),
                                      "%Y:%m:%d %H:%M:%S%z")
            assert data["taken_utc"] == local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert checked, f"{name}: exiftool truth has no EXIF photo"


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
            mtime = datetime.fromtimestamp(target.stat().st_mtime, timezone.utc)
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
