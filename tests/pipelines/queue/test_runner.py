"""One job on a worker, in this process, on a real Redis with real extraction and sealing.

A worker that died after the job's work was done, or in the middle of sealing (made by resetting
the job's state as a dead worker leaves it): the next attempt records the result from the custody
log without redoing anything, or discards the half-made seal and the partial output and produces
a bundle that verifies. The lease: a job whose lease another worker holds is not run, and a
process that lost its lease ends itself."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from devicex.verify import verify_bundle
from pipelines.queue.client import submit
from pipelines.queue.config import load_config
from pipelines.queue.jobs import JobSpec, JobStore
from pipelines.queue.lease import FENCED_EXIT, Lease
from pipelines.queue.runner import LeaseHeld, WorkerIdentity, run_job
from tests.conftest import IMAGES, REPO


def _job(broker: str, out: Path, key: Path) -> tuple[str, JobStore]:
    redis.Redis.from_url(broker).flushdb()
    spec = JobSpec(source=str(IMAGES / "fat16.img"), out=str(out), priority="normal", case_ref="OP-Q-17",
                   exhibit_ref="EX-2", examiner="Test Examiner", examiner_id="T-17", organisation=None, workers=1,
                   export=True, parse=True, full_reason="queue test", seal=True, key_path=str(key))
    return submit(spec, load_config(overrides={"broker": broker})), JobStore.connect(broker)


def _run(broker: str, job: str, store: JobStore) -> dict:
    config = load_config(overrides={"broker": broker})
    return run_job(job, store, config, WorkerIdentity.here("test@runner"), lambda progress: None)


def test_work_done_before_the_death_is_not_redone(broker: str, tmp_path: Path, signing_key: Path) -> None:
    job, store = _job(broker, tmp_path / "out", signing_key)
    first = _run(broker, job, store)
    assert first["state"] == "completed" and first["sealed"]
    log = (tmp_path / "out" / "custody.jsonl").read_bytes()
    store.update(job, state="running")  # the worker died after sealing, before recording the state
    again = _run(broker, job, store)
    assert again["state"] == "completed" and again["sealed"] and again["recovered_from_custody_log"]
    assert (tmp_path / "out" / "custody.jsonl").read_bytes() == log  # nothing appended after the seal
    assert store.get(job)["state"] == "completed" and store.get(job)["attempts"] == "2"
    assert verify_bundle(tmp_path / "out").failures == []


def test_a_seal_cut_short_is_made_again(broker: str, tmp_path: Path, signing_key: Path) -> None:
    job, store = _job(broker, tmp_path / "out", signing_key)
    assert _run(broker, job, store)["sealed"]
    log = tmp_path / "out" / "custody.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    assert b'"action":"seal"' in lines[-1]
    log.write_bytes(b"".join(lines[:-1]))  # died while sealing: bag files written, seal entry not yet
    store.update(job, state="running")
    result = _run(broker, job, store)
    assert result["state"] == "completed" and result["sealed"] and "recovered_from_custody_log" not in result
    actions = [line.split(b'"action":"')[1].split(b'"')[0].decode() for line in log.read_bytes().splitlines()]
    assert actions.count("job-start") == 2 and "job-attempt-abandoned" in actions and actions[-1] == "seal"
    assert verify_bundle(tmp_path / "out").failures == []


def test_a_job_whose_lease_is_held_is_not_run(broker: str, tmp_path: Path, signing_key: Path) -> None:
    job, store = _job(broker, tmp_path / "out", signing_key)
    other = Lease(store.r, store.lock_key(job), 30, "other@worker")
    assert other.acquire()  # another worker is running the job (a redelivered message reaches this one)
    try:
        before = (tmp_path / "out" / "custody.jsonl").read_bytes()
        with pytest.raises(LeaseHeld, match="other@worker"):
            _run(broker, job, store)
        assert (tmp_path / "out" / "custody.jsonl").read_bytes() == before
        assert not (tmp_path / "out" / "data").exists() and store.get(job)["state"] == "queued"
    finally:
        other.release()
    assert _run(broker, job, store)["state"] == "completed"  # once free, the next delivery runs it


_HOLDER = """
import sys, time, redis
from pipelines.queue.lease import Lease
lease = Lease(redis.Redis.from_url(sys.argv[1]), "devicex:test:lock", 1, "holder")
assert lease.acquire()
print("held", flush=True)
time.sleep(30)
"""


def test_a_worker_that_lost_its_lease_stops_at_once(broker: str) -> None:
    client = redis.Redis.from_url(broker)
    client.delete("devicex:test:lock")
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, broker], stdout=subprocess.PIPE, text=True,
                            env=os.environ | {"PYTHONPATH": str(REPO)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    time.sleep(1.5)  # renewed (lease 1 s, renewed every 1/3 s): still its own
    assert client.get("devicex:test:lock").startswith(b"holder/")
    client.set("devicex:test:lock", "someone else")  # taken over (it was frozen longer than its lease)
    assert proc.wait(10) == FENCED_EXIT
