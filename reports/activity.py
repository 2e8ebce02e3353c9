"""Activity over time, counted when the report is written (never in the browser):
per series, the events of each UTC day and hour, and, when the report has the
device's time zone (given to ``extract``/``report`` or found on the device), the
same events by day and hour in that zone (with its rules for each date, summer
time included), for the hour-of-day and day-of-week views.

Events are counted per UTC quarter hour and each quarter is placed in the zone:
every zone's offset is a whole number of quarter hours and changes on a quarter
hour, so all the events of one quarter fall in the same local hour.

Series: files modified and created (file-system times), pictures taken (EXIF
times with a recorded offset, or camera clock times converted with the
device's zone), then every other record kind in the case database by its
primary time, so new record kinds appear without a change here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from reports.model import Case

EPOCH_DAY = date(1970, 1, 1).toordinal()
_VALID = "t LIKE '____-__-__T__%'"
PICTURES = "exif"
FILE_SERIES = (("mtime", "Files modified"), ("crtime", "Files created"))


@dataclass
class Series:
    key: str
    label: str
    days: list[int] = field(default_factory=list)         # day numbers (days since 1970-01-01), ascending
    hours: list[list[int]] = field(default_factory=list)  # per listed day, 24 counts (UTC hours)
    local: dict[int, list[int]] | None = None  # with a zone: local day number -> 24 counts (local hours)

    @property
    def total(self) -> int:
        return sum(sum(h) for h in self.hours)

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"key": self.key, "label": self.label, "total": self.total, "days": self.days,
                                  "hours": self.hours}
        if self.local is not None:
            days = sorted(self.local)
            out["local"] = {"days": days, "hours": [self.local[d] for d in days]}
        return out


def day_number(text: str) -> int:
    return date.fromisoformat(text[:10]).toordinal() - EPOCH_DAY


def day_text(number: int) -> str:
    return date.fromordinal(number + EPOCH_DAY).isoformat()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _place(local: dict[int, list[int]], zone: ZoneInfo, day: int, hour: int, quarter: int, n: int) -> None:
    """Count ``n`` events of a UTC quarter hour in its local day and hour."""
    moment = (_EPOCH + timedelta(days=day, hours=hour, minutes=15 * quarter)).astimezone(zone)
    local.setdefault(moment.date().toordinal() - EPOCH_DAY, [0] * 24)[moment.hour] += n


def _series(case: Case, key: str, label: str, times_sql: str, params: tuple[object, ...] = (),
            zone: ZoneInfo | None = None) -> Series:
    s = Series(key, label, local={} if zone is not None else None)
    sql = (f"SELECT substr(t, 1, 10) AS d, CAST(substr(t, 12, 2) AS INTEGER) AS h, "
           f"CAST(substr(t, 15, 2) AS INTEGER) / 15 AS q, count(*) FROM ({times_sql}) "
           f"WHERE {_VALID} GROUP BY d, h, q ORDER BY d, h, q")
    for d, h, q, n in case.conn.execute(sql, params):
        try:
            number = day_number(d)
        except ValueError:
            continue
        if not s.days or s.days[-1] != number:
            s.days.append(number)
            s.hours.append([0] * 24)
        if 0 <= h < 24:
            s.hours[-1][h] += n
            if s.local is not None and zone is not None and 0 <= q < 4:
                _place(s.local, zone, number, h, q, n)
    return s


def series(case: Case) -> list[Series]:
    zone = ZoneInfo(case.zone.name) if case.zone else None
    out = [_series(case, col, label, f"SELECT {col} AS t FROM files WHERE {col} IS NOT NULL", zone=zone)
           for col, label in FILE_SERIES]
    out.append(_series(case, "pictures", "Pictures taken", (
        "SELECT COALESCE(json_extract(data, '$.taken_utc'), camera_utc(json_extract(data, '$.taken_local'))) AS t "
        "FROM records WHERE record_type = ?"), (PICTURES,), zone))
    kinds = [r[0] for r in case.conn.execute(
        "SELECT DISTINCT record_type FROM records WHERE record_type != ? AND timestamp IS NOT NULL ORDER BY 1",
        (PICTURES,))]
    for kind in kinds:
        out.append(_series(case, f"records:{kind}", f"{kind.replace('_', ' ')} records",
                           "SELECT timestamp AS t FROM records WHERE record_type = ?", (kind,), zone))
    return [s for s in out if s.days]


def payload(case: Case) -> dict[str, object]:
    """What the report's chart draws: every series, the first and last day, the device's zone (used for camera
    clocks, and for the hour-of-day and day-of-week views in that zone, each series' ``local`` counts)."""
    all_series = series(case)
    days = [d for s in all_series for d in (s.days[0], s.days[-1])]
    return {
        "series": [s.as_json() for s in all_series],
        "first": day_text(min(days)) if days else None,
        "last": day_text(max(days)) if days else None,
        "zone": {"name": case.zone.name, "source": case.zone.source} if case.zone else None,
    }
