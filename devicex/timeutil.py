"""Timestamps: always timezone-aware UTC; missing is ``None``."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def from_unix(seconds: int | None, nanos: int | None = 0) -> datetime | None:
    """Convert a POSIX time (+ nanoseconds) to aware UTC; 0/None means missing."""
    if not seconds:
        return None
    try:
        return _EPOCH + timedelta(seconds=int(seconds), microseconds=(nanos or 0) // 1000)
    except (OverflowError, ValueError):
        return None


def from_filetime(value: int) -> datetime | None:
    """Convert a Windows FILETIME (100 ns ticks since 1601) to aware UTC."""
    if not value:
        return None
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except (OverflowError, ValueError):
        return None


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 text in UTC with a ``Z`` suffix, or ``None``."""
    if dt is None:
        return None
    # isoformat: 'YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00' (microseconds only when non-zero, the year always
    # four digits), about 4x cheaper than strftime on the 8 times of every case.db row
    return dt.astimezone(UTC).isoformat()[:-6] + "Z"


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


def format_utc_offset(minutes: int) -> str:
    """Minutes east of UTC as ``+HH:MM`` / ``-HH:MM``."""
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"
