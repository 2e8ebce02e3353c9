"""Counting what an extraction will walk, for the progress bar's totals and ETA."""
from __future__ import annotations

import multiprocessing
import os
import signal
from multiprocessing.connection import Connection
from pathlib import Path

from devicex.sources import open_source
from devicex.sources.base import MediaReads
from pipelines.lifetime import die_with_parent


class Plan:
    """Entries and declared content bytes to come (a metadata-only walk), for the progress bar's
    totals and ETA. Counted in a forked process on its own read-only handle of the source, started
    before the intake hash: on two cores it runs beside the hash threads (a thread would contend
    with them for the GIL) and the extraction never waits for it; the totals are shown when they
    arrive. Counting is optional: if it fails (the extraction's own walk reports the problem),
    progress has no totals; a source that cannot be counted without reading it twice (a streamed
    archive) is not counted."""

    def __init__(self, source: Path, countable: bool = True) -> None:
        self._totals: tuple[int | None, int | None] | None = None
        self.media_bytes_read = 0  # by the counting process (known once the totals arrived)
        if not countable:
            self._totals = (None, None)
            return
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_count_entries, args=(source, send, os.getpid()), name="devicex-plan",
                                 daemon=True)
        # Ctrl-C is for the parent (it stops the run; this daemon process ends with it): the child ignores it,
        # and SIGINT stays blocked across the fork so that none can land before the child says so.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._proc.start()  # forked before any thread of this run exists
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        send.close()

    def ready(self) -> bool:
        """True once, when the totals have arrived (never blocks)."""
        if self._totals is not None or self._recv.closed or not self._recv.poll():
            return False
        self._receive()
        return True

    def totals(self) -> tuple[int | None, int | None]:
        """(entries, content bytes), waiting for them if need be; (None, None) if they could not be counted."""
        if self._totals is None:
            self._receive()
        assert self._totals is not None
        return self._totals

    def _receive(self) -> None:
        try:
            files, nbytes, self.media_bytes_read = self._recv.recv()
            self._totals = (files, nbytes)
        except EOFError:  # the counting process died
            self._totals = (None, None)
        self._recv.close()
        self._proc.join()

    def stop(self) -> None:
        """The extraction is done: totals no longer matter; stop counting if still at it."""
        if not hasattr(self, "_proc"):
            return
        if self._totals is None and not self._recv.closed and self._recv.poll():
            self._receive()  # counted, but not yet asked for: its media reads are the run's too
        if self._totals is None and self._proc.is_alive():
            self._proc.terminate()
        self._proc.join()
        if not self._recv.closed:
            self._recv.close()


def _count_entries(source: Path, send: Connection, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    totals: tuple[int | None, int | None] = (None, None)
    try:
        src = open_source(source)
        try:
            files = nbytes = 0
            for fs in src.layout().filesystems:
                for entry, _ in fs.entries(src.label):
                    if entry is not None:
                        files += 1
                        nbytes += entry.size if entry.has_content else 0
            totals = (files, nbytes)
        finally:
            src.close()
    except Exception:  # noqa: BLE001 - no ETA then; the extraction's own walk reports the problem
        totals = (None, None)
    send.send((*totals, MediaReads.total()))
    send.close()
