"""The extraction pipeline's entry count for the progress bar's totals and ETA (made in a
forked process while the intake hash runs) against what the extraction itself then wrote."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from pipelines.extract import ExtractOptions, _Plan, run
from tests.conftest import FIXTURES


def test_planned_totals_equal_what_the_extraction_walked(tmp_path: Path) -> None:
    image = FIXTURES / "images" / "mbr2.img"  # two partitions, two file systems
    planned = _Plan(image).totals()
    summary = run(ExtractOptions(source=image, out=tmp_path / "out", full_reason="test"))
    assert summary.files and summary.fatal is None
    with sqlite3.connect(tmp_path / "out" / "data" / "case.db") as db:
        entries, content = db.execute(
            "SELECT count(*), sum(CASE WHEN status != 'no-content' THEN size ELSE 0 END) FROM files").fetchone()
    assert planned == (entries, content)


def test_a_source_that_cannot_be_counted_gives_no_totals(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    not_an_image = tmp_path / "notes.img"
    not_an_image.write_bytes(b"just some text, no partition table or file system\n" * 100)
    assert _Plan(not_an_image).totals() == (0, 0)  # opens, finds nothing to walk
    assert _Plan(tmp_path / "missing.img").totals() == (None, None)  # cannot open: no totals
    assert capfd.readouterr().err == ""  # and no traceback from the counting process


def test_totals_arrive_once_without_blocking_and_stop_ends_the_count(tmp_path: Path) -> None:
    image = FIXTURES / "images" / "mbr2.img"
    plan = _Plan(image)
    deadline = time.monotonic() + 60
    while not plan.ready():  # polled from the walk loop: never blocks
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not plan.ready()  # once
    files, nbytes = plan.totals()
    assert files and nbytes
    plan.stop()
    busy = _Plan(image)
    busy.stop()  # the extraction finished first: the count is abandoned, the process gone
    assert not busy._proc.is_alive()
