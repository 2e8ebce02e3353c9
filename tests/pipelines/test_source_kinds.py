"""The same extraction checks over every source kind: one phone-like tree
(fixtures/tools/mkphone.py) as a folder, tar, tar.gz, zip (with and without
extended timestamps), ext4, Android sparse, VHD, VHDX, VMDK and QCOW2.

Truth never comes from devicex: members extracted by GNU tar / unzip and
hashed with coreutils, times from ``tar -tvv --full-time`` and ``zipinfo -l -T``,
``fls``/``icat`` on the raw image that ``qemu-img convert`` / ``simg2img`` make
of each disk container, ``md5sum`` of the archive or of that raw image for the
intake hash.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devicex.bundle import seal
from devicex.custody import Actor
from devicex.keys import init_keys, load_private_key
from devicex.scope import parse_text
from devicex.verify import verify_bundle
from pipelines.extract import ExtractOptions, run
from pipelines.select import ScopeSelector
from reports import render
from tests.conftest import FIXTURES

KINDS = ("tree", "phone.tar", "phone.tar.gz", "phone.zip", "phone-dos.zip", "phone.ext4", "phone.simg",
         "phone.vhd", "phone.vhdx", "phone.vmdk", "phone.qcow2")
CONTAINER = {"tree": "folder", "phone.tar": "tar", "phone.tar.gz": "tar.gz", "phone.zip": "zip",
             "phone-dos.zip": "zip", "phone.ext4": "raw", "phone.simg": "android-sparse", "phone.vhd": "vhd",
             "phone.vhdx": "vhdx", "phone.vmdk": "vmdk", "phone.qcow2": "qcow2"}
ENV = dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8")
EXAMINER = Actor("T-1010", "Test Examiner")
PHOTOS = {"/data/media/0/DCIM/Camera/IMG_20230501_100000.jpg", "/data/media/0/DCIM/Camera/IMG_20230502_100000.jpg",
          "/private/var/mobile/Media/DCIM/100APPLE/IMG_0001.JPG"}
SCOPE = """scope_version = 1
[authorisation]
legal_basis = "PCSC 2022 s.37"
reference = "TEST/AUTH/10"
authorised_by = "DS 0000 Test Officer"
purpose = "Photos only"
user_agreement = true
dpn_reference = "DPN-TEST-10"
less_intrusive_means = "none suitable (test)"

[[select]]
paths = ["data/media/0/DCIM/**", "private/var/mobile/Media/DCIM/**"]
categories = ["images"]
"""


def _sh(*args: str | Path, cwd: Path | None = None) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, env=ENV, cwd=cwd).stdout.decode()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("phone")
    subprocess.run(["python3", str(FIXTURES / "tools" / "mkphone.py"), str(out / "kit")], check=True, env=ENV)
    return out / "kit"


_extracted: dict[str, Path] = {}


def extracted(kit: Path, kind: str) -> Path:
    if kind not in _extracted:
        out = kit.parent / f"out-{kind}"
        summary = run(ExtractOptions(source=kit / kind, out=out, workers=2, full_reason="test of every source kind",
                                     case_ref="OP-10", examiner=EXAMINER.name, examiner_id=EXAMINER.id))
        assert summary.fatal is None and summary.errors == 0 and summary.source_verified == "match", summary
        _extracted[kind] = out
    return _extracted[kind]


def _db(out: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(out / "data" / "case.db")
    conn.row_factory = sqlite3.Row
    return conn


def _hash_tree(root: Path) -> dict[str, str]:
    """sha256sum (coreutils) of every regular file under ``root``, by /path."""
    names = _sh("find", ".", "-type", "f", "-print0", cwd=root).split("\0")
    out = {}
    for line in _sh("sha256sum", "--", *[n for n in names if n], cwd=root).splitlines():
        digest, name = line.split("  ", 1)
        out["/" + name.removeprefix("./")] = digest
    return out


def _raw(kit: Path, kind: str) -> Path:
    raw = kit / f"{kind}.raw"
    if not raw.exists():
        if kind == "phone.ext4":
            return kit / kind
        if kind == "phone.simg":
            _sh("simg2img", kit / kind, raw)
        else:
            _sh("qemu-img", "convert", "-O", "raw", kit / kind, raw)
    return raw


def _epoch(text: str, fmt: str) -> int:
    return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp())


_truths: dict[str, dict[str, tuple[str, int | None, str | None]]] = {}


def truth(kit: Path, kind: str) -> dict[str, tuple[str, int | None, str | None]]:
    """/path -> (sha256, mtime as POSIX seconds or None, zone-less local time or None) of regular files."""
    if kind not in _truths:
        _truths[kind] = _truth(kit, kind)
    return _truths[kind]


def _truth(kit: Path, kind: str) -> dict[str, tuple[str, int | None, str | None]]:
    work = kit / f"truth-{kind}"
    if kind == "tree":
        hashes = _hash_tree(kit / "tree")
        times = {p: (int(_sh("stat", "-c", "%Y", kit / "tree" / p.lstrip("/")).strip()), None) for p in hashes}
    elif kind.startswith("phone.tar"):
        work.mkdir(exist_ok=True)
        _sh("tar", "-xf", kit / kind, "-C", work)
        hashes = _hash_tree(work)
        times = {}
        for line in _sh("tar", "-tvv", "--full-time", "-f", kit / kind).splitlines():
            m = re.match(r"^-\S+ \S+\s+\d+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (.*)$", line)
            if m:
                times["/" + m.group(2)] = (_epoch(m.group(1), "%Y-%m-%d %H:%M:%S"), None)
    elif kind.endswith(".zip"):
        work.mkdir(exist_ok=True)
        _sh("unzip", "-q", kit / kind, "-d", work)
        hashes = _hash_tree(work)
        times = {}
        for line in _sh("zipinfo", "-l", "-T", kit / kind).splitlines():
            m = re.match(r"^-\S{9}\s+\S+\s+\S+\s+\d+\s+\S+\s+\d+\s+\S+\s+(\d{8}\.\d{6}) (.*)$", line)
            if m:
                local = datetime.strptime(m.group(1), "%Y%m%d.%H%M%S")
                times["/" + m.group(2)] = ((None, local.isoformat()) if kind == "phone-dos.zip"
                                           else (_epoch(m.group(1), "%Y%m%d.%H%M%S"), None))
    else:
        raw = _raw(kit, kind)
        hashes, times = {}, {}
        for line in _sh("fls", "-r", "-m", "/", raw).splitlines():
            fields = line.split("|")
            path = "/" + fields[1].lstrip("/")
            if fields[3].startswith("r/r") and not path.startswith(("/lost+found", "/$OrphanFiles")):
                icat = subprocess.run(["icat", str(raw), fields[2]], check=True, capture_output=True).stdout
                hashes[path] = subprocess.run(["sha256sum"], input=icat, check=True,
                                              capture_output=True).stdout.decode().split()[0]
                times[path] = (int(fields[8]), None)
    return {p: (h, *times[p]) for p, h in hashes.items()}


def _iso_epoch(text: str | None) -> int | None:
    return None if text is None else int(datetime.fromisoformat(text).timestamp())


@pytest.mark.parametrize("kind", KINDS)
def test_entries_hashes_and_times_match_independent_tools(built: Path, kind: str) -> None:
    out = extracted(built, kind)
    with _db(out) as conn:
        rows = {r["path"]: r for r in conn.execute("SELECT * FROM files WHERE kind = 'file'")}
        source = conn.execute("SELECT * FROM sources").fetchone()
    expected = truth(built, kind)
    assert expected and set(rows) == set(expected)
    for path, (sha256, mtime, local) in expected.items():
        row = rows[path]
        assert row["sha256"] == sha256 and row["status"] == "ok", path
        assert _iso_epoch(row["mtime"]) == mtime, path
        assert row["mtime_local"] == local, path
    assert source["container"] == CONTAINER[kind] and source["verified"] == "match"
    if kind != "tree":  # intake MD5: of the archive file, or of the media the container stands for
        hashed = built / kind if "tar" in kind or kind.endswith(".zip") else _raw(built, kind)
        assert source["md5"] == _sh("md5sum", hashed).split()[0]


@pytest.mark.parametrize("kind", KINDS)
def test_links_are_recorded_never_followed(built: Path, kind: str) -> None:
    with _db(extracted(built, kind)) as conn:
        link = conn.execute("SELECT kind, link_target FROM files WHERE path = '/data/user/0'").fetchone()
        under_link = conn.execute("SELECT count(*) FROM files WHERE path LIKE '/data/user/0/%'").fetchone()[0]
    assert tuple(link) == ("symlink", "/data/data") and under_link == 0


@pytest.mark.parametrize("kind", KINDS)
def test_exports_reports_seal_and_verify(built: Path, kind: str, tmp_path: Path) -> None:
    out = extracted(built, kind)
    with _db(out) as conn:
        files = conn.execute("SELECT path, sha256, export_path FROM files WHERE kind = 'file'").fetchall()
        count = conn.execute("SELECT count(*) FROM files").fetchone()[0]
    for path, sha256, export in files:
        assert _sh("sha256sum", out / "data" / export).split()[0] == sha256, path
    bundle = tmp_path / "bundle"
    shutil.copytree(out, bundle)
    outcome = render(bundle, "csv,jsonl,bodyfile,timesketch,dfxml,case")
    export = bundle / "data" / "export"
    assert len((export / "files.csv").read_text(encoding="utf-8-sig").strip().splitlines()) == count + 1
    assert len((export / "files.jsonl").read_text().splitlines()) == count
    assert len((export / "bodyfile.txt").read_text().splitlines()) == count
    fileobjects = ET.parse(export / "dfxml.xml").getroot().iter("{http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML}fileobject")
    assert len(list(fileobjects)) == count
    assert json.loads((export / "files.jsonl").read_text().splitlines()[0])["path"]
    assert outcome.written
    key = load_private_key(init_keys(tmp_path / "keys" / "examiner.pem").private_path)
    seal(bundle, key, EXAMINER, organisation="Test Digital Forensics Unit")
    assert verify_bundle(bundle).ok


@pytest.mark.parametrize("kind", KINDS)
def test_scope_takes_only_the_photos(built: Path, kind: str, tmp_path: Path) -> None:
    scope = parse_text(SCOPE, name="photos.toml")
    summary = run(ExtractOptions(source=built / kind, out=tmp_path / "out", selector=ScopeSelector(scope),
                                 scope_text=scope.text, workers=2, examiner=EXAMINER.name))
    assert summary.fatal is None and summary.source_verified == "match"
    with _db(tmp_path / "out") as conn:
        taken = {r[0]: r[1] for r in conn.execute("SELECT path, sha256 FROM files WHERE kind = 'file'")}
    expected = truth(built, kind)
    assert taken == {p: expected[p][0] for p in PHOTOS}
    exported = sorted(p.name for p in (tmp_path / "out" / "data" / "files").rglob("*") if p.is_file())
    assert exported == sorted(Path(p).name for p in PHOTOS)
