"""Timestamps as databases store them: raw numbers in a named epoch and unit.

Every converter returns aware UTC or ``None`` (missing, zero, or outside
1990-2100 -- a value that cannot be a message or visit time is not shown as
1970 or 2001); the raw value and the epoch's name are kept beside it.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

UTC = UTC

UNIX_S = "unix-s"          # seconds since 1970-01-01
UNIX_MS = "unix-ms"        # milliseconds since 1970 (Java time)
UNIX_US = "unix-us"        # microseconds since 1970 (PRTime)
COCOA_S = "cocoa-s"        # seconds since 2001-01-01 (Mac absolute time, Core Data)
COCOA_NS = "cocoa-ns"      # nanoseconds since 2001-01-01
WEBKIT_US = "webkit-us"    # microseconds since 1601-01-01 (Chrome)

_BASE = {
    UNIX_S: (datetime(1970, 1, 1, tzinfo=UTC), 1),
    UNIX_MS: (datetime(1970, 1, 1, tzinfo=UTC), 1_000),
    UNIX_US: (datetime(1970, 1, 1, tzinfo=UTC), 1_000_000),
    COCOA_S: (datetime(2001, 1, 1, tzinfo=UTC), 1),
    COCOA_NS: (datetime(2001, 1, 1, tzinfo=UTC), 1_000_000_000),
    WEBKIT_US: (datetime(1601, 1, 1, tzinfo=UTC), 1_000_000),
}
EPOCHS = tuple(_BASE)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
COCOA_NS_THRESHOLD = 100_000_000_000  # |v| above this is nanoseconds (seconds would be after year 5000)


# the same bounds in each epoch's own units, for integers (a million rows make the shortcut worth having)
_RAW_BOUNDS = {epoch: (int((EARLIEST - base).total_seconds()) * per, int((LATEST - base).total_seconds()) * per)
               for epoch, (base, per) in _BASE.items()}


def convert(value: object, epoch: str) -> datetime | None:
    """``value`` (int, float or numeric text) in ``epoch`` as aware UTC, or ``None``."""
    if type(value) is int:
        low, high = _RAW_BOUNDS[epoch]
        if not value or not low <= value < high:  # zero: not set
            return None
        base, per_second = _BASE[epoch]
        whole, frac = divmod(value, per_second)
        return base + timedelta(0, whole, frac * 1_000_000 // per_second)
    number = _number(value)
    if not number:
        return None
    base, per_second = _BASE[epoch]
    try:
        if isinstance(number, int):
            whole, frac = divmod(number, per_second)
            moment = base + timedelta(seconds=whole, microseconds=frac * 1_000_000 // per_second)
        else:
            moment = base + timedelta(microseconds=round(number * 1_000_000 / per_second))
    except (OverflowError, ValueError):
        return None
    return moment if EARLIEST <= moment < LATEST else None


def cocoa(value: object) -> tuple[datetime | None, str]:
    """An Apple time that may be seconds or nanoseconds since 2001, decided for this
    value alone (databases migrated from older backups mix both)."""
    number = _number(value)
    epoch = COCOA_NS if number is not None and abs(number) > COCOA_NS_THRESHOLD else COCOA_S
    return convert(number, epoch), epoch


def _number(value: object) -> int | float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (str, bytes)):
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return None
    return None
