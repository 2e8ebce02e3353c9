"""Child processes die with the extraction.

Worker and counting processes are forked; if the main process is killed
(``kill -9``, a power cut of the controlling session, the OOM killer) they must
not live on holding the image and ``case.db`` open. Linux delivers a chosen
signal to a child when its parent ends (``PR_SET_PDEATHSIG``); elsewhere a
thread polls the parent's pid.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Called first thing in a forked child: end this process when ``parent_pid`` ends."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # the parent died before the request was in place
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass  # no prctl here: fall back to polling
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="devicex-parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)
