"""The Celery task: a thin binding of :func:`pipelines.queue.runner.run_job` to a worker.

Progress goes to the result backend as state ``PROGRESS`` (files, bytes, totals, ETA); the
return value (the job's result) is stored there as ``SUCCESS``. A delivery that finds the job's
lease held by another worker (a duplicate: the broker redelivered a job still running) is put
back with a delay of one lease, so that if that worker dies, this message takes the job over.
"""
from __future__ import annotations

import multiprocessing
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_process_init

from pipelines.queue.app import TASK_NAME
from pipelines.queue.config import QueueConfig
from pipelines.queue.jobs import JobStore
from pipelines.queue.runner import LeaseHeld, WorkerIdentity, run_job

_stores: dict[str, JobStore] = {}


@worker_process_init.connect
def _allow_children(**_: Any) -> None:
    """A job's extraction starts processes of its own (the ETA count, the hashing workers);
    Python refuses children to a daemonic process, and the prefork pool's processes are marked
    daemonic (billiard stops them itself when the worker shuts down), so the mark is removed."""
    multiprocessing.current_process()._config.pop("daemon", None)  # type: ignore[attr-defined]


def _store(config: QueueConfig) -> JobStore:
    if config.broker not in _stores:
        _stores[config.broker] = JobStore.connect(config.broker)
    return _stores[config.broker]


@shared_task(bind=True, name=TASK_NAME, max_retries=None)
def extract_job(self: Task, job_id: str) -> dict[str, Any]:
    config: QueueConfig = self.app.conf.devicex
    me = WorkerIdentity.here(self.request.hostname or config.worker_name)

    def publish(progress: dict[str, Any]) -> None:
        self.update_state(task_id=job_id, state="PROGRESS", meta=progress | {"worker": me.worker,
                                                                              "machine": me.machine})

    try:
        return run_job(job_id, _store(config), config, me, publish)
    except LeaseHeld as exc:
        raise self.retry(countdown=config.lease_seconds, exc=exc) from None
