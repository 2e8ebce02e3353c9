"""kill -9 of a real extraction at several moments: its workers die with it, and a rerun into the same OUT
closes the killed run's record (interrupted, what it had done, custody entry) and leaves a folder that seals
and verifies."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from devicex.bundle import seal
from devicex.custody import Actor, check_chain
from devicex.keys import fingerprint
from devicex.verify import verify_bundle
from tests.conftest import IMAGES, REPO
from tests.sealing_support import session_key

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(image: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "devicex", "extract", str(image), "-o", str(out), "-q",
                             "--workers", "2", "--full-extraction-reason", "test"], cwd=REPO, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _wait_for(proc: subprocess.Popen[bytes], ready: callable[[], bool], what: str) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + 60
    while not ready():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def _logged(out: Path, action: str) -> bool:
    path = out / "custody.jsonl"
    return path.exists() and f'"action":"{action}"'.encode() in path.read_bytes()


@pytest.fixture(scope="module")
def slow_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The NTFS fixture followed by 384 MiB of holes: a hash long enough to be killed in."""
    image = tmp_path_factory.mktemp("kill") / "ntfs-padded.img"
    image.write_bytes((IMAGES / "ntfs.img").read_bytes())
    os.truncate(image, 384 << 20)
    return image


MOMENTS = {
    "intake-hash": lambda out, pid: _logged(out, "source-open"),
    "walk-with-workers": lambda out, pid: _logged(out, "extraction-start") and len(_children(pid)) >= 2,
    "after-walk": lambda out, pid: _logged(out, "extraction-start") and not _children(pid)
    and (out / "data" / "case.db").exists() and _files(out) > 0,
}


def _files(out: Path) -> int:
    try:
        with closing(sqlite3.connect(f"file:{out / 'data' / 'case.db'}?mode=ro", uri=True, timeout=0.05)) as db:
            return int(db.execute("SELECT COUNT(*) FROM files").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("moment", sorted(MOMENTS))
def test_kill_9_then_rerun_closes_the_record_and_the_folder_verifies(tmp_path: Path, slow_image: Path,
                                                                      moment: str) -> None:
    out = tmp_path / "out"
    proc = _start(slow_image, out)
    _wait_for(proc, lambda: MOMENTS[moment](out, proc.pid), moment)
    children = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)  # the main process only: its workers must follow by themselves
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not [c for c in children if _alive(c)], "worker processes outlived the killed run"
    with closing(sqlite3.connect(out / "data" / "case.db")) as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("running",)]

    rerun = subprocess.run(check=False, args=[sys.executable, "-m", "devicex", "extract", str(slow_image), "-o", str(out), "-q",
                            "--full-extraction-reason", "test"], cwd=REPO, env=ENV, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    with closing(sqlite3.connect(out / "data" / "case.db")) as db:
        assert db.execute("SELECT id, status FROM runs ORDER BY id").fetchall() == [(1, "interrupted"),
                                                                                   (2, "completed")]
        recorded = db.execute("SELECT COUNT(*) FROM files WHERE run_id = 1").fetchone()[0]
        # the killed run's source: re-verified by the rerun's intake if it was hashed; a disk image is hashed
        # by the pass that reads the content, so a run killed before that pass ends claims no hash at all
        assert db.execute("SELECT verified, sha256 IS NULL FROM sources ORDER BY id").fetchall() in (
            [("match", 0)], [("match", 0), ("match", 0)], [("not-run", 1), ("match", 0)])
    report = check_chain((out / "custody.jsonl").read_bytes())
    assert report.ok, report.issues
    closed = [e.entry for e in report.entries if e.entry["action"] == "extraction-interrupted"]
    assert len(closed) == 1 and closed[0]["details"]["run_id"] == 1
    assert closed[0]["details"]["entries_recorded"] == recorded
    assert closed[0]["details"]["found_by_run"] == 2
    key = session_key(tmp_path)[0]
    seal(out, key, Actor("T-1", "Test Examiner"))
    result = verify_bundle(out, fingerprint(key.public_key()))
    assert result.ok, [f"{f.code} {f.path} {f.message}" for f in result.failures]


def test_a_second_run_into_an_out_in_use_is_refused(tmp_path: Path, slow_image: Path) -> None:
    out = tmp_path / "out"
    proc = _start(slow_image, out)
    try:
        _wait_for(proc, lambda: _logged(out, "source-open"), "the first run's intake")
        second = subprocess.run(check=False, args=[sys.executable, "-m", "devicex", "extract", str(slow_image), "-o", str(out), "-q",
                                 "--full-extraction-reason", "test"], cwd=REPO, env=ENV, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 6, second.stderr
        assert "another devicex run is writing to this case" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        proc.kill()
        proc.wait()
    assert json.loads((out / "custody.jsonl").read_bytes().splitlines()[-1])["action"] != "extraction-interrupted"
