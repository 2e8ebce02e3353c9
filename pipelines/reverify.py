"""The re-verification of a disk image, begun as soon as the extraction has read the media for the last time.

The one read of the media ends before the extraction does: the worker processes still hash, type, export and
parse the bytes it handed them, and the results are still being written. None of that reads the source, so the
re-verification can read it meanwhile instead of after. Whether nothing else read the source once it began is
not assumed but checked: the bytes read from the media (counted where the source reads them, by this process
and by the workers) must have grown by exactly what the re-verification itself read. If anything else was read
(a stream read on its own after the pass, an attachment looked up), the re-verification is done again after
the run's last read, as it would have been without this. Either way its hashes are those of the media after
every read of the extraction.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from devicex.sources import Source
from pipelines.events import Reporter
from pipelines.intake import REVERIFY_STAGE, Reverify, reverify_hashes, reverify_media


class _Stopped(Exception):
    """Stop reading: the run ended without needing the re-verification (an error, an interruption), or the
    source was read by something else after it began, so it is to be done again after the last read."""


class EarlyReverify:
    """``start`` once the extraction has read the media for the last time; ``result`` when the run needs it."""

    def __init__(self, src: Source, choice: str, reads: Callable[[], int]) -> None:
        self.src, self.choice = src, choice
        self._reads = reads  # bytes read from the media so far, by this process and the workers
        self._thread: threading.Thread | None = None
        self._before = 0
        self._own = 0  # bytes the re-verification read (only its thread writes it)
        self._done = 0  # bytes hashed, for the progress display
        self._stop = False
        self._outcome: Reverify | None = None
        self._error: BaseException | None = None
        self.repeated = False  # done again because the source was read after it began

    def start(self) -> None:
        """Begin the read (the extraction's stage and progress stay on show until :meth:`result`)."""
        if self.choice == "none" or self._thread is not None:
            return
        self._before = self._reads()
        self._thread = threading.Thread(target=self._run, name="devicex-reverify", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._outcome = reverify_hashes(self._read_into, self.src.size, self.choice, self._progress)
        except BaseException as exc:  # noqa: BLE001 - handed to the run's thread by result()
            self._error = exc

    def _read_into(self, offset: int, view: memoryview) -> int:
        if self._stop or self._read_by_others():
            raise _Stopped
        count = self.src.read_into(offset, view)
        self._own += count
        return count

    def _progress(self, nbytes: int) -> None:
        self._done += nbytes

    def result(self, reporter: Reporter) -> Reverify:
        """The re-verification's hashes: those of the early read if nothing else read the source after it
        began, else of a read made now."""
        thread = self._thread
        if thread is None:
            return reverify_media(self.src, reporter, self.choice)
        reporter.stage(REVERIFY_STAGE, total_bytes=self.src.size)
        shown = 0
        while thread.is_alive() or shown < self._done:
            thread.join(0.1)
            reporter.advance(nbytes=self._done - shown)
            shown = self._done
        if self._read_by_others():
            self.repeated = True
            return reverify_media(self.src, reporter, self.choice)
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return self._outcome

    def _read_by_others(self) -> bool:
        """Whether anything but the re-verification read the source since it began."""
        return self._reads() - self._own != self._before

    def cancel(self) -> None:
        """Stop the early read (the run ends without the re-verification)."""
        self._stop = True
        if self._thread is not None:
            self._thread.join()
