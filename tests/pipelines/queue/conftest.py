"""The real parts for the queue tests: Debian's redis-server on a free loopback port (started
here, stopped at the end), ``devicex worker`` processes, a signing key, an image big enough
(3,000 files, built with mke2fs -d) that a job is still running when a test acts on it, and
the normalised comparison of an output folder with a hand-run ``devicex extract``."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import redis

from devicex.keys import init_keys

REPO = Path(__file__).resolve().parents[3]
REDIS_SERVER = Path("/usr/bin/redis-server")
TERMINAL = ("completed", "failed", "cancelled")
# short timings so that a killed worker's job comes back within seconds
TIMINGS = {"DEVICEX_QUEUE_LEASE_SECONDS": "3", "DEVICEX_QUEUE_VISIBILITY_TIMEOUT": "8",
           "DEVICEX_QUEUE_RESTORE_INTERVAL": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert REDIS_SERVER.is_file(), "redis-server missing: .ci/install installs the Debian package redis-server"
    folder = tmp_path_factory.mktemp("redis")
    port = _free_port()
    proc = subprocess.Popen([str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder), "--logfile", str(folder / "redis.log")])
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


def env(broker_url: str) -> dict[str, str]:
    return os.environ | TIMINGS | {"DEVICEX_QUEUE_BROKER": broker_url, "PYTHONPATH": str(REPO),
                                   "DEVICEX_EXAMINER": "Test Examiner"}


def devicex(broker_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``devicex ARGS`` in a subprocess (as a user runs it)."""
    proc = subprocess.run([sys.executable, "-m", "devicex", *args], cwd=REPO, env=env(broker_url),
                          capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert proc.returncode == 0, f"devicex {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}"
    return proc


def cli(broker_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The same command line run in this process (click's runner): the many short queue commands
    of a test do not each pay for starting Python and loading Celery on a busy CI machine."""
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, list(args), env=env(broker_url), catch_exceptions=False)
    if check:
        assert result.exit_code == 0, f"devicex {' '.join(args)}: exit {result.exit_code}\n{result.stderr}"
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


class Workers:
    """``devicex worker`` processes, each in its own session (so that killing one kills its pool
    and extraction processes with it, as a power cut does)."""

    def __init__(self, broker_url: str, logs: Path) -> None:
        self.broker = broker_url
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, concurrency: int = 1) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "devicex", "worker", "--name", name, "--concurrency", str(concurrency),
             "--loglevel", "INFO"], cwd=REPO, env=env(self.broker), stdout=log, stderr=log, start_new_session=True)

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@pytest.fixture
def workers(broker: str, tmp_path: Path) -> Iterator[Workers]:
    redis.Redis.from_url(broker).flushdb()  # every test starts with an empty queue
    pool = Workers(broker, tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "signing-key.pem"
    init_keys(path, None)
    return path


@pytest.fixture(scope="session")
def slow_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ext4 image of 3,000 files of random content (64 MiB): a few seconds to extract."""
    folder = tmp_path_factory.mktemp("slow")
    rng = random.Random(17)
    tree = folder / "tree"
    for d in range(30):
        (tree / f"d{d:02d}").mkdir(parents=True)
        for f in range(100):
            (tree / f"d{d:02d}" / f"f{f:03d}.bin").write_bytes(rng.randbytes(rng.randint(100, 40000)))
    image = folder / "slow.img"
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d", str(tree), "-E", "root_owner=0:0", "-L", "slow",
                    str(image), "96M"], check=True, env=os.environ | {"E2FSPROGS_FAKE_TIME": "1700000000"})
    shutil.rmtree(tree)
    return image


def wait_for(what: Callable[[], Any], timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s: {message}")


def job_status(broker_url: str, job: str | None = None) -> list[dict[str, Any]]:
    """What ``devicex queue status --json`` prints (read in this process: polled often)."""
    from pipelines.queue.client import status
    from pipelines.queue.config import load_config

    return [asdict(s) for s in status(load_config(overrides={"broker": broker_url}), job)]


def custody_actions(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "custody.jsonl").read_text().splitlines()]


_VOLATILE = {"runs": ("started", "finished")}


def case_rows(out: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of OUT's case.db, without the run's start and end times."""
    conn = sqlite3.connect(f"file:{out / 'data' / 'case.db'}?mode=ro", uri=True)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    rows = {}
    for table in tables:
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] not in _VOLATILE.get(table, ())]
        rows[table] = conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid").fetchall()
    conn.close()
    return rows


def exports(out: Path) -> dict[str, str]:
    files = out / "data" / "files"
    return {p.relative_to(files).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(files.rglob("*")) if p.is_file()}


def extraction_actions(entries: list[dict[str, Any]]) -> list[str]:
    """The actions of the last attempt (after the last job-start), without the queue's own."""
    starts = [i for i, e in enumerate(entries) if e["action"] == "job-start"]
    tail = entries[starts[-1] + 1:] if starts else entries
    return [e["action"] for e in tail if not e["action"].startswith("job-") and not after_interruption(e)]


def after_interruption(entry: dict[str, Any]) -> bool:
    """The re-verification that closes a dead attempt's intake with the next attempt's intake hash."""
    return entry["action"] == "source-reverify" and entry["details"].get("after_interruption") is True
