"""The output folder: links planted inside OUT are never followed (exports, case.db, custody log),
OUT may not hold the source, and sealing never sweeps foreign files in as tag files."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devicex.bagit import BundleError
from devicex.bundle import seal
from devicex.custody import Actor, CustodyLog
from devicex.outdir import OutputFolderError
from pipelines.extract import ExtractOptions, run
from tests.conftest import IMAGES
from tests.sealing_support import EXAMINER, signing_key, work_root  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
IMAGE = IMAGES / "fat16.img"


def _run(out: Path, source: Path = IMAGE) -> None:
    run(ExtractOptions(source=source, out=out, case_ref="O-1", exhibit_ref="E-1", workers=1))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def first_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("first") / "OUT"
    _run(out)
    return out


@pytest.mark.parametrize("planted", ["volume", "case.db", "custody.jsonl", "case.db-journal", "deep"])
def test_a_planted_link_is_refused_and_nothing_is_written_through_it(first_out: Path, tmp_path: Path,
                                                                     planted: str) -> None:
    out = tmp_path / "OUT"
    shutil.copytree(first_out, out, symlinks=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "other-case-custody.jsonl").write_bytes(b"")
    volume = next((out / "data" / "files").iterdir())
    if planted == "volume":  # data/files/<volume> -> a folder outside OUT
        shutil.rmtree(volume)
        os.symlink(elsewhere, volume)
    elif planted == "case.db":
        (out / "data" / "case.db").unlink()
        os.symlink(elsewhere / "case.db", out / "data" / "case.db")
    elif planted == "custody.jsonl":  # would append this case to another case's log
        (out / "custody.jsonl").unlink()
        os.symlink(elsewhere / "other-case-custody.jsonl", out / "custody.jsonl")
    elif planted == "case.db-journal":
        os.symlink(elsewhere / "journal", out / "data" / "case.db-journal")
    else:
        sub = next(p for p in volume.rglob("*") if p.is_dir())
        shutil.rmtree(sub)
        os.symlink(elsewhere, sub)
    before = _snapshot(out)
    with pytest.raises(OutputFolderError, match="symbolic link inside the output folder"):
        _run(out)
    assert _snapshot(elsewhere) == {"other-case-custody.jsonl": b""}
    assert _snapshot(out) == before
    res = subprocess.run([sys.executable, "-m", "devicex", "extract", str(IMAGE), "-o", str(out), "--case", "O-1",
                          "--exhibit", "E-1", "--full-extraction-reason", "test", "-q"], capture_output=True,
                         text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "300"},
                         timeout=300)
    assert res.returncode == 2 and "symbolic link inside the output folder" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert _snapshot(elsewhere) == {"other-case-custody.jsonl": b""}


def test_custody_log_link_planted_later_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "other.jsonl"
    target.write_bytes(b"")
    os.symlink(target, tmp_path / "custody.jsonl")
    with pytest.raises(OutputFolderError):
        CustodyLog(tmp_path / "custody.jsonl", Actor("a", "A"), None, None).append("note")
    assert target.read_bytes() == b""


def test_out_may_not_contain_the_source(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    shutil.copy(IMAGE, evidence / "device.img")
    for out in (evidence, tmp_path):  # the image's own folder, and a folder above it
        with pytest.raises(OutputFolderError, match="contains the evidence"):
            _run(out, evidence / "device.img")
    assert sorted(p.name for p in evidence.iterdir()) == ["device.img"]
    os.symlink(evidence, tmp_path / "alias")  # the same folder reached through a link
    with pytest.raises(OutputFolderError, match="contains the evidence"):
        _run(tmp_path / "alias", evidence / "device.img")


def test_seal_never_sweeps_foreign_files_in(first_out: Path, tmp_path: Path, signing_key) -> None:  # noqa: F811
    out = tmp_path / "OUT"
    shutil.copytree(first_out, out)
    for foreign in ("device.img", "notes.txt", "manifest-md5.txt"):
        (out / foreign).write_bytes(b"not part of the extraction")
        with pytest.raises(BundleError, match="not part of an extraction output"):
            seal(out, signing_key, EXAMINER)
        (out / foreign).unlink()
    (out / "extra").mkdir()
    with pytest.raises(BundleError, match="not part of an extraction output"):
        seal(out, signing_key, EXAMINER)
    (out / "extra").rmdir()
    assert not (out / "seal-statement.json").exists()
    seal(out, signing_key, EXAMINER)
    assert sorted(p.name for p in out.iterdir() if p.name != "data") == sorted(
        ["bagit.txt", "bag-info.txt", "custody.jsonl", "manifest-sha256.txt", "payload-sizes.txt",
         "seal-signature.ed25519", "seal-statement.json", "signing-key.pub.pem", "tagmanifest-sha256.txt"])


def test_report_is_never_written_through_a_link(first_out: Path, tmp_path: Path) -> None:
    out = tmp_path / "OUT"
    shutil.copytree(first_out, out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "data" / "report")
    res = subprocess.run([sys.executable, "-m", "devicex", "report", str(out), "-f", "html"], capture_output=True,
                         text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "300"},
                         timeout=300, check=False)
    assert res.returncode == 2 and "symbolic link inside the case folder" in res.stderr, res.stderr
    assert list(elsewhere.iterdir()) == []
