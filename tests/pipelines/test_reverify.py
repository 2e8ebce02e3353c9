"""``--reverify``: how the media is hashed again after extraction (SHA-256 only by default, all three intake
hashes, or not at all), what the custody log, case.db and ``verify`` say about it, and that a source changed
during the run still fails it."""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import pipelines.extract as extract_module
from devicex.bundle import seal
from devicex.custody import Actor
from devicex.keys import init_keys, load_private_key
from devicex.verify import verify_bundle
from pipelines.events import SilentReporter
from pipelines.extract import ExtractOptions, run
from pipelines.reverify import EarlyReverify
from tests.conftest import FIXTURES

REPO = Path(__file__).resolve().parents[2]
IMAGE = FIXTURES / "images" / "ntfs.img"


def _reverify_entry(out: Path) -> dict:
    entries = [json.loads(line) for line in (out / "custody.jsonl").read_text().splitlines()]
    found = [e for e in entries if e["action"] == "source-reverify"]
    assert len(found) == 1
    return found[0]


def _source_row(out: Path) -> tuple:
    with sqlite3.connect(out / "data" / "case.db") as db:
        return db.execute("SELECT md5, sha1, sha256, verify_md5, verify_sha1, verify_sha256, verified "
                          "FROM sources").fetchone()


def _truth(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    return {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256")}


@pytest.mark.parametrize("choice", ["sha256", "all", "none"])
def test_choice_is_recorded_and_the_bundle_verifies(tmp_path: Path, choice: str) -> None:
    out = tmp_path / "out"
    args = [sys.executable, "-m", "devicex", "extract", str(IMAGE), "-o", str(out), "-q",
            "--full-extraction-reason", "test", "--workers", "1"] + (["--reverify", choice] if choice != "sha256"
                                                                   else [])
    assert subprocess.run(args, cwd=REPO, check=False).returncode == 0
    truth = _truth(IMAGE)
    entry = _reverify_entry(out)
    expect = {"sha256": ["sha256"], "all": ["md5", "sha1", "sha256"], "none": []}[choice]
    assert entry["details"]["reverify"] == choice and entry["details"]["algorithms"] == expect
    assert {k: entry["details"][k] for k in expect} == {k: truth[k] for k in expect}
    row = _source_row(out)
    assert row[:3] == (truth["md5"], truth["sha1"], truth["sha256"])  # intake keeps all three
    assert row[3:6] == tuple(truth[k] if k in expect else None for k in ("md5", "sha1", "sha256"))
    assert row[6] == ("not-reverified" if choice == "none" else "match")
    assert entry["result"] == ("skipped" if choice == "none" else "ok")
    key = load_private_key(init_keys(tmp_path / "k.pem").private_path)
    seal(out, key, Actor("T-1", "Tester"))
    result = verify_bundle(out)
    assert result.ok, result.failures
    choice_warnings = [w for w in result.warnings if "not re-verified, by the examiner's choice" in w]
    assert len(choice_warnings) == (1 if choice == "none" else 0)
    assert result.info["sources"][0]["reverified"] == ("not-reverified" if choice == "none" else "match")


def _flip_a_byte(image: Path) -> None:
    with open(image, "r+b") as fh:
        fh.seek(4096)
        old = fh.read(1)
        fh.seek(4096)
        fh.write(bytes([old[0] ^ 0xFF]))


@pytest.mark.parametrize("choice", ["sha256", "all"])
def test_a_source_changed_during_the_run_is_a_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       choice: str) -> None:
    """One byte of the (copied) source changes once the extraction has read it for the last time, just before
    the re-verification reads it."""
    image = tmp_path / "copy.img"
    shutil.copyfile(IMAGE, image)

    class ChangesTheSource(EarlyReverify):
        def start(self) -> None:
            _flip_a_byte(image)
            super().start()

    monkeypatch.setattr(extract_module, "EarlyReverify", ChangesTheSource)
    out = tmp_path / "out"
    summary = run(ExtractOptions(source=image, out=out, full_reason="test", workers=1, reverify=choice),
                  SilentReporter())
    assert summary.source_verified == "mismatch"
    assert _reverify_entry(out)["result"] == "mismatch"
    assert _source_row(out)[6] == "mismatch"
    key = load_private_key(init_keys(tmp_path / "k.pem").private_path)
    seal(out, key, Actor("T-1", "Tester"))
    assert "source-hash-mismatch" in verify_bundle(out).codes()
