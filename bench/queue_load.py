#!/usr/bin/env python3
"""Queue load test: queue many small extraction jobs and measure throughput and broker memory.

Starts its own Debian ``redis-server`` on a free loopback port (or uses ``--broker``) and
``--workers`` ``devicex worker`` processes (``--concurrency`` jobs each), queues ``--jobs``
full extractions of a small fixture image with mixed priorities (1 urgent : 2 high : 7 normal),
and reports:

* submission rate (``queue submit`` through the Python API: validate, custody entry, enqueue);
* jobs per minute, from the first submission to the last job finished;
* the broker's memory (``INFO memory`` ``used_memory``): empty, with every job queued, peak
  while running (sampled every 0.5 s), and after all finished (the job records and results stay).

Outputs go to ``bench/work/queue-load/`` (git-ignored). Example::

    python3 bench/queue_load.py --jobs 200 --workers 2 --concurrency 1
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.queue.client import status, submit  # noqa: E402 - after the sys.path line above
from pipelines.queue.config import load_config  # noqa: E402 - after the sys.path line above
from pipelines.queue.jobs import JobSpec  # noqa: E402 - after the sys.path line above

PRIORITIES = ["urgent"] + ["high"] * 2 + ["normal"] * 7


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2, help="worker processes")
    ap.add_argument("--concurrency", type=int, default=1, help="jobs at once per worker")
    ap.add_argument("--image", type=Path, default=REPO / "fixtures" / "images" / "fat16.img")
    ap.add_argument("--broker", help="use this broker instead of starting redis-server")
    ap.add_argument("--work", type=Path, default=REPO / "bench" / "work" / "queue-load")
    a = ap.parse_args()

    shutil.rmtree(a.work, ignore_errors=True)
    a.work.mkdir(parents=True)
    server = None
    if a.broker is None:
        port = free_port()
        server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", tempfile.mkdtemp()], stdout=subprocess.DEVNULL)
        a.broker = f"redis://127.0.0.1:{port}/0"
        time.sleep(0.5)
    client = redis.Redis.from_url(a.broker)
    client.flushdb()
    config = load_config(overrides={"broker": a.broker})
    env = os.environ | {"DEVICEX_QUEUE_BROKER": a.broker, "PYTHONPATH": str(REPO)}
    empty = used_memory(client)

    t0 = time.monotonic()
    ids = []
    for i in range(a.jobs):
        spec = JobSpec(source=str(a.image.resolve()), out=str(a.work / f"job-{i:04d}"), priority=PRIORITIES[i % 10],
                       case_ref="LOAD", exhibit_ref=f"EX-{i}", examiner="load test", examiner_id=None,
                       organisation=None, workers=1, export=True, parse=True, full_reason="load test")
        ids.append(submit(spec, config))
    submitted = time.monotonic() - t0
    queued_mem = used_memory(client)

    procs = [subprocess.Popen([sys.executable, "-m", "devicex", "worker", "--name", f"load{n}@bench",
                               "--concurrency", str(a.concurrency), "--loglevel", "WARNING"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True) for n in range(a.workers)]
    peak = queued_mem
    try:
        while True:
            peak = max(peak, used_memory(client))
            states = [s.state for s in status(config, limit=a.jobs)]
            if all(s in ("completed", "failed", "cancelled") for s in states):
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - t0
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(60)
    done_mem = used_memory(client)
    failed = sum(s != "completed" for s in states)
    print(f"jobs: {a.jobs} x {a.image.name} ({a.image.stat().st_size} bytes), {a.workers} worker(s) x "
          f"concurrency {a.concurrency}; failed: {failed}")
    print(f"submission: {submitted:.1f} s ({a.jobs / submitted:.0f} jobs/s)")
    print(f"throughput: {a.jobs / elapsed * 60:.0f} jobs/min ({elapsed:.1f} s from first submit to last done)")
    print(f"broker used_memory: empty {empty / 1024:.0f} KiB, all queued {queued_mem / 1024:.0f} KiB, "
          f"peak {peak / 1024:.0f} KiB, all done {done_mem / 1024:.0f} KiB "
          f"({(done_mem - empty) / a.jobs:.0f} bytes per finished job)")
    if server is not None:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
