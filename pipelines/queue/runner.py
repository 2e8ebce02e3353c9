"""Running one queued job on a worker: take the job's lease, record in the custody log which
machine and worker run it (and any earlier attempt that died), run the ordinary extraction into
OUT, seal it if asked, and record how it ended.

An attempt that died (its worker was killed, the machine lost power) left a partial ``OUT/data``.
The next attempt discards it, recording in the custody log what was discarded, and extracts
afresh, so the finished ``OUT`` is the one an uninterrupted run produces (one run in the case
database, the same rows, the same exports); the custody log keeps both attempts' entries.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devicex import bagit as bag
from devicex.bagit import BundleError
from devicex.bundle import seal
from devicex.custody import Artefact, CustodyError, CustodyLog
from devicex.errors import DevicexError
from devicex.keys import KeyFileError, is_encrypted, load_private_key
from devicex.scope import parse_text
from devicex.timeutil import iso, now_utc
from pipelines.events import Cancelled
from pipelines.extract import ExtractOptions, Summary, run
from pipelines.queue.config import QueueConfig
from pipelines.queue.jobs import TERMINAL, JobSpec, JobStore
from pipelines.queue.lease import Lease
from pipelines.queue.progress import JobReporter
from pipelines.select import FullSelector, ScopeSelector, Selector

log = logging.getLogger(__name__)
BAG_FILES = (bag.BAGIT_TXT, bag.BAG_INFO, bag.MANIFEST, bag.TAGMANIFEST, bag.PUBLIC_KEY, bag.STATEMENT, bag.SIGNATURE)


class LeaseHeld(Exception):
    """Another worker holds the job's lease (it is running it): try again later."""


@dataclass(frozen=True)
class WorkerIdentity:
    worker: str  # the Celery worker node name
    machine: str
    pid: int

    @classmethod
    def here(cls, worker: str) -> WorkerIdentity:
        return cls(worker, socket.gethostname(), os.getpid())


def extract_options(spec: JobSpec) -> ExtractOptions:
    selector: Selector = FullSelector()
    if spec.scope_text is not None:  # validated at submission; parsed again here, the same way
        selector = ScopeSelector(parse_text(spec.scope_text, spec.scope_name or "scope", spec.scope_name))
    return ExtractOptions(source=Path(spec.source), out=Path(spec.out), case_ref=spec.case_ref,
                          exhibit_ref=spec.exhibit_ref, examiner=spec.examiner, examiner_id=spec.examiner_id,
                          organisation=spec.organisation, workers=spec.workers, export=spec.export,
                          parse=spec.parse, selector=selector, scope_text=spec.scope_text,
                          full_reason=spec.full_reason, region=spec.region)


def run_job(job_id: str, store: JobStore, config: QueueConfig, me: WorkerIdentity,
            publish: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Run (or finish the record of) one job. Raises :class:`LeaseHeld` if another worker runs it."""
    record = store.get(job_id)
    spec = store.spec(job_id)
    if spec is None:
        return {"state": "failed", "error": f"job {job_id} is not known to this broker"}
    if record.get("state") in TERMINAL:  # a duplicate delivery of a finished job
        return _stored_result(record)
    lease = Lease(store.r, store.lock_key(job_id), config.lease_seconds, me.worker)
    if not lease.acquire():
        raise LeaseHeld(lease.holder() or "another worker")
    try:
        record = store.get(job_id)
        if record.get("state") in TERMINAL:
            return _stored_result(record)
        return _attempt(job_id, spec, record, store, config, me, publish)
    except Exception as exc:  # a fault of devicex itself: the job is failed (not left "running"), Celery logs it
        store.update(job_id, state="failed", finished=iso(now_utc()),
                     result={"state": "failed", "error": f"internal error: {type(exc).__name__}: {exc}"})
        raise
    finally:
        lease.release()


def _stored_result(record: dict[str, str]) -> dict[str, Any]:
    return json.loads(record["result"]) if record.get("result") else {"state": record.get("state")}


def _attempt(job_id: str, spec: JobSpec, record: dict[str, str], store: JobStore, config: QueueConfig,
             me: WorkerIdentity, publish: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    custody = spec.custody()
    attempt = store.next_attempt(job_id)
    where = {"job_id": job_id, "attempt": attempt, "worker": me.worker, "machine": me.machine, "pid": me.pid}
    if attempt > 1:
        finished = _finished_in_log(spec, custody)
        if finished is not None:  # its worker died after the job's last entry, before recording the state
            store.update(job_id, state=finished["state"], result=finished, finished=iso(now_utc()))
            return finished
        _abandon_previous(spec, record, custody, attempt - 1)
    if attempt > config.max_attempts:
        return _end(store, job_id, custody, where, {
            "state": "failed", "error": f"gave up after {config.max_attempts} attempts that did not finish"})
    who = store.cancel_requested(job_id)
    if who:  # cancelled while this delivery was on its way
        custody.append("job-cancelled", result="cancelled", details=where | {"cancelled_by": who, "started": False})
        store.update(job_id, state="cancelled", finished=iso(now_utc()),
                     result={"state": "cancelled", "reason": f"cancelled by {who} before it started"})
        return {"state": "cancelled"}
    store.update(job_id, state="running", worker=me.worker, machine=me.machine, pid=me.pid,
                 started=iso(now_utc()))
    custody.append("job-start", inputs=[Artefact("source", spec.source)], details=where | {
        "priority": spec.priority, "queued_at": spec.submitted_at, "queued_by": spec.submitted_by,
        "queued_from": spec.submitted_from})
    try:
        key = _signing_key(spec)
        reporter = JobReporter(publish, lambda: store.cancel_requested(job_id))
        try:
            summary = run(extract_options(spec), reporter)
        finally:
            reporter.done()
    except Cancelled as exc:
        return _end(store, job_id, custody, where, {"state": "cancelled", "reason": str(exc)})
    except (DevicexError, OSError) as exc:
        return _end(store, job_id, custody, where, {"state": "failed", "error": str(exc)})
    result = _outcome(summary)
    if key is not None and result["exit_code"] != 3:
        _end(store, job_id, custody, where, result, terminal=False)
        try:
            seal(Path(spec.out), key, spec.actor(), organisation=spec.organisation)
        except (BundleError, CustodyError) as exc:
            result |= {"state": "failed", "error": f"sealing failed: {exc}"}
            store.update(job_id, state="failed", result=result, finished=iso(now_utc()))
            return result
        result["sealed"] = True
        store.update(job_id, state=result["state"], result=result, finished=iso(now_utc()))
        return result
    return _end(store, job_id, custody, where, result)


def _outcome(summary: Summary) -> dict[str, Any]:
    """The job's result, with the exit code ``devicex extract`` would have given."""
    code = 0
    if summary.fatal and summary.files == 0:
        code = 3
    elif summary.source_verified == "mismatch" or summary.stored_check == "fail":
        code = 4
    return {"state": "failed" if code == 3 else "completed", "exit_code": code, "sealed": False,
            "summary": {k: v for k, v in asdict(summary).items()}}


def _end(store: JobStore, job_id: str, custody: CustodyLog, where: dict[str, Any], result: dict[str, Any],
         terminal: bool = True) -> dict[str, Any]:
    """Record how the attempt ended: custody entry ``job-finished`` (before any seal), job state."""
    custody.append("job-finished", result=result["state"], details=where | {
        k: result[k] for k in ("exit_code", "error", "reason") if k in result})
    if terminal:
        store.update(job_id, state=result["state"], result=result, finished=iso(now_utc()))
    return result


def _last_attempt_entries(custody: CustodyLog) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in custody.path.read_bytes().splitlines() if line.strip()]
    starts = [i for i, e in enumerate(entries) if e["action"] == "job-start"]
    return entries[starts[-1]:] if starts else []


def _finished_in_log(spec: JobSpec, custody: CustodyLog) -> dict[str, Any] | None:
    """The previous attempt's result if its custody entries show it finished (``job-finished``, and
    the ``seal`` entry when sealing was asked): nothing is to be redone, and nothing may be appended
    after a seal."""
    entries = _last_attempt_entries(custody)
    ends = [e for e in entries if e["action"] == "job-finished"]
    if not ends:
        return None
    sealed = any(e["action"] == "seal" for e in entries[entries.index(ends[-1]):])
    if spec.seal and ends[-1]["result"] == "completed" and not sealed:
        return None
    d = ends[-1]["details"]
    return {"state": ends[-1]["result"], "sealed": sealed, "recovered_from_custody_log": True} | {
        k: d[k] for k in ("exit_code", "error", "reason") if k in d}


def _abandon_previous(spec: JobSpec, record: dict[str, str], custody: CustodyLog, previous: int) -> None:
    """Discard the partial output of an attempt that never finished (its worker died)."""
    data = Path(spec.out) / "data"
    files = nbytes = 0
    if data.exists():
        doomed = data.with_name(f".devicex-attempt-{previous}-discarded")
        data.rename(doomed)  # one step: data/ is either whole or gone, even if this worker dies now
        for path in doomed.rglob("*"):
            if path.is_file():
                files += 1
                nbytes += path.stat().st_size
        shutil.rmtree(doomed)
    for leftover in Path(spec.out).glob(".devicex-attempt-*-discarded"):
        shutil.rmtree(leftover)  # a discard interrupted by a crash of the worker discarding it
    if not any(e["action"] in bag.SEAL_ACTIONS for e in _last_attempt_entries(custody)):
        for name in BAG_FILES:  # a seal the dead attempt began and never recorded
            (Path(spec.out) / name).unlink(missing_ok=True)
    custody.append("job-attempt-abandoned", result="discarded", details={
        "attempt": previous, "worker": record.get("worker"), "machine": record.get("machine"),
        "pid": record.get("pid"), "started": record.get("started"),
        "partial_output_discarded": {"files": files, "bytes": nbytes},
        "why": "the attempt's worker stopped without finishing (killed or lost); the job starts again"})


def _signing_key(spec: JobSpec) -> Ed25519PrivateKey | None:
    """The key to seal with, unlocked before the long extraction (the passphrase comes from the
    worker's own environment: it never travels through the broker)."""
    if not spec.seal:
        return None
    path = Path(spec.key_path or "")
    passphrase = None
    if is_encrypted(path):
        value = os.environ.get(spec.passphrase_env or "")
        if not value:
            raise KeyFileError(f"{path}: the key is passphrase-protected and the worker's environment has no "
                               f"{spec.passphrase_env or 'passphrase variable (--passphrase-env)'}")
        passphrase = value.encode()
    return load_private_key(path, passphrase)
