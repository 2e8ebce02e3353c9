"""How pipelines report progress and problems without printing anything."""
from __future__ import annotations

from typing import Protocol


class Cancelled(Exception):
    """Raised by a reporter (between files) to stop a run that was cancelled; the run is
    recorded as cancelled in the case database and the custody log, and what was written stays."""


class Reporter(Protocol):
    def stage(self, name: str, total_bytes: int | None = None, total_files: int | None = None) -> None: ...
    def totals(self, total_files: int | None, total_bytes: int | None) -> None: ...
    def advance(self, nbytes: int = 0, nfiles: int = 0) -> None: ...
    def problem(self, severity: str, message: str) -> None: ...
    def done(self) -> None: ...


class SilentReporter:
    """Collects problems; shows nothing (tests, --quiet)."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def stage(self, name: str, total_bytes: int | None = None, total_files: int | None = None) -> None:
        return None

    def totals(self, total_files: int | None, total_bytes: int | None) -> None:
        return None

    def advance(self, nbytes: int = 0, nfiles: int = 0) -> None:
        return None

    def problem(self, severity: str, message: str) -> None:
        self.problems.append((severity, message))

    def done(self) -> None:
        return None
