"""Priorities (one worker running one job at a time takes urgent, then high, then normal, each in
the order queued), cancelling a queued job (it never starts) and a running one (it stops between
files; case.db and the custody log say cancelled), and what submit refuses before queueing."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import redis

from tests.conftest import IMAGES
from tests.pipelines.queue.conftest import TERMINAL, Workers, cli, custody_actions, devicex, job_status, wait_for

FULL = ("--full-extraction-reason", "queue test", "--case", "OP-Q-17", "--workers", "1")


def _submit(broker: str, image: Path, out: Path, priority: str) -> str:
    return cli(broker, "queue", "submit", str(image), "-o", str(out), "--priority", priority,
                   *FULL).stdout.strip()


def _all_finished(broker: str, ids: list[str]) -> list[dict] | None:
    st = [job_status(broker, j)[0] for j in ids]
    return st if all(s["state"] in TERMINAL for s in st) else None


def test_priorities_and_cancel(broker: str, workers: Workers, tmp_path: Path, slow_image: Path) -> None:
    order = [("normal", "n1"), ("normal", "n2"), ("high", "h1"), ("normal", "x"), ("urgent", "u1"),
             ("high", "h2"), ("urgent", "u2")]
    ids = {name: _submit(broker, IMAGES / "fat16.img", tmp_path / name, prio) for prio, name in order}
    assert cli(broker, "queue", "cancel", ids["x"]).stdout.strip() == f"{ids['x']}: cancelled"
    workers.start("solo@test", concurrency=1)
    final = wait_for(lambda: _all_finished(broker, list(ids.values())), 60, "all jobs finished")
    by_name = {name: s for name, s in zip(ids, final, strict=False)}
    assert by_name["x"]["state"] == "cancelled" and by_name["x"]["attempts"] == 0
    x_log = [e["action"] for e in custody_actions(tmp_path / "x")]
    assert x_log == ["job-queued", "job-cancelled"] and not (tmp_path / "x" / "data").exists()
    ran = sorted((n for n in ids if n != "x"), key=lambda n: by_name[n]["started"])
    assert ran == ["u1", "u2", "h1", "h2", "n1", "n2"]
    assert all(by_name[n]["state"] == "completed" for n in ran)

    slow = _submit(broker, slow_image, tmp_path / "slow", "normal")
    def counted() -> dict | None:  # progress in the result backend, with the totals that give the ETA
        p = job_status(broker, slow)[0]["progress"] or {}
        return p if p.get("files", 0) > 50 and p.get("total_files") and p.get("eta_seconds") is not None else None

    progress = wait_for(counted, 60, "slow job running with totals")
    assert progress["stage"] == "extract" and progress["total_files"] > 3000 and progress["bytes"] > 0
    shown = cli(broker, "queue", "status", slow).stdout
    assert f"/{progress['total_files']} files" in shown and "ETA" in shown
    assert cli(broker, "queue", "cancel", slow).stdout.strip() == f"{slow}: cancelling"
    done = wait_for(lambda: _all_finished(broker, [slow]), 30, "cancelled job stopped")[0]
    assert done["state"] == "cancelled" and "cancelled by" in done["result"]["reason"]
    actions = [e["action"] for e in custody_actions(tmp_path / "slow")]
    assert actions[-2:] == ["extraction-cancelled", "job-finished"] and "extraction" not in actions
    with sqlite3.connect(tmp_path / "slow" / "data" / "case.db") as db:
        status, = db.execute("SELECT status FROM runs").fetchone()
        files, = db.execute("SELECT COUNT(*) FROM files WHERE kind = 'file'").fetchone()
    assert status == "cancelled" and 0 < files < 3000
    shown = cli(broker, "queue", "status", slow).stdout
    assert slow in shown and "cancelled by" in shown


def test_submit_refuses_before_queueing(broker: str, workers: Workers, tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "something").write_text("x")
    bad_scope = tmp_path / "scope.toml"
    bad_scope.write_text("scope_version = 1\n[[select]]\nunknown_key = 1\n")
    cases = [
        (("queue", "submit", str(IMAGES / "fat16.img"), "-o", str(tmp_path / "used"), *FULL), 2, "empty folder"),
        (("queue", "submit", str(tmp_path / "missing.img"), "-o", str(tmp_path / "o1"), *FULL), 3, "missing.img"),
        (("queue", "submit", str(IMAGES / "fat16.img"), "-o", str(tmp_path / "o2"), "--scope", str(bad_scope)),
         2, "invalid scope"),
        (("queue", "submit", str(IMAGES / "fat16.img"), "-o", str(tmp_path / "o3")), 2, "no scope given"),
        (("queue", "submit", str(IMAGES / "fat16.img"), "-o", str(tmp_path / "o4"), *FULL, "--seal", "--key",
          str(tmp_path / "nokey.pem")), 2, "nokey.pem"),
        (("queue", "submit", str(IMAGES / "fat16.img"), "-o", str(tmp_path / "o5"), *FULL, "--priority", "asap"),
         2, "asap"),
    ]
    for args, code, words in cases:
        proc = cli(broker, *args, check=False)
        assert proc.returncode == code, (args, proc.stderr)
        assert words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 6))
    assert redis.Redis.from_url(broker).dbsize() == 0  # nothing was queued
    unreachable = devicex(broker, "queue", "status", "--broker", "redis://127.0.0.1:9/0", check=False)
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) == 1


def test_a_machine_runs_as_many_jobs_at_once_as_configured(broker: str, workers: Workers, tmp_path: Path,
                                                           slow_image: Path) -> None:
    ids = [_submit(broker, slow_image, tmp_path / f"s{i}", "normal") for i in range(2)]
    workers.start("two@test", concurrency=2)

    def both_running() -> list[dict] | None:
        st = [job_status(broker, j)[0] for j in ids]
        return st if all(s["state"] == "running" for s in st) else None

    running = wait_for(both_running, 60, "both jobs running at once")
    assert {s["worker"] for s in running} == {"two@test"}
    done = wait_for(lambda: _all_finished(broker, ids), 90, "both jobs finished")
    assert [s["state"] for s in done] == ["completed", "completed"]
    # two pool processes ran them (the start times alone can coincide to the microsecond on two cores)
    starts = [next(e for e in custody_actions(tmp_path / f"s{i}") if e["action"] == "job-start") for i in range(2)]
    assert len({s["details"]["pid"] for s in starts}) == 2 and all(s["details"]["attempt"] == 1 for s in starts)
