"""EXIF from JPEG, TIFF and HEIC via exifread: camera, serial, time taken
(with its UTC offset when recorded) and GPS position in decimal degrees.

The serial is EXIF BodySerialNumber, else a Nikon maker note's SerialNumber. A Nikon
"type 3" maker note (``Nikon\0\x02..`` then a TIFF header) is a TIFF structure of its
own, with its own byte order and offsets from its own header; exifread 3.5 reads it in
the byte order of the enclosing EXIF, so when the two differ (a little-endian EXIF with
a big-endian note, as on the Nikon D3100) every maker-note value it gives is wrong.
The note is therefore handed back to exifread as the TIFF it is.

EXIF DateTimeOriginal is the camera's local clock. It becomes an aware UTC
time only when OffsetTimeOriginal is recorded; otherwise ``taken_utc`` is
``None`` and the local text is kept as ``taken_local``. GPS date+time stamps
are UTC by definition and give ``gps_time_utc``.
"""
from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, BinaryIO, ClassVar

from exifread.tags.exif import EXIF_TAGS
from exifread.tags.makernote import nikon
from exifread.utils import Ratio

from devicex.entries import Entry
from devicex.errors import Damage, NotMyFormat
from devicex.parsing import ParserContext
from devicex.records import Provenance, Record
from devicex.timeutil import clock_to_utc
from parsers._exif_reader import exifread_tags as _exifread
from parsers._exif_reader import wanted_tags

NAME = "exif"
VERSION = "1.1"
MIME_TYPES = frozenset({"image/jpeg", "image/tiff", "image/heic", "image/heif", "image/x-canon-cr2",
                        "image/x-nikon-nef", "image/webp"})
EXTENSIONS: frozenset[str] = frozenset()

_OFFSET_RE = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
_NIKON_SERIAL = next(tag for tag, entry in nikon.TAGS_NEW.items() if entry[0] == "SerialNumber")
_NIKON_TYPE3 = b"Nikon\x00\x02"  # then the version's 2nd byte, 2 zero bytes and a TIFF header (10 bytes in)
# every tag the record is made of (exifread's "IFD name" keys, as read below): the only ones read from a photo
_KEYS = ("Image Make", "Image Model", "Image Software", "Image Orientation", "Image ExifOffset", "Image GPSInfo",
         "EXIF DateTimeOriginal", "EXIF OffsetTimeOriginal", "EXIF OffsetTime", "EXIF BodySerialNumber",
         "EXIF ExifImageWidth", "EXIF ExifImageLength", "EXIF GPSInfo", "GPS GPSLatitude", "GPS GPSLatitudeRef",
         "GPS GPSLongitude", "GPS GPSLongitudeRef", "GPS GPSAltitude", "GPS GPSAltitudeRef", "GPS GPSTimeStamp",
         "GPS GPSDate")
_GPS_TAGS: dict[int, Any] = next(entry[1][1] for entry in EXIF_TAGS.values()  # type: ignore[index]
                                 if entry[0] == "GPSInfo")
_WANTED = {ifd: frozenset(number for number, entry in (_GPS_TAGS if ifd == "GPS" else EXIF_TAGS).items()
                          if f"{ifd} {entry[0]}" in _KEYS)
           for ifd in dict.fromkeys(key.split(" ", 1)[0] for key in _KEYS)}
_EXIFREAD_ERRORS = (ValueError, KeyError, IndexError, TypeError, ZeroDivisionError, EOFError, struct.error)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExifRecord(Record):
    make: str | None
    model: str | None
    serial: str | None
    software: str | None
    orientation: int | None
    taken_local: str | None
    taken_offset: str | None
    taken_utc: datetime | None
    gps_time_utc: datetime | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    width: int | None
    height: int | None

    record_type: ClassVar[str] = "exif"
    timestamp_fields: ClassVar[tuple[str, ...]] = ("taken_utc", "gps_time_utc")


def _text(tags: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        tag = tags.get(key)
        if tag is None:
            continue
        value = str(tag.printable if hasattr(tag, "printable") else tag).strip().strip("\x00").strip()
        if value:
            return value
    return None


def _int(tags: dict[str, Any], key: str) -> int | None:
    tag = tags.get(key)
    if tag is None or not getattr(tag, "values", None):
        return None
    value = tag.values[0]
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ratio(value: Any) -> float:
    num: Any
    den: Any
    if type(value) is Ratio:  # exifread's: its numbers read as they are, not through its num/den properties
        num, den = value.numerator, value.denominator
    else:
        num = getattr(value, "num", None)
        den = getattr(value, "den", None)
    if num is not None and den is not None:
        if den == 0:
            raise ZeroDivisionError("zero denominator")
        return num / den
    return float(value)


def _degrees(tags: dict[str, Any], key: str, ref_key: str, negative: str) -> float | None:
    tag = tags.get(key)
    if tag is None or not getattr(tag, "values", None) or len(tag.values) < 3:
        return None
    values = tag.values
    d, m, s = _ratio(values[0]), _ratio(values[1]), _ratio(values[2])
    value = d + m / 60.0 + s / 3600.0
    ref = _text(tags, ref_key)
    if ref and ref.upper().startswith(negative):
        value = -value
    return round(value, 10)


def _altitude(tags: dict[str, Any]) -> float | None:
    tag = tags.get("GPS GPSAltitude")
    if tag is None or not getattr(tag, "values", None):
        return None
    value = _ratio(tag.values[0])
    ref = tags.get("GPS GPSAltitudeRef")
    if ref is not None and getattr(ref, "values", None) and ref.values[0] == 1:
        value = -value
    return round(value, 6)


def taken_utc(local: str | None, offset: str | None, assumed: tzinfo | None = None) -> datetime | None:
    """DateTimeOriginal as aware UTC, using the recorded offset, else ``assumed``
    (a fixed offset, or a zone whose rules for that date apply, summer time
    included; ``None``: unknown zone gives ``None``)."""
    m = _OFFSET_RE.match(offset or "")
    if m:
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        tz: tzinfo | None = timezone(delta if m.group(1) == "+" else -delta)
    else:
        tz = assumed
    return clock_to_utc(local, tz) if tz is not None else None


def taken_fields(data: bytes) -> tuple[str | None, str | None]:
    """(DateTimeOriginal, OffsetTimeOriginal) as recorded, from a JPEG/TIFF head;
    (None, None) when there is no readable EXIF."""
    try:
        tags, _ = _read_tags(io.BytesIO(data))
    except Damage:
        return None, None
    return _text(tags, "EXIF DateTimeOriginal"), _text(tags, "EXIF OffsetTimeOriginal", "EXIF OffsetTime")


def _gps_time(tags: dict[str, Any]) -> datetime | None:
    date = _text(tags, "GPS GPSDate")
    stamp = tags.get("GPS GPSTimeStamp")
    if not date or stamp is None or len(getattr(stamp, "values", ())) < 3:
        return None
    try:
        h, m, s = (_ratio(v) for v in stamp.values[:3])
        day = datetime.strptime(date[:10], "%Y:%m:%d").replace(tzinfo=UTC)
        return day + timedelta(hours=h, minutes=m, seconds=s)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


def _exif_segment(fh: BinaryIO) -> bytes | None:
    """The TIFF blob of a JPEG's ``Exif`` APP1 segment, wherever it sits among
    the APPn segments (exifread gives up when an XMP APP1 comes first)."""
    fh.seek(0)
    if fh.read(2) != b"\xff\xd8":
        return None
    while True:
        marker = fh.read(4)
        if len(marker) < 4 or marker[0] != 0xFF or marker[1] in (0xDA, 0xD9):
            return None
        length = int.from_bytes(marker[2:4], "big")
        body = fh.read(max(0, length - 2))
        if marker[1] == 0xE1 and body.startswith(b"Exif\x00\x00"):
            return body[6:]


def _tags(fh: BinaryIO, details: bool) -> tuple[dict[str, Any], bool]:
    """exifread's tags: all of them with maker notes decoded (``details``), else those of :data:`_KEYS`; and
    whether exifread found any tag at all."""
    if details:
        tags = _exifread(fh, details)
        return tags, bool(tags)
    return wanted_tags(fh, _WANTED)


def _process(fh: BinaryIO, details: bool) -> tuple[dict[str, Any], bool]:
    """:func:`_tags` from wherever the EXIF segment is."""
    tags, found = _tags(fh, details)
    if not found:
        blob = _exif_segment(fh)
        if blob:
            tags, found = _tags(io.BytesIO(blob), details)
    return tags, found


def _read_tags(fh: BinaryIO) -> tuple[dict[str, Any], bool]:
    """The tags of :data:`_KEYS`, and whether the photo has any EXIF tag."""
    try:
        return _process(fh, details=False)
    except _EXIFREAD_ERRORS as exc:
        raise Damage(f"EXIF unreadable: {type(exc).__name__}: {exc}") from None


def _note_bytes(note: Any) -> bytes | None:
    values = getattr(note, "values", None)
    if not isinstance(values, list) or not all(isinstance(v, int) and 0 <= v < 256 for v in values):
        return None
    return bytes(values)


def _nikon_serial(fh: BinaryIO) -> str | None:
    """SerialNumber of a Nikon maker note (``Damage`` if exifread cannot read it)."""
    try:
        full, _ = _process(fh, details=True)
        note = _note_bytes(full.get("EXIF MakerNote"))
        if note is None or not note.startswith(_NIKON_TYPE3):
            return _text(full, "MakerNote SerialNumber")  # types 1 and 2 use the EXIF's byte order and offsets
        inner = _exifread(io.BytesIO(note[10:]), details=False)
    except _EXIFREAD_ERRORS as exc:
        raise Damage(f"Nikon maker note unreadable: {type(exc).__name__}: {exc}") from None
    found = next((tag for key, tag in inner.items()
                  if key.startswith("Image ") and getattr(tag, "tag", None) == _NIKON_SERIAL), None)
    return None if found is None else _text({"serial": found}, "serial")


def _serial(fh: BinaryIO, tags: dict[str, Any], ctx: ParserContext) -> str | None:
    serial = _text(tags, "EXIF BodySerialNumber")
    if serial is not None or "NIKON" not in (_text(tags, "Image Make") or "").upper():
        return serial
    try:
        return _nikon_serial(fh)
    except Damage as exc:
        ctx.warn(str(exc))
        return None


def parse(entry: Entry, ctx: ParserContext) -> Iterator[ExifRecord]:
    with ctx.open() as fh:
        tags, found = _read_tags(fh)
        serial = _serial(fh, tags, ctx) if tags else None
    if not found:
        raise NotMyFormat("no EXIF data")
    local = _text(tags, "EXIF DateTimeOriginal")
    offset = _text(tags, "EXIF OffsetTimeOriginal", "EXIF OffsetTime")
    try:
        lat = _degrees(tags, "GPS GPSLatitude", "GPS GPSLatitudeRef", "S")
        lon = _degrees(tags, "GPS GPSLongitude", "GPS GPSLongitudeRef", "W")
        alt = _altitude(tags)
    except (ZeroDivisionError, TypeError, ValueError) as exc:
        ctx.warn(f"GPS values unreadable: {exc}")
        lat = lon = alt = None
    in_range = lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180
    if (lat is None) != (lon is None) or (lat is not None and not in_range):
        ctx.warn(f"GPS position incomplete or out of range: {lat}, {lon}")
        lat = lon = None
    yield ExifRecord(
        provenance=Provenance.from_entry(entry),
        make=_text(tags, "Image Make"),
        model=_text(tags, "Image Model"),
        serial=serial,
        software=_text(tags, "Image Software"),
        orientation=_int(tags, "Image Orientation"),
        taken_local=local,
        taken_offset=offset,
        taken_utc=taken_utc(local, offset),
        gps_time_utc=_gps_time(tags),
        latitude=lat,
        longitude=lon,
        altitude=alt,
        width=_int(tags, "EXIF ExifImageWidth"),
        height=_int(tags, "EXIF ExifImageLength"),
    )
