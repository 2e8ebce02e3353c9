"""A job's lease: a lock in Redis (``SET key token NX PX lease``) that the running worker renews
every third of the lease. It is what guarantees a job never runs twice at once, whatever the
broker redelivers: whoever does not hold the lease does not run the job.

If the worker dies, renewal stops and the lease expires; the redelivered job then finds it
free. If a live worker cannot renew (the lease was lost: the process was frozen longer than the
lease, or the broker was unreachable for that long), another worker may already have taken the
job over, so this process fences itself off: it ends at once (``os._exit``), before writing
anything more into the output folder.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid

import redis

log = logging.getLogger(__name__)

# renew or release only if the lock still holds our token
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
FENCED_EXIT = 75  # exit status of a process that lost its lease


class Lease:
    def __init__(self, client: redis.Redis, key: str, seconds: int, owner: str) -> None:
        self.r = client
        self.key = key
        self.ms = seconds * 1000
        self.token = f"{owner}/{os.getpid()}/{uuid.uuid4().hex}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        """Take the lease (never blocks); on success, keep renewing it in a background thread."""
        if not self.r.set(self.key, self.token, nx=True, px=self.ms):
            return False
        self._thread = threading.Thread(target=self._renew, name="devicex-lease", daemon=True)
        self._thread.start()
        return True

    def holder(self) -> str | None:
        value = self.r.get(self.key)
        return str(value) if value else None

    def _renew(self) -> None:
        last_ok = time.monotonic()
        while not self._stop.wait(self.ms / 3000):
            try:
                if not self.r.eval(_RENEW, 1, self.key, self.token, self.ms):
                    self._fence("the job's lease was taken over by another worker")
                last_ok = time.monotonic()
            except redis.RedisError as exc:
                if time.monotonic() - last_ok > self.ms / 1000 * 0.9:
                    self._fence(f"the lease could not be renewed for the whole lease time ({exc})")

    def _fence(self, why: str) -> None:
        log.error("devicex worker: %s; stopping this process so the job never runs twice at once", why)
        os._exit(FENCED_EXIT)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.r.eval(_RELEASE, 1, self.key, self.token)
