"""A job's progress: a :class:`~pipelines.events.Reporter` that publishes files, bytes and an
ETA (to Celery's result backend, through ``publish``) and checks between files whether the job
was cancelled (raising :class:`~pipelines.events.Cancelled`, which the extraction records)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pipelines.events import Cancelled

PUBLISH_EVERY = 1.0  # seconds
CHECK_CANCEL_EVERY = 0.5


class JobReporter:
    def __init__(self, publish: Callable[[dict[str, Any]], None], cancelled: Callable[[], str | None]) -> None:
        self._publish = publish
        self._cancelled = cancelled
        self.stage_name = "starting"
        self.files = self.bytes = 0
        self.total_files: int | None = None
        self.total_bytes: int | None = None
        self.warnings = self.errors = 0
        self._stage_started = time.monotonic()
        self._last_publish = self._last_check = 0.0

    def stage(self, name: str, total_bytes: int | None = None, total_files: int | None = None) -> None:
        self.stage_name, self.files, self.bytes = name, 0, 0
        self.total_files, self.total_bytes = total_files, total_bytes
        self._stage_started = time.monotonic()
        self.publish(force=True)

    def totals(self, total_files: int | None, total_bytes: int | None) -> None:
        self.total_files, self.total_bytes = total_files, total_bytes
        self.publish(force=True)

    def advance(self, nbytes: int = 0, nfiles: int = 0) -> None:
        self.files += nfiles
        self.bytes += nbytes
        now = time.monotonic()
        if nfiles and self.stage_name == "extract" and now - self._last_check >= CHECK_CANCEL_EVERY:
            self._last_check = now
            who = self._cancelled()
            if who:
                raise Cancelled(f"cancelled by {who}")
        self.publish()

    def problem(self, severity: str, message: str) -> None:
        if severity == "error":
            self.errors += 1
        else:
            self.warnings += 1

    def done(self) -> None:
        self.publish(force=True)

    def snapshot(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self._stage_started
        eta = None
        if self.total_bytes and self.bytes and elapsed > 0:
            eta = round((self.total_bytes - self.bytes) / (self.bytes / elapsed), 1)
        return {"stage": self.stage_name, "files": self.files, "bytes": self.bytes, "total_files": self.total_files,
                "total_bytes": self.total_bytes, "eta_seconds": eta, "warnings": self.warnings,
                "errors": self.errors}

    def publish(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_publish >= PUBLISH_EVERY:
            self._last_publish = now
            self._publish(self.snapshot())
