"""The progress display (rich): files x/y, bytes and ETA once totals are known."""
from __future__ import annotations

import io

import pytest
from rich.console import Console

from cli import progress
from cli.progress import RichReporter


def _render(reporter: RichReporter) -> str:
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    console.print(reporter._progress.get_renderable())
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_totals_given_after_the_stage_started_show_as_x_of_y() -> None:
    reporter = RichReporter(Console(file=io.StringIO()), quiet=False)
    try:
        reporter.stage("extract")
        reporter.advance(nbytes=1000, nfiles=3)
        assert "3 files" in _render(reporter) and "3/" not in _render(reporter)
        reporter.totals(51, 11_000_000)
        reporter.advance(nbytes=1000, nfiles=2)
        shown = _render(reporter)
        assert "5/51 files" in shown and "11.0 MB" in shown
        reporter.totals(None, None)  # counting failed: the display keeps what it has
        assert "5/51 files" in _render(reporter)
    finally:
        reporter.done()


def test_advances_between_updates_are_carried_into_the_next_one(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    reporter = RichReporter(Console(file=io.StringIO()), quiet=False)
    try:
        reporter.stage("extract")
        reporter.totals(2001, 2_001_000)
        for _ in range(2000):  # all within the same tenth of a second: the display takes the first only
            reporter.advance(nbytes=1000, nfiles=1)
        assert "1/2001 files" in _render(reporter)
        clock[0] += 0.1
        reporter.advance(nbytes=1000, nfiles=1)
        assert "2001/2001 files" in _render(reporter) and "2.0/2.0 MB" in _render(reporter)
    finally:
        reporter.done()
