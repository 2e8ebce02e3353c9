"""Job records in Redis: what was asked (the extraction's options), by whom, when, and where each
job stands. The record is the authority on a job's state; Celery's result backend carries its
live progress and its final result.

Keys (all under ``devicex:``): ``job:<id>`` a hash (fields below), ``jobs`` a sorted set of job
ids by submission time, ``job:<id>:lock`` the lease lock of the worker running it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import redis

from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import Actor, CustodyLog

PREFIX = "devicex:"
TERMINAL = ("completed", "failed", "cancelled")


@dataclass
class JobSpec:
    """Everything needed to run the extraction on another machine: ``devicex extract``'s options
    (paths absolute, the scope as its validated text) plus who queued it."""

    source: str
    out: str
    priority: str
    case_ref: str | None
    exhibit_ref: str | None
    examiner: str
    examiner_id: str | None
    organisation: str | None
    workers: int
    export: bool
    parse: bool
    full_reason: str | None
    scope_text: str | None = None
    scope_name: str | None = None
    seal: bool = False
    key_path: str | None = None
    passphrase_env: str | None = None
    region: str = "GB"  # where national phone numbers are read (extract --phone-region)
    submitted_by: str = ""
    submitted_from: str = ""
    submitted_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def actor(self) -> Actor:
        return Actor(self.examiner_id or self.examiner, self.examiner)

    def custody(self) -> CustodyLog:
        """OUT's custody log, written as the examiner who queued the job."""
        return CustodyLog(Path(self.out) / CUSTODY_FILE, self.actor(), self.case_ref, self.exhibit_ref)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        return cls(**json.loads(text))


class JobStore:
    def __init__(self, client: redis.Redis) -> None:
        self.r = client

    @classmethod
    def connect(cls, url: str) -> JobStore:
        return cls(redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5))

    @staticmethod
    def key(job_id: str) -> str:
        return f"{PREFIX}job:{job_id}"

    @staticmethod
    def lock_key(job_id: str) -> str:
        return f"{PREFIX}job:{job_id}:lock"

    def create(self, job_id: str, spec: JobSpec, score: float) -> None:
        with self.r.pipeline() as pipe:
            pipe.hset(self.key(job_id), mapping={"spec": spec.to_json(), "state": "queued", "attempts": 0,
                                                 "priority": spec.priority, "queued_at": spec.submitted_at})
            pipe.zadd(f"{PREFIX}jobs", {job_id: score})
            pipe.execute()

    def get(self, job_id: str) -> dict[str, str]:
        return dict(self.r.hgetall(self.key(job_id)))  # type: ignore[arg-type]

    def spec(self, job_id: str) -> JobSpec | None:
        text = self.r.hget(self.key(job_id), "spec")
        return JobSpec.from_json(str(text)) if text else None

    def update(self, job_id: str, **values: Any) -> None:
        mapping: dict[Any, Any] = {
            k: (json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v)
            for k, v in values.items() if v is not None}
        if mapping:
            self.r.hset(self.key(job_id), mapping=mapping)

    def next_attempt(self, job_id: str) -> int:
        return int(self.r.hincrby(self.key(job_id), "attempts", 1))

    def request_cancel(self, job_id: str, by: str) -> None:
        self.r.hset(self.key(job_id), mapping={"cancel_requested": by})

    def cancel_requested(self, job_id: str) -> str | None:
        value = self.r.hget(self.key(job_id), "cancel_requested")
        return str(value) if value else None

    def ids(self, limit: int = 50) -> list[str]:
        """The most recently submitted jobs, oldest first."""
        return [str(j) for j in self.r.zrange(f"{PREFIX}jobs", -limit, -1)]
