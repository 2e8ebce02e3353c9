"""``devicex worker``: a Celery worker consuming the priority queues, most urgent first, running
as many jobs at once as the configuration says (prefork pool: one process per running job)."""
from __future__ import annotations

from pipelines.queue.app import make_app
from pipelines.queue.config import PRIORITIES, QueueConfig


def run_worker(config: QueueConfig, loglevel: str = "INFO") -> None:
    app = make_app(config)
    app.worker_main(argv=[
        "worker", f"--hostname={config.worker_name}", f"--concurrency={config.concurrency}",
        "--pool=prefork", f"--loglevel={loglevel}", "--without-gossip", "--without-mingle",
        "--queues=" + ",".join(config.queue_name(p) for p in PRIORITIES),
    ])
