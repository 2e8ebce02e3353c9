"""Activity over time, counted when the report is written (never in the browser):
per series, the events of each UTC day and hour.

Series: files modified and created (file-system times), pictures taken (EXIF
times with a recorded offset, or camera clock times converted with the
device's zone), then every other record kind in the case database by its
primary time, so new record kinds appear without a change here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

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

    @property
    def total(self) -> int:
        return sum(sum(h) for h in self.hours)

    def as_json(self) -> dict[str, object]:
        return {"key": self.key, "label": self.label, "total": self.total, "days": self.days, "hours": self.hours}


def day_number(text: str) -> int:
    return date.fromisoformat(text[:10]).toordinal() - EPOCH_DAY


def day_text(number: int) -> str:
    return date.fromordinal(number + EPOCH_DAY).isoformat()


def _series(case: Case, key: str, label: str, times_sql: str, params: tuple[object, ...] = ()) -> Series:
    s = Series(key, label)
    sql = (f"SELECT substr(t, 1, 10) AS d, CAST(substr(t, 12, 2) AS INTEGER) AS h, count(*) FROM ({times_sql}) "
           f"WHERE {_VALID} GROUP BY d, h ORDER BY d, h")
    for d, h, n in case.conn.execute(sql, params):
        try:
            number = day_number(d)
        except ValueError:
            continue
        if not s.days or s.days[-1] != number:
            s.days.append(number)
            s.hours.append([0] * 24)
        if 0 <= h < 24:
            s.hours[-1][h] += n
    return s


def series(case: Case) -> list[Series]:
    out = [_series(case, col, label, f"SELECT {col} AS t FROM files WHERE {col} IS NOT NULL")
           for col, label in FILE_SERIES]
    out.append(_series(case, "pictures", "Pictures taken", (
        "SELECT COALESCE(json_extract(data, '$.taken_utc'), camera_utc(json_extract(data, '$.taken_local'))) AS t "
        "FROM records WHERE record_type = ?"), (PICTURES,)))
    kinds = [r[0] for r in case.conn.execute(
        "SELECT DISTINCT record_type FROM records WHERE record_type != ? AND timestamp IS NOT NULL ORDER BY 1",
        (PICTURES,))]
    for kind in kinds:
        out.append(_series(case, f"records:{kind}", f"{kind.replace('_', ' ')} records",
                           "SELECT timestamp AS t FROM records WHERE record_type = ?", (kind,)))
    return [s for s in out if s.days]


def payload(case: Case) -> dict[str, object]:
    """What the report's chart draws: every series, the first and last day, the zone used for camera clocks."""
    all_series = series(case)
    days = [d for s in all_series for d in (s.days[0], s.days[-1])]
    return {
        "series": [s.as_json() for s in all_series],
        "first": day_text(min(days)) if days else None,
        "last": day_text(max(days)) if days else None,
        "zone": {"name": case.zone.name, "source": case.zone.source} if case.zone else None,
    }
