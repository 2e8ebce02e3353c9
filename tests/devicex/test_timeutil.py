"""Timestamps: aware UTC, missing is None, ISO 8601 text; checked against GNU date(1)."""
from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from devicex.timeutil import from_filetime, from_unix, iso, parse_iso


def _gnu_date(seconds: int) -> str:
    return subprocess.run(["date", "-u", "-d", f"@{seconds}", "+%Y-%m-%dT%H:%M:%SZ"], capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.mark.parametrize("seconds", [1, 86_399, 951_782_400, 1_700_000_000, 2_147_483_647, 4_102_444_800])
def test_unix_times_as_date_prints_them(seconds: int) -> None:
    dt = from_unix(seconds)
    assert dt is not None and dt.tzinfo is not None and dt.utcoffset() == timedelta(0)
    assert iso(dt) == _gnu_date(seconds)
    assert parse_iso(iso(dt)) == dt


def test_fractions_filetime_offsets_and_missing() -> None:
    assert iso(from_unix(1_700_000_000, 123_456_789)) == "2023-11-14T22:13:20.123456Z"
    assert iso(from_unix(1_700_000_000, 999)) == "2023-11-14T22:13:20Z"  # below a microsecond: none shown
    # FILETIME of the Unix epoch (116444736000000000 ticks of 100 ns since 1601), and 1601 itself
    assert iso(from_filetime(116_444_736_000_000_000)) == "1970-01-01T00:00:00Z"
    assert iso(from_filetime(116_444_736_000_000_000 + 17_000_000_000_000_000 + 1234567)) == (
        _gnu_date(1_700_000_000)[:-1] + ".123456Z")
    assert iso(from_filetime(1)) == "1601-01-01T00:00:00Z"
    assert iso(datetime(2020, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))) == "2020-01-01T10:00:00Z"
    assert from_unix(0) is None and from_unix(None) is None and from_filetime(0) is None
    assert iso(None) is None and parse_iso(None) is None and parse_iso("") is None


def test_unix_times_out_of_range_and_odd_nanoseconds() -> None:
    # before year 1 or after 9999: no time (not an error); nanoseconds past a second carry into the seconds
    assert from_unix(-62_135_596_801) is None and from_unix(253_402_300_800) is None and from_unix(10**20) is None
    assert iso(from_unix(-62_135_596_800)) == "0001-01-01T00:00:00Z"
    assert iso(from_unix(253_402_300_799, 999_999_999)) == "9999-12-31T23:59:59.999999Z"
    assert iso(from_unix(-1, 500_000_000)) == _gnu_date(-1)[:-1] + ".500000Z"
    assert iso(from_unix(1, 1_500_000_000)) == "1970-01-01T00:00:02.500000Z"
