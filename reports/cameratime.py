"""Camera clock times and the device's time zone.

EXIF ``DateTimeOriginal`` is the camera's clock with no zone unless an offset
was recorded. Given the device's time zone (from the examiner, or found on the
device), such a time becomes UTC with that zone's rules for that date (summer
time included); without one it stays off the UTC timeline.

Where the zone is found on the device (read from the case database and the
exported copies, never the image):

* Android: ``persist.sys.timezone`` in ``/data/property/persistent_properties``
  (protobuf records of name and value), the older one-file-per-property
  ``/data/property/persist.sys.timezone``, or a ``build.prop`` / ``default.prop``;
* iOS: the ``/private/var/db/timezone/localtime`` symbolic link, whose target
  ends in ``zoneinfo/<zone>``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devicex.timeutil import clock_text, clock_to_utc, iso


class CaseFiles(Protocol):
    """What the search needs of a case (``reports.model.Case``): its file rows and exported copies."""

    def files(self, where: str = "", params: tuple[Any, ...] = ()) -> Iterator[dict[str, Any]]: ...

    def exported(self, export_path: str | None) -> Path | None: ...

PROPERTY = "persist.sys.timezone"
MAX_PROP_BYTES = 4 << 20
_PROTO_VALUE = re.compile(re.escape(PROPERTY.encode()) + rb"\x12([\x01-\x7f])")
_ZONE_TEXT = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")
# (SQL condition on files, how the value is read), most specific first.
_ANDROID = (
    ("path LIKE '%/property/persistent_properties'", "protobuf"),
    ("path LIKE '%/property/persist.sys.timezone'", "whole"),
    ("name IN ('build.prop', 'default.prop', 'prop.default')", "prop"),
)


class ZoneError(ValueError):
    """Not a time zone name this machine's zone database knows."""


@dataclass(frozen=True)
class DeviceZone:
    name: str      # IANA name, e.g. Europe/London
    source: str    # who or what gave it, for the reader and the custody log

    @property
    def info(self) -> ZoneInfo:
        return ZoneInfo(self.name)


def check_zone(name: str) -> str:
    """``name`` if it is a known IANA zone, else :class:`ZoneError` with a one-line reason."""
    text = name.strip()
    if not _ZONE_TEXT.match(text):
        raise ZoneError(f"{name!r} is not a time zone name (use an IANA name such as Europe/London)")
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ZoneError(f"unknown time zone {name!r} (use an IANA name such as Europe/London)") from None
    return text


def converted(local: str | None, zone: DeviceZone | None) -> tuple[str, str] | None:
    """(UTC ISO text, the zone's UTC offset then, e.g. ``+01:00``) of a camera clock time, or None."""
    if zone is None:
        return None
    utc = clock_to_utc(local, zone.info)
    if utc is None:
        return None
    offset = utc.astimezone(zone.info).strftime("%z")
    return str(iso(utc)), f"{offset[:3]}:{offset[3:]}"


def taken_text(data: dict[str, Any], zone: DeviceZone | None) -> str | None:
    """How a picture's time taken reads in the report."""
    local = data.get("taken_local")
    clock = clock_text(local if isinstance(local, str) else None)
    if data.get("taken_utc"):
        offset = f" {data['taken_offset']}" if data.get("taken_offset") else ""
        return f"{str(data['taken_utc']).replace('T', ' ').rstrip('Z')} UTC (camera clock {clock}{offset})"
    conv = converted(local if isinstance(local, str) else None, zone)
    if conv and zone:
        return f"{conv[0].replace('T', ' ').rstrip('Z')} UTC (camera clock {clock}, {zone.name} {conv[1]})"
    if clock:
        return f"{clock} camera clock, time zone unknown"
    return None


def _prop_value(text: str) -> str | None:
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == PROPERTY and value.strip():
            return value.strip()
    return None


def _read_value(raw: bytes, how: str) -> str | None:
    if how == "protobuf":
        m = _PROTO_VALUE.search(raw)
        if not m:
            return None
        start = m.end()
        return raw[start:start + m.group(1)[0]].decode("utf-8", "replace")
    text = raw.decode("utf-8", "replace")
    return text.strip() or None if how == "whole" else _prop_value(text)


def _valid(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return check_zone(name)
    except ZoneError:
        return None


def found_on_device(case: CaseFiles) -> DeviceZone | None:
    """The device's own time zone setting, if the case holds one."""
    for where, how in _ANDROID:
        for f in case.files(f"{where} AND export_path IS NOT NULL AND size <= {MAX_PROP_BYTES}"):
            copy = case.exported(f["export_path"])
            value = _valid(_read_value(copy.read_bytes(), how)) if copy else None
            if value:
                return DeviceZone(value, f"found on the device: {PROPERTY} in {f['volume']}{f['path']}")
    for f in case.files("path LIKE '%/db/timezone/localtime' AND link_target LIKE '%zoneinfo/%'"):
        value = _valid(str(f["link_target"]).split("zoneinfo/", 1)[1])
        if value:
            return DeviceZone(value, f"found on the device: the link {f['volume']}{f['path']} -> {f['link_target']}")
    return None
