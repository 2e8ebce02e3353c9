"""A pathological file stops its parser, not the extraction: each parser call has a time and a memory
budget, in worker processes and in the worker thread alike. The pathological parsers below stand for what a
hostile file does to a real one (a loop that never ends, memory that grows without bound, one huge
allocation in C); they run through the real pipeline next to the real EXIF parser, on a real image."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

import parsers
from devicex.entries import Entry
from devicex.parsing import ParserContext, ParserSpec
from devicex.records import Record
from pipelines.extract import ExtractOptions, run
from pipelines.limits import Limits, MemoryLimit, TimeLimit, limited
from tests.conftest import IMAGES


def _endless(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    while True:  # a cyclic structure followed for ever
        ctx.head.find(b"\xff\xd8")
    yield  # pragma: no cover


def _swallowing(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    while True:  # a parser that catches everything must still be stopped
        try:
            while True:
                pass
        except Exception:  # noqa: BLE001, S110 - the point of this test parser
            pass
    yield  # pragma: no cover


def _growing(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    hoard = []
    while True:  # a decompression bomb inflating chunk by chunk
        hoard.append(bytearray(4 << 20))
    yield  # pragma: no cover


def _one_huge_allocation(entry: Entry, ctx: ParserContext) -> Iterator[Record]:
    data = bytearray(64 << 30)  # one C-level allocation: only the worker's address-space limit stops it
    yield data  # pragma: no cover


def _spec(name: str, func) -> ParserSpec:  # type: ignore[no-untyped-def]
    return ParserSpec(name, "1", frozenset({"image/jpeg"}), frozenset(), func)


@pytest.fixture()
def with_parsers(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def install(*extra: ParserSpec) -> None:
        specs = tuple(sorted((*parsers.registry(), *extra), key=lambda s: s.name))
        monkeypatch.setattr(parsers, "registry", lambda: specs)
        monkeypatch.setattr(parsers, "for_type", lambda mime, ext, path="": [s for s in specs if s.wants(mime, ext, path)])
    monkeypatch.setenv("DEVICEX_PARSER_SECONDS", "0.5")
    monkeypatch.setenv("DEVICEX_PARSER_MEMORY_MB", "64")
    return install


def _jpegs(out: Path) -> int:
    with closing(sqlite3.connect(out / "data" / "case.db")) as db:
        return int(db.execute("SELECT COUNT(*) FROM files WHERE mime = 'image/jpeg'").fetchone()[0])


def _errors(out: Path) -> dict[str, list[str]]:
    with closing(sqlite3.connect(out / "data" / "case.db")) as db:
        rows = db.execute("SELECT stage, path, message FROM errors WHERE stage LIKE 'parse:%'").fetchall()
        runs = db.execute("SELECT status FROM runs").fetchall()
        exif = db.execute("SELECT COUNT(*) FROM records WHERE parser = 'exif'").fetchone()[0]
    assert runs == [("completed",)] and exif >= 2  # the run finished; the real parser did its work
    found: dict[str, list[str]] = {}
    for stage, path, message in rows:
        found.setdefault(stage, []).append(f"{path}: {message}")
    return found


@pytest.mark.parametrize("workers", [1, 2])
def test_a_parser_that_never_ends_is_stopped_and_recorded(tmp_path: Path, with_parsers, workers: int) -> None:  # type: ignore[no-untyped-def]
    with_parsers(_spec("endless", _endless), _spec("swallowing", _swallowing))
    began = time.monotonic()
    summary = run(ExtractOptions(source=IMAGES / "fat16.img", out=tmp_path / "out", workers=workers,
                                 full_reason="test"))
    assert time.monotonic() - began < 60
    errors = _errors(tmp_path / "out")
    for name in ("endless", "swallowing"):
        messages = errors[f"parse:{name}"]
        assert len(messages) == _jpegs(tmp_path / "out") >= 2, messages  # every JPEG (by content)
        assert all("stopped after 0.5 s" in m for m in messages), messages
    assert summary.errors == 2 * _jpegs(tmp_path / "out")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_parser_whose_memory_grows_without_bound_is_stopped(tmp_path: Path, with_parsers, workers: int,  # type: ignore[no-untyped-def]
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVICEX_PARSER_SECONDS", "120")  # only the memory limit may stop it, however loaded the machine
    with_parsers(_spec("growing", _growing))
    run(ExtractOptions(source=IMAGES / "fat16.img", out=tmp_path / "out", workers=workers, full_reason="test"))
    messages = _errors(tmp_path / "out")["parse:growing"]
    assert len(messages) == _jpegs(tmp_path / "out") and all("memory" in m for m in messages), messages


def test_one_huge_allocation_in_a_worker_process_fails_that_file_only(tmp_path: Path, with_parsers) -> None:  # type: ignore[no-untyped-def]
    with_parsers(_spec("huge", _one_huge_allocation))
    run(ExtractOptions(source=IMAGES / "fat16.img", out=tmp_path / "out", workers=2, full_reason="test"))
    messages = _errors(tmp_path / "out")["parse:huge"]
    assert len(messages) == _jpegs(tmp_path / "out") and all("out of memory" in m for m in messages), messages


def test_limits_end_cleanly_when_the_parse_is_within_them() -> None:
    """Thousands of quick guarded calls: nothing is raised after a guard has ended."""
    limits = Limits(seconds=0.01, memory=1 << 30)
    for _ in range(2000):
        with limited(limits):
            sum(range(100))
    time.sleep(0.2)  # a late watchdog round finds nothing to stop
    with pytest.raises(TimeLimit), limited(limits):
        while True:
            pass
    with pytest.raises(MemoryLimit), limited(Limits(seconds=30, memory=32 << 20)):
        hoard = []
        while True:
            hoard.append(bytearray(1 << 20))


def _busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # Python bytecode: the watchdog's exception is delivered here
        pass


def test_the_time_limit_grows_with_the_file() -> None:
    limits = Limits(seconds=0.3, per_mib=1.0)
    assert Limits().for_size(300 << 20).seconds == 420  # 120 s + 1 s per MiB
    assert limits.for_size(0).seconds == 0.3
    with limited(limits.for_size(2 << 20)):  # 2.3 s for a 2 MiB file: 0.8 s of work is not stopped
        _busy(0.8)
    began = time.monotonic()
    with pytest.raises(TimeLimit), limited(limits.for_size(0)):  # 0.3 s for an empty one: it is
        _busy(5.0)
    assert time.monotonic() - began < 3.0


def test_limited_grows_the_time_limit_with_the_size_it_is_given() -> None:
    limits = Limits(seconds=0.3, per_mib=1.0)
    with limited(limits, 2 << 20):  # as limited(limits.for_size(2 << 20)): 0.8 s of work is not stopped
        _busy(0.8)
    began = time.monotonic()
    with pytest.raises(TimeLimit), limited(limits, 0):
        _busy(5.0)
    assert time.monotonic() - began < 3.0
