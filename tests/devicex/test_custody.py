"""The custody log: append-only hash chain, and precise reading back."""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest

from devicex.custody import GENESIS, Actor, Artefact, CustodyError, CustodyLog, canonical, check_chain, head, read_chain
from tests.sealing_support import extracted, primary_image, work_root  # noqa: E402,F401 - fixtures

ACTOR = Actor("X-9", "Unit Tester")


def _log(tmp_path: Path, n: int = 6) -> tuple[Path, list[bytes]]:
    path = tmp_path / "custody.jsonl"
    log = CustodyLog(path, ACTOR, "CASE", "EXH")
    for i in range(n):
        log.append(f"step-{i}", inputs=[Artefact("in", f"ref{i}", "a" * 64, i)], details={"i": i})
    return path, path.read_bytes().split(b"\n")[:-1]


def _join(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _codes(data: bytes, count: int | None = None, head_hash: str | None = None) -> list[tuple[str, int | None]]:
    return [(i.code, i.seq) for i in check_chain(data, count, head_hash).issues]


def test_append_writes_a_canonical_hash_chain(tmp_path: Path) -> None:
    path, lines = _log(tmp_path)
    prev = GENESIS
    for n, raw in enumerate(lines, 1):
        entry = json.loads(raw)
        assert canonical(entry) == raw
        assert entry["seq"] == n and entry["prev_sha256"] == prev
        assert entry["time"].endswith("Z") and entry["actor"] == ACTOR.as_dict()
        assert set(entry) >= {"host", "action", "case_ref", "exhibit_ref", "inputs", "outputs", "result", "details"}
        prev = hashlib.sha256(raw).hexdigest()
    assert head(path) == (prev, len(lines))
    report = read_chain(path, len(lines), prev)
    assert report.ok and report.lines == 6 and report.head == prev


def test_floats_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        CustodyLog(tmp_path / "c.jsonl", ACTOR, None, None).append("x", details={"ratio": 0.5})


def test_real_extraction_log_is_intact(work_root: Path) -> None:  # noqa: F811
    out = extracted(work_root, primary_image())
    report = read_chain(out / "custody.jsonl")
    assert report.ok, report.issues
    actions = [e.entry["action"] for e in report.entries]
    # a disk image: hashed at intake by the extraction's own read, so the intake comes after the start and
    # before the re-verification and the closing entry
    assert actions[:3] == ["source-open", "scope", "extraction-start"]
    assert actions.index("intake") < actions.index("source-reverify") < actions.index("extraction")
    assert actions[-1] == "extraction"


def test_edit_in_the_middle_is_located(tmp_path: Path) -> None:
    _, lines = _log(tmp_path)
    entry = json.loads(lines[2])
    entry["result"] = "tampered"
    lines[2] = canonical(entry)
    assert _codes(_join(lines)) == [("custody-edited", 3)]


def test_non_canonical_edit_is_reported(tmp_path: Path) -> None:
    _, lines = _log(tmp_path)
    lines[1] = lines[1].replace(b'"action":', b'"action": ')
    codes = _codes(_join(lines))
    assert ("custody-not-canonical", 2) in codes and ("custody-edited", 2) in codes


@pytest.mark.parametrize("index, expected", [(0, ("custody-gap", 2)), (3, ("custody-gap", 4))])
def test_deleted_entry_is_a_gap(tmp_path: Path, index: int, expected: tuple[str, int]) -> None:
    _, lines = _log(tmp_path)
    del lines[index]
    assert _codes(_join(lines)) == [expected]


def test_reordered_entries(tmp_path: Path) -> None:
    _, lines = _log(tmp_path)
    lines[2], lines[3] = lines[3], lines[2]
    assert _codes(_join(lines)) == [("custody-reordered", 3)]


def test_duplicates_byte_identical_and_same_seq(tmp_path: Path) -> None:
    _, lines = _log(tmp_path)
    assert _codes(_join(lines[:4] + [lines[2]] + lines[4:])) == [("custody-duplicate", 3)]
    other = json.loads(lines[2])
    other["details"] = {"forged": True}
    assert _codes(_join(lines[:3] + [canonical(other)] + lines[3:])) == [("custody-duplicate", 3)]


def test_truncation_and_appending_against_the_sealed_head(tmp_path: Path) -> None:
    path, lines = _log(tmp_path)
    sealed_head, count = head(path)
    data = _join(lines)
    assert _codes(data, count, sealed_head) == []
    assert _codes(_join(lines[:-2]), count, sealed_head) == [("custody-truncated", 5)]
    assert _codes(data[:-15], count, sealed_head)[0] == ("custody-truncated", None)
    assert _codes(data[:-1], count, sealed_head) == [("custody-truncated", None)]  # only the last newline cut
    CustodyLog(path, ACTOR, "CASE", "EXH").append("late")
    assert _codes(path.read_bytes(), count, sealed_head) == [("custody-appended", 7)]
    last = json.loads(lines[-1])
    last["details"] = {"i": 99}
    assert _codes(_join(lines[:-1] + [canonical(last)]), count, sealed_head) == [("custody-edited", 6)]


def test_malformed_lines(tmp_path: Path) -> None:
    _, lines = _log(tmp_path)
    assert ("custody-malformed", None) in _codes(_join(lines[:2] + [b"not json"] + lines[2:]))
    assert ("custody-malformed", None) in _codes(_join(lines[:2] + [b""] + lines[2:]))
    assert ("custody-malformed", None) in _codes(_join(lines[:2] + [b'{"seq": 3}'] + lines[2:]))


def test_append_refuses_a_damaged_log(tmp_path: Path) -> None:
    path, lines = _log(tmp_path)
    path.write_bytes(_join(lines)[:-10])
    with pytest.raises(CustodyError):
        CustodyLog(path, ACTOR, None, None).append("more")
    path.write_bytes(_join(lines[:2] + lines[3:]))
    with pytest.raises(CustodyError):
        CustodyLog(path, ACTOR, None, None).append("more")


def test_concurrent_appenders_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "custody.jsonl"

    def worker(n: int) -> None:
        log = CustodyLog(path, Actor(f"w{n}", f"worker {n}"), None, None)
        for i in range(25):
            log.append("tick", details={"worker": n, "i": i})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = read_chain(path)
    assert report.ok and report.lines == 100
