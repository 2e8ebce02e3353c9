"""The Celery application: Redis broker and result backend, one queue per priority.

Delivery guarantees come from Celery and kombu's Redis transport:

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a job is acknowledged only when it has
  finished; if the pool process running it dies, the message is requeued at once; if the whole
  worker dies (kill -9, power loss), kombu's unacknowledged-message index gives it back to the
  queue after ``visibility_timeout`` (another worker's periodic restore sweep does it).
* ``worker_prefetch_multiplier = 1``: a worker holds no more jobs than it runs, so urgent jobs
  queued later are not stuck behind normal ones prefetched by a busy worker.
* priorities: ``devicex.urgent``, ``devicex.high`` and ``devicex.normal`` queues, consumed in
  that order (``queue_order_strategy = "priority"``: kombu's BRPOP lists the queues in a fixed
  order instead of rotating them), so a worker always takes the most urgent job waiting.

A redelivered message can reach a worker while the first one is still running the job (a job
longer than the visibility timeout); the job's lease lock in Redis (:mod:`pipelines.queue.lease`)
is what guarantees it never runs twice at once.
"""
from __future__ import annotations

from celery import Celery
from kombu import Queue

from pipelines.queue.config import PRIORITIES, QueueConfig

TASK_NAME = "devicex.extract"


def make_app(config: QueueConfig) -> Celery:
    app = Celery("devicex", broker=config.broker, backend=config.broker, include=["pipelines.queue.task"])
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        task_serializer="json", result_serializer="json", accept_content=["json"],
        result_extended=True,
        result_expires=None,  # the record of a job stays until an operator deletes it
        worker_prefetch_multiplier=1,
        worker_concurrency=config.concurrency,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        task_queues=[Queue(config.queue_name(p), routing_key=config.queue_name(p)) for p in PRIORITIES],
        task_default_queue=config.queue_name("normal"),
        broker_transport_options={
            "queue_order_strategy": "priority",
            "visibility_timeout": config.visibility_timeout,
            "unacked_restore_interval": config.restore_interval,
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options={"visibility_timeout": config.visibility_timeout},
    )
    app.conf.devicex = config  # the task reads lease and attempt settings from here
    return app
