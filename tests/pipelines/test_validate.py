"""`devicex validate` on the shipped fixtures (as CI and a lab run it): the record passes, is
signed so that `devicex verify` checks it, lists truth-tool faults with their raw bytes, and an
extraction can run under it; a wrong truth value is reported as a disagreement."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.validate import Validation
from pipelines.validate.truth import load_dataset
from tests.conftest import CORPUS, FIXTURES, IMAGES, REPO, needs_corpus


def _devicex(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "devicex", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=900, check=False)


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("validate")
    key = tmp / "key.pem"
    assert _devicex("keys", "init", "--key", str(key), "--no-passphrase").returncode == 0
    out = tmp / "record"
    proc = _devicex("validate", "-o", str(out), "--key", str(key), "--examiner", "Q. Manager")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, key


def test_validate_on_the_shipped_data_passes_and_is_signed(record: tuple[Path, Path]) -> None:
    out, _ = record
    data = json.loads((out / "data" / "validation.json").read_text(encoding="utf-8"))
    assert data["result"] == "pass"
    statuses = {r["id"]: r["status"] for r in data["summary"]}
    for rid in ("media-hashes", "entries-listed", "deleted-found", "content-hashes", "times", "exif", "exports",
                "scope-exclusion", "custody-chain", "bundle-verification", "tamper-detection"):
        assert statuses[rid] == "pass", rid
    parsers = {r["id"]: r for r in data["requirements"] if r["id"].startswith("parser:")}
    assert len(parsers) == 12 and all(r["status"] == "pass" and r["compared"] > 0 for r in parsers.values())
    for name in ("android_sms", "android_calls", "ios_sms", "safari_history", "firefox_places", "chrome_history"):
        assert "plaso-test-expectations.md" in parsers[f"parser:{name}"]["truth"], name
    assert any(c["media"] == "fixtures:comms/plaso/ (folder)" and c["read"] for c in data["coverage"])
    for key in ("devicex", "devicex_commit", "python", "tsk", "libewf", "libmagic", "exifread", "os", "machine",
                "date"):
        assert data["environment"][key], key
    times = next(r for r in data["requirements"] if r["id"] == "times")
    assert times["truth_tool_faults"] > 0  # exFAT access times: TSK keeps the date only
    for fault in times["truth_tool_fault_list"]:
        assert "directory entry at image byte" in fault["evidence"] or "MFT record" in fault["evidence"]
    html = (out / "data" / "validation.html").read_text(encoding="utf-8")
    assert "devicex validation record" in html and "<script" not in html
    verify = _devicex("verify", str(out))
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_tampering_with_the_record_fails_verification(record: tuple[Path, Path], tmp_path: Path) -> None:
    copy = tmp_path / "record"
    shutil.copytree(record[0], copy)
    path = copy / "data" / "validation.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"result": "pass"', '"result": "PASS"', 1),
                    encoding="utf-8")
    assert _devicex("verify", str(copy)).returncode == 5


def test_an_extraction_records_the_validation_it_runs_under(record: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "x"
    proc = _devicex("extract", str(IMAGES / "mbr2.img"), "-o", str(out), "--full-extraction-reason", "test", "-q",
                    "--validation", str(record[0]))
    assert proc.returncode == 0, proc.stderr
    params = json.loads(sqlite3.connect(out / "data" / "case.db").execute("SELECT params FROM runs").fetchone()[0])
    assert params["validation"]["result"] == "pass"
    assert params["validation"]["record_sha256"]
    custody = [json.loads(line) for line in (out / "custody.jsonl").read_text(encoding="utf-8").splitlines()]
    start = next(e for e in custody if e["action"] == "extraction-start")
    assert start["details"]["parameters"]["validation"] == params["validation"]
    bad = tmp_path / "not-a-record"
    bad.mkdir()
    proc = _devicex("extract", str(IMAGES / "mbr2.img"), "-o", str(tmp_path / "y"), "--full-extraction-reason", "t",
                    "--validation", str(bad))
    assert proc.returncode == 2 and "--validation" in proc.stderr and "Traceback" not in proc.stderr


def test_a_wrong_truth_value_is_a_listed_disagreement(tmp_path: Path) -> None:
    """The comparison can fail: one MD5 changed in a copy of the ntfs.img truth is reported,
    with the image, the item, devicex's value and the truth's."""
    ds = tmp_path / "lab"
    (ds / "images").mkdir(parents=True)
    shutil.copy(IMAGES / "ntfs.img", ds / "images" / "ntfs.img")
    shutil.copytree(FIXTURES / "truth" / "ntfs.img", ds / "truth" / "ntfs.img")
    table = ds / "truth" / "ntfs.img" / "files.o0.tsv"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if "\tUsers/alice/Documents/notes.txt\t" in line)
    real_md5 = lines[row].split("\t")[0]
    lines[row] = "0" * 32 + lines[row][32:]
    table.write_text("".join(lines), encoding="utf-8")
    v = Validation(tmp_path / "work", lambda _: [], lambda _: None)
    v.dataset(load_dataset(ds))
    tally = v.tallies["content-hashes"]
    assert tally.status == "fail" and len(tally.disagreements) == 1
    finding = tally.disagreements[0]
    assert finding.image == "lab:ntfs.img" and "notes.txt" in finding.item
    assert finding.truth == "0" * 32 and real_md5 in finding.devicex


def test_a_folder_that_is_not_a_dataset_is_one_line(tmp_path: Path) -> None:
    proc = _devicex("validate", "-o", str(tmp_path / "r"), "--no-seal", "--dataset", str(tmp_path))
    assert proc.returncode == 2 and "not a validation dataset" in proc.stderr and "Traceback" not in proc.stderr


@needs_corpus
def test_media_no_truth_tool_read_say_what_devicex_makes_of_them(tmp_path: Path) -> None:
    ds = load_dataset(CORPUS)
    ds.filesystems, ds.media_hashes, ds.photo_folders = [], {}, []
    v = Validation(tmp_path, lambda _: [], lambda _: None)
    v.dataset(ds)
    notes = {c.media: c.note for c in v.outcome.coverage if not c.read}
    assert notes["corpus:dfvfs/image-differential.vhd"].endswith("devicex: differencing VHD: needs its parent image "
                                                                  "(image.vhd), not read")
    assert notes["corpus:sleuthkit/bogus.E01"].endswith("devicex: empty file (0 bytes), not a device image")
