"""pipelines.store.ResultWriter: a ``files`` row's time texts, found by comparing each time with the last ones
instead of looking each up, are those ``iso`` gives each time on its own."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from devicex.casedb import CaseDB
from devicex.entries import Entry
from devicex.timeutil import iso
from pipelines.events import SilentReporter
from pipelines.extract import Summary
from pipelines.store import ResultWriter

_FIELDS = ("mtime", "atime", "ctime", "crtime", "fn_mtime", "fn_atime", "fn_ctime", "fn_crtime")


def _entry(times: list[datetime | None]) -> Entry:
    return Entry("img", "p1", 0, "ntfs", 5, 128, 1, None, "/f", "f", b"f", "file", 1, "allocated", False, 1,
                 *times[:4], *times[4:])  # type: ignore[arg-type]


def test_time_texts_equal_iso_of_each_time(tmp_path: Path) -> None:
    rng = random.Random(7)
    base = datetime(2024, 3, 1, 12, tzinfo=UTC)
    east = timezone(timedelta(hours=2))
    pool: list[datetime | None] = [
        None, base, base + timedelta(microseconds=1), base + timedelta(seconds=1), base.replace(fold=1),
        base.astimezone(east),  # the same instant in another zone: the same text
        datetime(1601, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
    writer = ResultWriter(CaseDB(tmp_path / "case.db"), 1, 1, Summary(), SilentReporter())
    for _ in range(2000):
        times = [rng.choice(pool) for _ in _FIELDS]
        times = [t if t is None or rng.random() < 0.5 else t + timedelta(0) for t in times]  # equal, not the same
        assert writer._times(_entry(times)) == [iso(t) for t in times]  # noqa: SLF001
