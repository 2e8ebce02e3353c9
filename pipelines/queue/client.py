"""What ``devicex queue submit/status/cancel`` do: validate and queue a job, read where jobs
stand, cancel one. Nothing here runs an extraction."""
from __future__ import annotations

import getpass
import json
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from devicex.custody import Artefact
from devicex.errors import DevicexError, SourceError
from devicex.keys import is_encrypted, load_private_key
from devicex.timeutil import iso, now_utc
from pipelines.queue.app import TASK_NAME, make_app
from pipelines.queue.config import PRIORITIES, QueueConfig
from pipelines.queue.jobs import TERMINAL, JobSpec, JobStore
from pipelines.queue.lease import Lease


class SubmitError(DevicexError):
    """A job that cannot be queued; ``code`` is the exit code (2 bad input, 3 unreadable source)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class BrokerError(DevicexError):
    """The broker cannot be reached."""


def _store(config: QueueConfig) -> JobStore:
    store = JobStore.connect(config.broker)
    try:
        store.r.ping()
    except redis.RedisError as exc:
        raise BrokerError(f"{config.broker}: cannot reach the queue's broker ({exc})") from None
    return store


def validate(spec: JobSpec, passphrase: bytes | None = None) -> None:
    """Everything that can be checked before queueing: the output folder, the source, the key.
    (The scope was validated when it was loaded.)"""
    if spec.priority not in PRIORITIES:
        raise SubmitError(f"priority {spec.priority!r}: must be one of {', '.join(PRIORITIES)}")
    out = Path(spec.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SubmitError(f"{out}: must be a new or empty folder (a queued job writes a complete new output)")
    if not out.exists() and not out.parent.is_dir():
        raise SubmitError(f"{out}: its parent folder does not exist")
    from devicex.sources import open_source  # the image libraries: only when submitting

    try:
        src = open_source(Path(spec.source))
    except SourceError as exc:
        raise SubmitError(str(exc), 3) from None
    src.close()
    if spec.seal:
        key = Path(spec.key_path or "")
        if not is_encrypted(key) or passphrase:
            load_private_key(key, passphrase)  # KeyFileError: one line naming the key and the problem


def submit(spec: JobSpec, config: QueueConfig, passphrase: bytes | None = None) -> str:
    """Validate, record ``job-queued`` in OUT's custody log, and queue the job; returns its id."""
    validate(spec, passphrase)
    store = _store(config)
    job_id = str(uuid.uuid4())
    spec.submitted_at = str(iso(now_utc()))
    spec.submitted_by = getpass.getuser()
    spec.submitted_from = socket.gethostname()
    Path(spec.out).mkdir(exist_ok=True)
    spec.custody().append("job-queued", inputs=[Artefact("source", spec.source)], details={
        "job_id": job_id, "priority": spec.priority, "queued_by": spec.submitted_by,
        "queued_from": spec.submitted_from, "broker": _redacted(config.broker),
        "options": {k: v for k, v in json.loads(spec.to_json()).items()
                    if k not in ("scope_text", "submitted_at", "submitted_by", "submitted_from", "extra")}})
    store.create(job_id, spec, time.time())
    make_app(config).send_task(TASK_NAME, args=[job_id], task_id=job_id, queue=config.queue_name(spec.priority))
    return job_id


def _redacted(url: str) -> str:
    head, at, tail = url.rpartition("@")
    return f"{head.split('//')[0]}//***@{tail}" if at else url


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: str
    priority: str
    source: str
    out: str
    queued_at: str | None
    queued_by: str | None
    attempts: int
    worker: str | None
    machine: str | None
    started: str | None
    finished: str | None
    progress: dict[str, Any] | None
    result: dict[str, Any] | None


def status(config: QueueConfig, job_id: str | None = None, limit: int = 50) -> list[JobStatus]:
    store = _store(config)
    ids = [job_id] if job_id else store.ids(limit)
    app = make_app(config)
    out = []
    for jid in ids:
        record = store.get(jid)
        spec = store.spec(jid)
        if spec is None:
            raise SubmitError(f"no job {jid} on {_redacted(config.broker)}")
        progress = None
        if record.get("state") == "running":
            backend = app.AsyncResult(jid)
            if backend.state == "PROGRESS" and isinstance(backend.info, dict):
                progress = backend.info
        result = json.loads(record["result"]) if record.get("result") else None
        out.append(JobStatus(jid, record.get("state", "?"), spec.priority, spec.source, spec.out,
                             spec.submitted_at, spec.submitted_by, int(record.get("attempts", 0)),
                             record.get("worker"), record.get("machine"), record.get("started"),
                             record.get("finished"), progress, result))
    return out


def cancel(config: QueueConfig, job_id: str) -> str:
    """Cancel a job: if no worker runs it, it is recorded as cancelled here and never starts; if a
    worker runs it, the worker stops between two files and records it. Returns the job's state."""
    store = _store(config)
    spec = store.spec(job_id)
    if spec is None:
        raise SubmitError(f"no job {job_id} on {_redacted(config.broker)}")
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    state = store.get(job_id).get("state", "?")
    if state in TERMINAL:
        return state
    store.request_cancel(job_id, who)
    make_app(config).control.revoke(job_id)  # live workers drop the message if it has not started
    lease = Lease(store.r, store.lock_key(job_id), config.lease_seconds, f"cancel:{who}")
    if not lease.acquire():
        return "cancelling"  # a worker is running it: it stops between files and records the cancellation
    try:
        if store.get(job_id).get("state") in TERMINAL:
            return store.get(job_id)["state"]
        spec.custody().append("job-cancelled", result="cancelled",
                                 details={"job_id": job_id, "cancelled_by": who, "started": False})
        result = {"state": "cancelled", "reason": f"cancelled by {who} before it started"}
        store.update(job_id, state="cancelled", result=result, finished=iso(now_utc()))
        return "cancelled"
    finally:
        lease.release()
