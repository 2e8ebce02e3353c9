"""The plan's spool: every planned entry comes back equal to what was planned (the compact rows and the
pickled fallback), in media-offset order."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from devicex.entries import Entry
from pipelines.onepass import Planned
from pipelines.planstore import MEMORY_BUDGET, PlanStore, decode, encode
from pipelines.select import Decision
from tests.pipelines.sample_entries import sample_entry as _entry


def _planned(n: int, entry: Entry, decision: Decision | None = None) -> Planned:
    runs = [(4096 * (2000 - n), 512), (4096 * (2010 - n), 488 + n)]
    byte_runs = [{"file_offset": 0, "fs_offset": 4096 * (2000 - n), "img_offset": 4096 * (2000 - n), "len": 512}]
    return Planned(n, entry, 100 + n, f"exports/f{n}" if n % 2 else None, decision, runs, byte_runs)


def test_planned_entries_come_back_equal() -> None:
    items = [_planned(1, _entry(1)), _planned(2, _entry(2), Decision(True, "all", records_only=True)),
             _planned(3, _entry(3, mtime=None, ctime=None, crtime=None, fn_mtime=None))]
    for item in items:
        blob = encode(item)
        assert blob[:1] == b"m"  # the compact row, not the pickled object
        back = decode(blob)
        assert back == item
        assert all(t is None or t.tzinfo is UTC for t in (back.entry.mtime, back.entry.ctime))


def test_what_the_compact_row_cannot_hold_is_pickled_and_comes_back_equal() -> None:
    other_zone = timezone(timedelta(hours=2))
    item = _planned(4, _entry(4, atime=datetime(2020, 1, 1, 12, tzinfo=other_zone)))
    blob = encode(item)
    assert blob[:1] == b"p"
    assert decode(blob) == item
    assert decode(blob).entry.atime.tzinfo == other_zone  # type: ignore[union-attr]


@pytest.mark.parametrize("budget", [MEMORY_BUDGET, 2000, 0])  # in memory; spooled part way; spooled at once
def test_the_plan_is_read_back_by_media_offset_then_walk_order(tmp_path: Path, budget: int) -> None:
    store = PlanStore(tmp_path / "plan.sqlite", budget)
    items = [_planned(n, _entry(n)) for n in range(1, 1500)]
    items.append(Planned(1500, _entry(1500), 1600, None, None, [(4096 * (2000 - 39), 10)], None))  # 39's start
    for item in items:
        store.add(item)
    assert store.spooled == (budget < MEMORY_BUDGET)
    assert (tmp_path / "plan.sqlite").exists() == store.spooled
    back = list(store.by_offset())
    store.close()
    assert back == sorted(items, key=lambda p: (p.start, p.seq))
    seqs = [p.seq for p in back]
    assert seqs[:2] == [1499, 1498] and seqs[seqs.index(39) + 1] == 1500
