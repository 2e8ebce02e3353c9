"""Queue settings: where the broker is, how many jobs a machine runs at once, and the timings
that make a dead worker's job come back (lease, visibility timeout).

Read from a TOML file (``--config``, else ``$DEVICEX_QUEUE_CONFIG``, else
``/etc/devicex/queue.toml`` if present), then ``DEVICEX_QUEUE_*`` environment variables, then
command-line options (the caller passes them as ``overrides``). Every key is optional::

    broker = "redis://127.0.0.1:6379/0"   # broker and result backend (Redis)
    concurrency = 2                        # jobs this machine runs at once
    name = "forensic-ws-3"                 # worker name (default: devicex@HOSTNAME)
    lease_seconds = 60                     # a running job's lock lives this long unless renewed
    visibility_timeout = 600               # an unacknowledged job is redelivered after this long
    max_attempts = 3                       # attempts before a job that keeps killing workers is failed
"""
from __future__ import annotations

import os
import socket
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path("/etc/devicex/queue.toml")
PRIORITIES = ("urgent", "high", "normal")  # consumed in this order


class ConfigError(ValueError):
    """The queue configuration is unusable (one line naming the file/key and the problem)."""


@dataclass(frozen=True)
class QueueConfig:
    broker: str = "redis://127.0.0.1:6379/0"
    concurrency: int = 1
    name: str = ""
    lease_seconds: int = 60
    visibility_timeout: int = 600
    restore_interval: int = 10  # how often a worker looks for jobs left unacknowledged by a dead worker
    max_attempts: int = 3

    @property
    def worker_name(self) -> str:
        return self.name or f"devicex@{socket.gethostname()}"

    def queue_name(self, priority: str) -> str:
        return f"devicex.{priority}"


def _coerce(key: str, value: Any, where: str) -> Any:
    wanted = {f.name: f.type for f in fields(QueueConfig)}[key]
    if wanted == "int":
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {key} must be a whole number, not {value!r}") from None
        if number < 1:
            raise ConfigError(f"{where}: {key} must be at least 1, not {number}")
        return number
    if not isinstance(value, str) or (key == "broker" and not value.startswith(("redis://", "rediss://"))):
        raise ConfigError(f"{where}: {key} must be {'a redis:// URL' if key == 'broker' else 'text'}, not {value!r}")
    return value


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> QueueConfig:
    """The effective configuration (file, then environment, then ``overrides`` that are not None)."""
    known = {f.name for f in fields(QueueConfig)}
    values: dict[str, Any] = {}
    path = path or (Path(os.environ["DEVICEX_QUEUE_CONFIG"]) if os.environ.get("DEVICEX_QUEUE_CONFIG") else None)
    if path is None and DEFAULT_FILE.is_file():
        path = DEFAULT_FILE
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the queue configuration: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        for key, value in data.items():
            if key not in known:
                raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(known))})")
            values[key] = _coerce(key, value, str(path))
    for key in known:
        env = os.environ.get(f"DEVICEX_QUEUE_{key.upper()}")
        if env:
            values[key] = _coerce(key, env, f"$DEVICEX_QUEUE_{key.upper()}")
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
    return replace(QueueConfig(), **values)
