"""A rich progress display implementing pipelines' Reporter protocol."""
from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from devicex.safetext import visible


class RichReporter:
    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.problems: list[tuple[str, str]] = []
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TextColumn("{task.fields[files]}{task.fields[of]} files"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=True, disable=quiet)
        self._task: TaskID | None = None
        self._files = 0
        self._bytes = 0  # advanced since the display was last updated
        self._due = 0.0  # when the display is updated next (advance comes once per entry: rich is not asked each time)
        self._progress.start()

    def stage(self, name: str, total_bytes: int | None = None, total_files: int | None = None) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._files = self._bytes = 0
        self._due = 0.0
        of = f"/{total_files}" if total_files is not None else ""
        self._task = self._progress.add_task(name, total=total_bytes, files=0, of=of)

    def totals(self, total_files: int | None, total_bytes: int | None) -> None:
        """The current stage's totals, known only after it started (they give the ETA)."""
        if self._task is not None and total_files is not None:
            self._progress.update(self._task, total=total_bytes, of=f"/{total_files}")
            self._due = 0.0

    def advance(self, nbytes: int = 0, nfiles: int = 0) -> None:
        if self._task is None or self.quiet:  # (once per entry: nothing to show when quiet)
            return
        self._files += nfiles
        self._bytes += nbytes
        now = time.monotonic()
        if now >= self._due:  # at most ten times a second (the display's own refresh rate)
            self._progress.update(self._task, advance=self._bytes, files=self._files)
            self._bytes = 0
            self._due = now + 0.1

    def problem(self, severity: str, message: str) -> None:
        self.problems.append((severity, message))
        if not self.quiet or severity == "error":
            style = "red" if severity == "error" else "yellow"
            self._progress.console.print(f"[{style}]{severity}:[/] {escape(visible(message))}", soft_wrap=True)

    def done(self) -> None:
        self._progress.stop()


__all__ = ["RichReporter", "MofNCompleteColumn"]
