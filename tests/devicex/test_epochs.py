"""Stored times to aware UTC: the values GNU ``date`` gives for the same instants, the bounds (1990-2100: a
time outside them is unknown, never 1970 or 2001), zero as unknown, and integers, text and floats of the same
value read alike."""
from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest

from devicex import epochs

# (epoch, seconds between its origin and 1970-01-01, units per second)
ORIGINS = [(epochs.UNIX_S, 0, 1), (epochs.UNIX_MS, 0, 1_000), (epochs.UNIX_US, 0, 1_000_000),
           (epochs.COCOA_S, 978_307_200, 1), (epochs.COCOA_NS, 978_307_200, 1_000_000_000),
           (epochs.WEBKIT_US, -11_644_473_600, 1_000_000)]


def _gnu_date(unix_seconds: int) -> datetime:
    text = subprocess.run(["date", "-u", "-d", f"@{unix_seconds}", "+%Y-%m-%dT%H:%M:%S"], check=True,
                          capture_output=True, text=True).stdout.strip()
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("epoch", "origin", "per"), ORIGINS)
@pytest.mark.parametrize("unix", [631_152_000, 1_700_000_000, 4_102_444_799])  # 1990-01-01, 2023, 2099-12-31
def test_integers_give_the_instant_gnu_date_gives(epoch: str, origin: int, per: int, unix: int) -> None:
    raw = (unix - origin) * per + per // 2  # half a second in, where the epoch has sub-second units
    expected = _gnu_date(unix).replace(microsecond=500_000 if per > 1 else 0)
    assert epochs.convert(raw, epoch) == expected
    assert epochs.convert(str(raw), epoch) == expected  # text of the same value
    if per <= 1_000:
        assert epochs.convert(float(raw), epoch) == expected


@pytest.mark.parametrize(("epoch", "origin", "per"), ORIGINS)
def test_outside_1990_to_2100_and_zero_are_unknown(epoch: str, origin: int, per: int) -> None:
    first = (631_152_000 - origin) * per  # 1990-01-01T00:00:00Z
    end = (4_102_444_800 - origin) * per  # 2100-01-01T00:00:00Z
    assert epochs.convert(first, epoch) == datetime(1990, 1, 1, tzinfo=UTC)
    assert epochs.convert(first - 1, epoch) is None
    assert epochs.convert(end - 1, epoch) is not None
    assert epochs.convert(end, epoch) is None
    for unknown in (0, "0", None, True, "", "not a number", 2**80, -2**80):
        assert epochs.convert(unknown, epoch) is None
