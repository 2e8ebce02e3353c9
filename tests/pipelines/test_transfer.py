"""What crosses between the parent and the worker processes: tasks and results come back equal to what was
sent (the compact blob, and the pickled one for what it cannot hold)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import parsers
from devicex.entries import Entry
from devicex.filetype import FileType
from devicex.hashing import Digests
from pipelines.process import ParserOutcome, Problem, Result
from pipelines.select import Decision
from pipelines.transfer import MARSHAL, PICKLE, Task, decode_results, decode_tasks, encode_results, encode_tasks
from tests.pipelines.sample_entries import sample_entry as _entry


def _tasks() -> list[Task]:
    compact = _entry(4).__reduce__()[1]  # as the plan's spool gives an entry back
    return [(_entry(1), 11, "files/f1", None, True),
            (_entry(2), 12, None, Decision(True, "all", records_only=True), b"\x00bytes"),
            (_entry(3, mtime=None, ctime=None, crtime=None), 13, "files/f3", Decision(False, "rule 2"), (4096, 77)),
            (compact, 14, "files/f4", None, False)]


def test_tasks_come_back_equal() -> None:
    tasks = _tasks()
    blob = encode_tasks(tasks)
    assert blob[:1] == MARSHAL
    back = decode_tasks(blob)
    assert [t[0] for t in back] == [_entry(n) if n != 3 else tasks[2][0] for n in (1, 2, 3, 4)]
    assert [t[1:] for t in back] == [t[1:] for t in tasks]
    assert type(back[1][3]) is Decision and back[0][3] is None


def test_a_task_with_a_time_not_in_utc_goes_pickled() -> None:
    local = _entry(5, mtime=datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    tasks = [*_tasks(), (local, 15, None, None, True)]
    blob = encode_tasks(tasks)
    assert blob[:1] == PICKLE
    back = decode_tasks(blob)
    assert back[-1][0] == local and back[-1][0].mtime == local.mtime and back[3][0] == _entry(4)
    assert [t[1:] for t in back] == [t[1:] for t in tasks]


def _results(entries: list[Entry]) -> list[Result]:
    exif = parsers.by_name()["exif"]
    outcome = ParserOutcome(exif, [("exif", "2024-01-01T00:00:00Z", '{"a":1}', None, None)], Path("/x/1-0-exif.records"),
                            1001, {"exif": '{"schema":1}'}, 1, False, {"out of scope": 3})
    return [
        Result(entries[0], 11, "files/f1", "ok", Digests("a" * 32, "b" * 40, "c" * 64, 1001),
               FileType("image/jpeg", "JPEG image data", "image", False), True, [outcome],
               [Problem("parse:exif", "warning", "GPS values unreadable")], Decision(True, "all"), True,
               [{"file_offset": 0, "fs_offset": 4096, "img_offset": 4096, "len": 512}], ["/a/b"], ["/c/d.db"]),
        Result(entries[1], 12, None, "unreadable", problems=[Problem("read", "error", "read failed at offset 0")]),
    ]


def test_results_come_back_equal() -> None:
    entries = [_entry(1), _entry(2)]
    blob = encode_results(_results(entries))
    assert blob[:1] == MARSHAL
    back = decode_results(blob, entries, parsers.by_name())
    assert back == _results(entries)
    assert back[0].entry is entries[0] and back[0].parsed[0].spec is parsers.by_name()["exif"]


class Message(str):
    """A value marshal does not hold (a subclass of a type it does)."""


def test_a_result_marshal_cannot_hold_goes_pickled() -> None:
    entries = [_entry(1), _entry(2)]
    results = _results(entries)
    results[1].problems.append(Problem("read", "warning", Message("odd")))
    blob = encode_results(results)
    assert blob[:1] == PICKLE
    back = decode_results(blob, entries, parsers.by_name())
    expected = _results(entries)
    expected[1].problems.append(Problem("read", "warning", "odd"))
    assert back == expected
    assert back[1].entry is entries[1] and back[0].parsed[0].spec is parsers.by_name()["exif"]


class Ruled(Decision):
    """A decision of a kind the compact form does not know."""


def test_a_decision_of_another_kind_goes_pickled() -> None:
    tasks = [*_tasks(), (_entry(6), 16, None, Ruled(True, "rule 7"), True)]
    blob = encode_tasks(tasks)
    assert blob[:1] == PICKLE
    assert type(decode_tasks(blob)[-1][3]) is Ruled
    entries = [_entry(1), _entry(2)]
    results = _results(entries)
    results[1].decision = Ruled(False, "rule 7")
    blob = encode_results(results)
    assert blob[:1] == PICKLE
    back = decode_results(blob, entries, parsers.by_name())
    assert type(back[1].decision) is Ruled and back[1].entry is entries[1]
