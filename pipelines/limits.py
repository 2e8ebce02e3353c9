"""Per-parser time and memory limits.

A parser is third-party-grade code fed hostile input: one pathological file (a
decompression bomb, a cyclic structure, a huge EXIF block) must become a
failure recorded for that file, not a hung or exhausted extraction. Every
parser call runs inside :func:`limited`, the same way in a worker process
(``--workers`` >= 2) and in the worker thread (``--workers 1``), so any
parser module gets the limits without doing anything:

* a watchdog thread (one per process, started on first use) checks the running
  parses every ``POLL`` seconds, and sleeps once none has begun for ``IDLE``
  seconds (a parse begun while it sleeps wakes it; the parses of a busy run
  only register themselves, with no wake-up each); past
  its time, or when the process's resident memory has grown by more than its
  budget since the parse began, it raises :class:`LimitExceeded` inside the
  parsing thread (``PyThreadState_SetAsyncExc``: delivered at the next Python
  bytecode; a single long C call finishes first);
* worker processes also get an address-space limit (``RLIMIT_AS``) set by
  :func:`cap_process_memory`, so that one huge allocation inside C code fails
  with ``MemoryError`` (recorded the same way) instead of exhausting the
  machine.
"""
from __future__ import annotations

import ctypes
import os
import resource
import threading
import time
from dataclasses import dataclass

POLL = 0.05
IDLE = 1.0  # the watchdog sleeps once no parse has begun for this long
REFIRE = 1.0
RSS_FRESH = 0.2  # a resident-memory sample younger than this is used as a parse's starting point
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Limits:
    seconds: float = 120.0  # wall time for one parser on one file, plus per_mib for each MiB of it
    memory: int = 1 << 30  # growth of resident memory during one parse, bytes
    per_mib: float = 1.0  # more wall time per MiB of the file: a large message store is big, not hostile

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, or DEVICEX_PARSER_SECONDS / DEVICEX_PARSER_MEMORY_MB / DEVICEX_PARSER_SECONDS_PER_MB."""
        seconds = float(os.environ.get("DEVICEX_PARSER_SECONDS", cls.seconds))
        memory = int(float(os.environ.get("DEVICEX_PARSER_MEMORY_MB", cls.memory >> 20)) * (1 << 20))
        per_mib = float(os.environ.get("DEVICEX_PARSER_SECONDS_PER_MB", cls.per_mib))
        return cls(seconds, memory, per_mib)

    def for_size(self, size: int) -> Limits:
        """The limits for one file of ``size`` bytes: its time grows with it (a 2 GiB WhatsApp store of a
        real phone needs more than a minute on a loaded machine, and losing it would lose the evidence)."""
        return Limits(self.seconds_for(size), self.memory, self.per_mib)

    def seconds_for(self, size: int) -> float:
        """The time limit for one file of ``size`` bytes (see :meth:`for_size`)."""
        return self.seconds + self.per_mib * max(size, 0) / (1 << 20)


class LimitExceeded(BaseException):
    """A parser went past its time or memory budget (raised inside the parsing thread). A BaseException,
    like KeyboardInterrupt, so that a parser's own ``except Exception`` does not swallow it."""


class TimeLimit(LimitExceeded):
    pass


class MemoryLimit(LimitExceeded):
    pass


def _rss() -> int:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class _Watch:
    thread_id: int
    deadline: float
    rss_limit: int
    fired: type[LimitExceeded] | None = None
    fired_at: float = 0.0


class _Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watches: dict[int, _Watch] = {}
        self._wake = threading.Event()
        self._running = False  # this process has its watchdog thread (a forked child has not)
        self._idle = True  # the thread is asleep until a parse begins
        self._begun = 0.0  # when the latest parse began
        self._rss, self._rss_at = 0, -RSS_FRESH

    def start(self, limits: Limits, size: int = 0) -> _Watch:
        now = time.monotonic()
        if now - self._rss_at > RSS_FRESH:  # the watchdog samples it while parses run; else read it now
            self._rss, self._rss_at = _rss(), now
        watch = _Watch(threading.get_ident(), now + limits.seconds_for(size), self._rss + limits.memory)
        self._begun = now
        with self._lock:
            self._watches[watch.thread_id] = watch
            if self._idle or not self._running:
                self._wake_thread()
        return watch

    def _wake_thread(self) -> None:
        """(With the lock held.) Start this process's watchdog thread, or wake it."""
        if not self._running:  # first use in this process (or a forked child): start its watchdog
            self._running, self._wake = True, threading.Event()
            threading.Thread(target=self._run, name="devicex-parser-watchdog", daemon=True).start()
        self._idle = False
        self._wake.set()

    def stop(self, watch: _Watch) -> None:
        with self._lock:
            self._watches.pop(watch.thread_id, None)
            if watch.fired is not None:  # fired but maybe not yet delivered: withdraw it
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(watch.thread_id), None)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(POLL)
            now, rss = time.monotonic(), _rss()
            self._rss, self._rss_at = rss, now
            with self._lock:
                for watch in self._watches.values():
                    self._check(watch, now, rss)
                if not self._watches and now - self._begun > IDLE:
                    self._idle = True
                    self._wake.clear()

    @staticmethod
    def _check(watch: _Watch, now: float, rss: int) -> None:
        """(With the lock held.) Stop the parse of ``watch`` if it went past its limits."""
        if watch.fired is not None:
            if now - watch.fired_at < REFIRE:
                return  # raised already; again only if the parser somehow went on
        elif now > watch.deadline:
            watch.fired = TimeLimit
        elif rss > watch.rss_limit:
            watch.fired = MemoryLimit
        else:
            return
        watch.fired_at = now
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(watch.thread_id), ctypes.py_object(watch.fired))


_watchdog = _Watchdog()


def _after_fork_in_child() -> None:
    _watchdog._lock = threading.Lock()  # the parent's watchdog thread may have held it at the fork
    _watchdog._watches.clear()  # (the parent's parses, none of them in this process)
    _watchdog._running, _watchdog._idle = False, True  # the thread is not forked with the process


os.register_at_fork(after_in_child=_after_fork_in_child)


class limited:  # lower case: used as a function, ``with limited(limits):``
    """Run the body under ``limits`` (``limits.for_size(size)``: without making that object for every parser
    run); it raises :class:`TimeLimit` / :class:`MemoryLimit` when exceeded. (A plain context manager: a
    generator-based one costs several times more, once per parser run.)"""

    __slots__ = ("_limits", "_size", "_watch")

    def __init__(self, limits: Limits, size: int = 0) -> None:
        self._limits, self._size = limits, size

    def __enter__(self) -> None:
        self._watch = _watchdog.start(self._limits, self._size)

    def __exit__(self, *exc: object) -> None:
        _stop(self._watch)


def _stop(watch: _Watch) -> None:
    while True:
        try:
            _watchdog.stop(watch)
            return
        except LimitExceeded:  # delivered just as the parse ended: it did end, so nothing is lost
            continue


def describe(exc: BaseException, limits: Limits) -> str:
    if isinstance(exc, TimeLimit):
        return f"stopped after {round(limits.seconds, 1):g} s (time limit per parser and file, grown with its size)"
    if isinstance(exc, MemoryLimit):
        return f"stopped: memory grew by more than {limits.memory >> 20} MiB (memory limit per parser and file)"
    return "stopped: out of memory (address-space limit of the worker process)"


def cap_process_memory(limits: Limits) -> None:
    """In a worker process: an address-space limit of what it uses now plus four times the per-parse budget,
    so that one huge allocation inside C code fails with MemoryError instead of exhausting the machine."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            vsize = int(fh.read().split()[0]) * _PAGE
    except (OSError, IndexError, ValueError):
        return
    cap = vsize + 4 * limits.memory
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft == resource.RLIM_INFINITY or cap < soft:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
