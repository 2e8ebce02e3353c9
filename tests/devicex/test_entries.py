"""An entry crosses to the worker processes and the spools pickled: it comes back equal, its times with the
same zone object, whatever they are."""
from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone

import pytest

from devicex.entries import Entry

_WHEN = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)


def _entry(**times: datetime | None) -> Entry:
    values: dict[str, object] = dict(
        source="img", volume="p1", fs_offset=1048576, fs_type="ntfs", inode=7, attr_type=128, attr_id=2,
        stream="ads", path="/dir/f", name="f", name_raw=b"f\xe9", kind="file", size=1000, alloc="deleted",
        realloc=True, meta_seq=3, mtime=_WHEN, atime=None, ctime=_WHEN + timedelta(days=1),
        crtime=datetime(1601, 1, 1, tzinfo=UTC), fn_mtime=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        uid=0, gid=None, mode=0o100644, notes=("duplicate name",), utc_offsets=(("mtime", 60),))
    values.update(times)
    return Entry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("times", [
    {},  # UTC times and missing ones
    {"mtime": None, "ctime": None, "crtime": None, "fn_mtime": None},
    {"atime": datetime(2020, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))},  # another zone: kept as it is
    {"atime": datetime(2020, 1, 1, 12)},  # a naive time (a zip's local time would be one): kept as it is
    {"mtime": datetime(2021, 11, 7, 1, 30, tzinfo=UTC, fold=1)},
    # the same time object in several fields, and an equal one with another fold (its state is its own)
    {"atime": _WHEN, "crtime": _WHEN, "fn_atime": _WHEN, "fn_ctime": _WHEN.replace(fold=1), "fn_crtime": _WHEN},
])
def test_an_entry_comes_back_equal_from_pickle(times: dict[str, datetime | None]) -> None:
    entry = _entry(**times)
    back = pickle.loads(pickle.dumps(entry, pickle.HIGHEST_PROTOCOL))
    assert back == entry
    for name in ("mtime", "atime", "ctime", "crtime", "fn_mtime", "fn_atime", "fn_ctime", "fn_crtime"):
        mine, theirs = getattr(entry, name), getattr(back, name)
        assert (mine is None) == (theirs is None)
        if mine is not None:
            assert theirs.tzinfo is mine.tzinfo or theirs.tzinfo == mine.tzinfo
            assert theirs.fold == mine.fold and theirs.isoformat() == mine.isoformat()


def test_equal_times_come_back_as_one_object_and_unequal_ones_apart() -> None:
    equal = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)  # equal to _WHEN, another object
    entry = _entry(atime=_WHEN, crtime=equal, fn_mtime=_WHEN, fn_atime=_WHEN.replace(fold=1), fn_ctime=None,
                   fn_crtime=equal)
    rebuild, args = entry.__reduce__()
    assert rebuild is not Entry  # the compact form
    states = args[1]
    assert states[0] is states[1] and states[1] == states[3] and states[5] != states[0]  # fold in the state
    back = rebuild(*args)
    assert back == entry
    assert back.mtime is back.atime is back.crtime is back.fn_mtime is back.fn_crtime
    assert back.fn_atime is not back.mtime and back.fn_atime.fold == 1  # type: ignore[union-attr]
    assert back.ctime is not back.mtime and back.fn_ctime is None
