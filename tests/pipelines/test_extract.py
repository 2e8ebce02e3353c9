"""The extraction pipeline's entry count for the progress bar's totals and ETA (made in a
forked process while the intake hash runs) against what the extraction itself then wrote."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devicex.custody import check_chain
from pipelines.events import Cancelled, SilentReporter
from pipelines.extract import ExtractOptions, run
from pipelines.plan import Plan
from tests.conftest import FIXTURES


def test_planned_totals_equal_what_the_extraction_walked(tmp_path: Path) -> None:
    image = FIXTURES / "images" / "mbr2.img"  # two partitions, two file systems
    planned = Plan(image).totals()
    summary = run(ExtractOptions(source=image, out=tmp_path / "out", full_reason="test"))
    assert summary.files and summary.fatal is None
    with sqlite3.connect(tmp_path / "out" / "data" / "case.db") as db:
        entries, content = db.execute(
            "SELECT count(*), sum(CASE WHEN status != 'no-content' THEN size ELSE 0 END) FROM files").fetchone()
    assert planned == (entries, content)


def test_a_source_that_cannot_be_counted_gives_no_totals(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    not_an_image = tmp_path / "notes.img"
    not_an_image.write_bytes(b"just some text, no partition table or file system\n" * 100)
    assert Plan(not_an_image).totals() == (0, 0)  # opens, finds nothing to walk
    assert Plan(tmp_path / "missing.img").totals() == (None, None)  # cannot open: no totals
    assert capfd.readouterr().err == ""  # and no traceback from the counting process


def test_totals_arrive_once_without_blocking_and_stop_ends_the_count(tmp_path: Path) -> None:
    image = FIXTURES / "images" / "mbr2.img"
    plan = Plan(image)
    deadline = time.monotonic() + 60
    while not plan.ready():  # polled from the walk loop: never blocks
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not plan.ready()  # once
    files, nbytes = plan.totals()
    assert files and nbytes
    plan.stop()
    busy = Plan(image)
    busy.stop()  # the extraction finished first: the count is abandoned, the process gone
    assert not busy._proc.is_alive()


def test_ctrl_c_is_for_the_parent_the_counting_process_ignores_it(capfd: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C reaches the whole process group: the parent stops the run (one line, exit 130, see
    tests/devicex/test_cli_bad_input.py); the counting process must not print a traceback."""
    plan = Plan(FIXTURES / "images" / "mbr2.img")
    pid = plan._proc.pid
    assert pid is not None
    while plan._proc.is_alive():
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            break
        time.sleep(0.001)
    files, nbytes = plan.totals()
    assert files and nbytes  # it finished its count
    assert "Traceback" not in capfd.readouterr().err


def test_ctrl_c_during_a_run_stops_it_cleanly_and_the_record_says_so(tmp_path: Path) -> None:
    """Ctrl-C to the whole process group (as a terminal sends it) while the media is hashed: one line,
    exit 130, no traceback from any process, no process left behind, and the case database and the
    (still valid) custody log record an interrupted run."""
    image = tmp_path / "big-sparse.img"  # the NTFS fixture at offset 0, then 3 GiB of holes: a long intake hash
    image.write_bytes((FIXTURES / "images" / "ntfs.img").read_bytes())
    os.truncate(image, 3 << 30)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "devicex", "extract", str(image), "-o", str(out), "-q",
                             "--full-extraction-reason", "test"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509 - a runner started in the background ignores SIGINT; the CLI must not
    custody = out / "custody.jsonl"
    deadline = time.monotonic() + 60
    while not (custody.exists() and b'"source-open"' in custody.read_bytes()):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)  # well inside the intake hash of 3 GiB (seconds), the counting process running
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the group is left
    report = check_chain(custody.read_bytes())
    assert report.ok, report.issues
    assert [e.entry["action"] for e in report.entries][-1] == "extraction-interrupted"
    with sqlite3.connect(out / "data" / "case.db") as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]


class _CancelsAfter(SilentReporter):
    """Cancels the run (as a queued job's reporter does) when the ``files``-th result is counted."""

    def __init__(self, files: int) -> None:
        super().__init__()
        self.left = files

    def advance(self, nbytes: int = 0, nfiles: int = 0) -> None:
        self.left -= nfiles
        if nfiles and self.left <= 0:
            raise Cancelled("cancelled by the test")


@pytest.mark.parametrize("image", ["ntfs.img", "ext4.img"])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_cancelled_run_logs_the_rows_it_wrote(tmp_path: Path, image: str, workers: int) -> None:
    """The closing custody entry of a run stopped part way says how many files rows case.db holds for it
    (results are counted as they come back, some before their rows are written in walk order)."""
    out = tmp_path / "out"
    with pytest.raises(Cancelled):
        run(ExtractOptions(source=FIXTURES / "images" / image, out=out, full_reason="test", workers=workers),
            _CancelsAfter(12))
    closing = json.loads((out / "custody.jsonl").read_text().splitlines()[-1])
    assert closing["action"] == "extraction-cancelled"
    with sqlite3.connect(out / "data" / "case.db") as db:
        written = db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        assert db.execute("SELECT status FROM runs").fetchall() == [("cancelled",)]
    assert closing["details"]["files_written"] == written
    assert written < 40  # stopped part way
