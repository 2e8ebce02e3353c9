"""Several fixture images queued with mixed priorities on a real Redis, run by three worker
processes, one of which is killed (kill -9 of its whole process group) in the middle of a job.
Every job must finish, its bundle must verify, and its output must equal a hand-run
``devicex extract`` of the same image; the killed job shows both attempts in its custody log."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import IMAGES
from tests.pipelines.queue.conftest import (
    TERMINAL,
    Workers,
    after_interruption,
    case_rows,
    cli,
    custody_actions,
    devicex,
    exports,
    extraction_actions,
    job_status,
    wait_for,
)

COMMON = ("--case", "OP-Q-17", "--exhibit", "EX-1", "--examiner-id", "T-17", "--workers", "1")


def _options(key: Path) -> tuple[str, ...]:
    return (*COMMON, "--seal", "--key", str(key), "--full-extraction-reason", "queue test")


def test_jobs_survive_a_killed_worker_and_equal_hand_runs(broker: str, workers: Workers, tmp_path: Path,
                                                          signing_key: Path, slow_image: Path) -> None:
    jobs = {  # image -> priority; the slow one is urgent, so it is among the first taken
        slow_image: "urgent", IMAGES / "ntfs.img": "normal", IMAGES / "fat16.img": "high",
        IMAGES / "ext4.E01": "normal", IMAGES / "gpt.img": "urgent",
    }
    ids: dict[str, Path] = {}
    for image, priority in jobs.items():
        out = tmp_path / "queued" / image.name
        out.parent.mkdir(exist_ok=True)
        submit = devicex if image == slow_image else cli  # once as a user runs it, then in-process
        proc = submit(broker, "queue", "submit", str(image), "-o", str(out), "--priority", priority,
                       *_options(signing_key))
        ids[proc.stdout.strip()] = image
    slow_job = next(j for j, img in ids.items() if img == slow_image)
    for n in (1, 2, 3):
        workers.start(f"w{n}@test")

    def slow_running() -> dict | None:
        s = job_status(broker, slow_job)[0]
        return s if s["state"] == "running" and (s["progress"] or {}).get("files", 0) > 100 else None

    victim = wait_for(slow_running, 60, "the slow job running")["worker"]
    workers.kill(victim)  # mid-job: its lease stops being renewed; the message was never acknowledged
    def all_finished() -> list[dict] | None:
        st = job_status(broker)
        return st if all(s["state"] in TERMINAL for s in st) else None

    final = wait_for(all_finished, 90, "every job finished")

    by_id = {s["job_id"]: s for s in final}
    assert {s["state"] for s in final} == {"completed"}, final
    for job, image in ids.items():
        status = by_id[job]
        assert status["result"]["exit_code"] == 0 and status["result"]["sealed"], status
        out = Path(status["out"])
        hand = tmp_path / "hand" / image.name
        hand.parent.mkdir(exist_ok=True)
        cli(broker, "extract", str(image), "-o", str(hand), "-q", *_options(signing_key))
        cli(broker, "verify", str(out))
        assert case_rows(out) == case_rows(hand), image.name
        assert exports(out) == exports(hand), image.name
        entries = custody_actions(out)
        assert extraction_actions(entries) == extraction_actions(custody_actions(hand)), image.name
        queued = [e for e in entries if e["action"] == "job-queued"]
        assert len(queued) == 1 and queued[0]["details"]["job_id"] == job
        starts = [e for e in entries if e["action"] == "job-start"]
        assert all(s["details"]["machine"] and s["details"]["worker"] for s in starts)
        if job == slow_job:  # both attempts are in the log; the second was taken over by another worker
            assert [s["details"]["attempt"] for s in starts] == [1, 2]
            assert starts[0]["details"]["worker"] == victim != starts[1]["details"]["worker"]
            abandoned = [e for e in entries if e["action"] == "job-attempt-abandoned"]
            assert len(abandoned) == 1 and abandoned[0]["details"]["worker"] == victim
            assert abandoned[0]["details"]["partial_output_discarded"]["files"] > 0
            # the dead attempt's intake, if it got that far (a disk image is hashed by the pass that reads its
            # content), re-verified by the next attempt's
            closing = [e for e in entries if after_interruption(e)]
            intakes = [e for e in entries if e["action"] == "intake"]
            assert len(intakes) == 1 + len(closing) and all(e["result"] == "ok" for e in closing)
            assert status["attempts"] == 2
        else:
            assert len(starts) == status["attempts"] == 1
    # urgent before normal across three workers (the exact order, with one worker, is in test_queue_order_cancel):
    # a normal job is only taken once a worker has finished a job, after both urgent ones were taken
    started = {job: next(e["time"] for e in custody_actions(Path(by_id[job]["out"])) if e["action"] == "job-start")
               for job in ids}
    urgent = [started[j] for j in ids if by_id[j]["priority"] == "urgent"]
    normal = [started[j] for j in ids if by_id[j]["priority"] == "normal"]
    assert max(urgent) < min(normal), (urgent, normal)
