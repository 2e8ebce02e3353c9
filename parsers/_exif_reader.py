"""exifread's reading of an EXIF structure (``exifread.process_file`` without thumbnails), faster where the
photo is in memory: for the EXIF parser (:mod:`parsers.exif`).

exifread reads every number by a seek and a read of the file object and a ``struct.unpack`` with a format it
builds for each call (tens per tag), and formats every tag for a debug log line. Here a subclass of its
``ExifHeader`` reads an IFD entry's tag, type, count and value in one unpack from the bytes in memory, numbers
and texts the same way, and logs nothing per tag; anything that does not lie inside the bytes in memory is
read by exifread's own code. The tags are exactly exifread's (tests/parsers/test_exif_reader.py compares every
tag, or the error, with ``exifread.process_file``'s on the corpus and on damaged copies of it).
"""
from __future__ import annotations

import contextlib
import io
import struct
from collections.abc import Mapping
from math import gcd
from typing import Any, BinaryIO

from exifread.core.exceptions import ExifNotFound, InvalidExif
from exifread.core.exif_header import ExifHeader
from exifread.core.find_exif import determine_type, get_endian_str
from exifread.core.ifd_tag import IfdTag
from exifread.tags import DEFAULT_STOP_TAG, IGNORE_TAGS
from exifread.tags.exif import EXIF_TAGS
from exifread.tags.fields import FIELD_DEFINITIONS, FLOAT_FIELD_TYPES, RATIO_FIELD_TYPES, SIGNED_FIELD_TYPES, FieldType
from exifread.utils import Ratio

# (little-endian, length, signed) -> unpack_from, for ExifHeader.s2n (8-byte lengths are left to exifread,
# which unpacks them with a 4-byte format and so fails as it always has)
_UNPACK = {(little, length, signed): struct.Struct(("<" if little else ">") + fmt).unpack_from
           for (length, signed), fmt in {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
                                         (4, False): "I", (4, True): "i"}.items()
           for little in (True, False)}
_ENTRY = {little: struct.Struct(("<" if little else ">") + "HHII").unpack_from for little in (True, False)}
_FIELD_TYPES = {int(t): t for t in FieldType}
_TYPE_LENGTH = {t: FIELD_DEFINITIONS[t][0] for t in FieldType}
_ASCII, _PROPRIETARY = FieldType.ASCII, FieldType.PROPRIETARY
_NUMBER = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h", (4, False): "I", (4, True): "i"}
_LONG_VALUES = 1000  # exifread reads no values of a field with this many or more (but for two tags it knows)


class _Header(ExifHeader):
    """exifread's EXIF reader, reading from the bytes in memory (``data``) where it can; with ``wanted``, only
    the tags it names (by IFD name; see :func:`exifread_tags`)."""

    def __init__(self, data: bytes, fh: BinaryIO, endian: str, offset: int, fake_exif: int, details: bool,
                 wanted: Mapping[str, frozenset[int]] | None = None) -> None:
        super().__init__(fh, endian, offset, fake_exif, False, False, details, True)
        self._data, self._size = data, len(data)
        self._wanted = wanted
        self.left = False  # a tag exifread would have kept was left out (not wanted)

    def s2n(self, offset: int, length: int, signed: bool = False) -> int:
        unpack = _UNPACK.get((self.endian == "I", length, signed))
        try:
            at = self.offset + offset
            if unpack is not None and at >= 0 and at + length <= self._size:
                value: int = unpack(self._data, at)[0]
                return value
        except TypeError:  # an offset that is no integer (a damaged IFD): exifread's own error, as ever
            pass
        number: int = super().s2n(offset, length, signed)
        return number

    def dump_ifd(self, ifd: int, ifd_name: str, tag_dict: Any = None, relative: int = 0,
                 stop_tag: str = DEFAULT_STOP_TAG) -> None:
        """``ExifHeader.dump_ifd`` (exifread 3.5), each entry read in one unpack where it is in memory."""
        if tag_dict is None:
            tag_dict = EXIF_TAGS
        try:
            entries = self.s2n(ifd, 2)
        except TypeError:
            return  # a damaged IFD: exifread logs it and goes on
        unpack, data, base, size, every = _ENTRY[self.endian == "I"], self._data, self.offset, self._size, self.detailed
        keep = None if self._wanted is None else self._wanted.get(ifd_name, _SUB_IFDS)
        for i in range(entries):
            entry = ifd + 2 + 12 * i
            at = base + entry
            fields = unpack(data, at) if at >= 0 and at + 12 <= size else None
            tag = self.s2n(entry, 2) if fields is None else fields[0]
            if keep is not None and fields is not None and tag not in keep:
                # not wanted: exifread would have kept it (and read its values) if its type is one it reads
                self.left = self.left or (fields[1] in _KINDS and tag not in IGNORE_TAGS)
                continue  # (exifread's stop tag is never a name: nothing to stop at)
            tag_entry = tag_dict.get(tag)
            tag_name = tag_entry[0] if tag_entry else f"Tag 0x{tag:04X}"
            if every or tag not in IGNORE_TAGS:
                if fields is None:
                    self._process_tag(ifd, ifd_name, tag_entry, entry, tag, tag_name, relative, stop_tag)
                else:
                    self._store(ifd, ifd_name, tag_entry, entry, tag_name, relative, stop_tag, fields)
            if tag_name == stop_tag:
                break

    def _process_tag(self, ifd: int, ifd_name: str, tag_entry: Any, entry: int, tag: int, tag_name: str,
                     relative: int, stop_tag: str) -> None:
        """``ExifHeader._process_tag`` (exifread 3.5): the entry read number by number."""
        type_id = self.s2n(entry + 2, 2)
        field_type = _FIELD_TYPES.get(type_id)
        if field_type is None or field_type == FieldType.PROPRIETARY:
            return  # not handled (exifread raises only when strict)
        count = self.s2n(entry + 4, 4)
        value = self.s2n(entry + 8, 4) if count * FIELD_DEFINITIONS[field_type][0] > 4 else 0
        self._store(ifd, ifd_name, tag_entry, entry, tag_name, relative, stop_tag, (tag, type_id, count, value))

    def _store(self, ifd: int, ifd_name: str, tag_entry: Any, entry: int, tag_name: str, relative: int,
               stop_tag: str, fields: tuple[int, int, int, int]) -> None:
        """The rest of ``ExifHeader._process_tag`` (exifread 3.5), without its debug log line: the entry's
        values, and the tag made of them (``fields``: the entry's tag, type, count and value or offset). Values
        in memory are read here in one unpack, and their text made as exifread makes it; others by the
        general methods below."""
        tag, type_id, count, value = fields
        kind = _KINDS.get(type_id)
        if kind is None:
            return  # (proprietary or unknown) not handled: exifread raises only when strict
        field_type, type_length, number = kind
        length = count * type_length
        offset = entry + 8
        if length > 4:  # the value is elsewhere: this is its offset
            offset = value + (ifd - 8 + (18 if self.fake_exif else 0) if relative else 0)
        at = self.offset + offset
        values: Any = None
        printable: str | None = None
        if at < 0 or at + length > self._size or count >= _LONG_VALUES or count == 0 or number is None:
            pass  # (not all in memory, none, too many, or floats: the general methods)
        elif number == "":  # ASCII: up to the first NUL
            raw = self._data[at:at + count].split(b"\x00", 1)[0]
            try:
                values = printable = raw.decode("utf-8")
            except UnicodeDecodeError:  # exifread keeps the bytes (and logs it)
                values = raw
        elif number in "Ii" and type_length == 8:  # ratios: two 4-byte numbers each
            numbers = struct.unpack_from(f"{'<' if self.endian == 'I' else '>'}{2 * count}{number}", self._data, at)
            values = [_ratio(numbers[i], numbers[i + 1]) for i in range(0, 2 * count, 2)]
            if count <= 50:
                texts = [_ratio_text(numbers[i], numbers[i + 1]) for i in range(0, 2 * count, 2)]
                printable = texts[0] if count == 1 else "[" + ", ".join(texts) + "]"
        else:
            values = list(struct.unpack_from(f"{'<' if self.endian == 'I' else '>'}{count}{number}", self._data, at))
            if count == 1:
                printable = str(values[0])
        if values is None:
            values = (self._process_ascii_field(ifd_name, tag_name, count, offset) if field_type is _ASCII
                      else self._process_field(tag_name, count, field_type, type_length, offset))
        if tag_entry and tag_entry[1] is not None:  # a mapping, a lookup table or a sub-IFD: exifread's own way
            printable, prefer = self._get_printable_for_field(count, values, field_type, tag_entry, stop_tag)
        else:  # ``_get_printable_for_field``'s first steps, all it does for such a tag
            prefer = False
            if printable is None:
                printable = self._plain_printable(count, values, field_type)
        self.tags[ifd_name + " " + tag_name] = IfdTag(printable, tag, field_type, values, offset, length, prefer)

    def _plain_printable(self, count: int, values: Any, field_type: FieldType) -> str:
        """``ExifHeader._get_printable_for_field``'s text of the values (exifread 3.5), before any mapping."""
        if count == 1 and field_type is not _ASCII:
            return str(values[0])
        if count > 50 and len(values) > 20 and not isinstance(values, str):
            return str(values[0:20])[0:-1] + ", ... ]" if self.truncate_tags else str(values[0:-1])
        return str(values)

    def _process_field(self, tag_name: str, count: int, field_type: int, type_length: int, offset: int) -> list[Any]:
        """``ExifHeader._process_field`` (exifread 3.5): its numbers read in one unpack where they are all in
        memory (a ratio is two 4-byte numbers, as exifread reads it); floats and long fields by exifread."""
        at = self.offset + offset
        if count >= _LONG_VALUES or field_type in FLOAT_FIELD_TYPES or at < 0 or at + count * type_length > self._size:
            values: list[Any] = super()._process_field(tag_name, count, field_type, type_length, offset)
            return values
        signed = field_type in SIGNED_FIELD_TYPES
        order = "<" if self.endian == "I" else ">"
        if field_type in RATIO_FIELD_TYPES:
            numbers = struct.unpack_from(f"{order}{2 * count}{_NUMBER[4, signed]}", self._data, at)
            return [_ratio(numbers[i], numbers[i + 1]) for i in range(0, 2 * count, 2)]
        return list(struct.unpack_from(f"{order}{count}{_NUMBER[type_length, signed]}", self._data, at))

    def _process_ascii_field(self, ifd_name: str, tag_name: str, count: int, offset: int) -> str | bytes:
        at = self.offset + offset
        if count == 0 or at < 0 or at + count > self._size:
            text: str | bytes = super()._process_ascii_field(ifd_name, tag_name, count, offset)
            return text
        raw = self._data[at:at + count].split(b"\x00", 1)[0]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:  # exifread keeps the bytes (and logs it)
            return raw


def _reduced(numerator: int, denominator: int) -> tuple[int, int]:
    """The two terms as ``fractions.Fraction`` keeps them (reduced, the sign on the numerator), or as read
    for a zero denominator (as exifread keeps them)."""
    if denominator:
        g = gcd(numerator, denominator)
        if denominator < 0:
            g = -g
        numerator //= g
        denominator //= g
    return numerator, denominator


def _ratio(numerator: int, denominator: int) -> Ratio:
    """``Ratio(numerator, denominator)`` for two integers (:func:`_reduced`), without the calls."""
    ratio: Ratio = _new(Ratio)
    ratio._numerator, ratio._denominator = _reduced(numerator, denominator)
    return ratio


def _ratio_text(numerator: int, denominator: int) -> str:
    """``str(_ratio(numerator, denominator))`` (``Fraction.__str__``), also its ``repr`` (exifread's)."""
    numerator, denominator = _reduced(numerator, denominator)
    return str(numerator) if denominator == 1 else f"{numerator}/{denominator}"


_new = object.__new__
# field type number -> (type, length, the unpack letter of one number: "" for ASCII, None for floats, read by
# exifread's own code); proprietary and unknown types are left out (not handled)
_KINDS: dict[int, tuple[FieldType, int, str | None]] = {
    int(t): (t, _TYPE_LENGTH[t], "" if t == FieldType.ASCII else None if t in FLOAT_FIELD_TYPES
             else _NUMBER[min(_TYPE_LENGTH[t], 4), t in SIGNED_FIELD_TYPES])
    for t in FieldType if t != FieldType.PROPRIETARY}

_HEIF = (b"ftypheic", b"ftypavif", b"ftypmif1")  # brands exifread looks for before it looks for a JPEG
_JFIF = (b"JFIF", b"JFXX", b"OLYM", b"Phot")
_JPEG_MARKERS = frozenset({b"\xff\xe0", b"\xff\xe2", b"\xff\xee", b"\xff\xd8", b"\xff\xec"})


def _determine_type(fh: BinaryIO) -> tuple[int, bytes, int]:
    """exifread's ``determine_type``: where the TIFF structure begins, its byte order mark and whether
    the EXIF header was faked; a JPEG's found by :func:`_find_jpeg_exif`, anything else by exifread."""
    data = fh.read(12)
    if data[0:2] == b"\xff\xd8" and data[4:12] not in _HEIF:
        return _find_jpeg_exif(fh, data)
    fh.seek(0)
    found: tuple[int, bytes, int] = determine_type(fh)
    return found


def _find_jpeg_exif(fh: BinaryIO, data: bytes) -> tuple[int, bytes, int]:
    """exifread 3.5's ``find_jpeg_exif`` (the same steps, the same answers and errors), without its debug
    log lines, whose arguments it computes whether or not anything is logged."""
    if len(data) < 4:  # (exifread's first debug line reads data[2] and data[3])
        raise IndexError("index out of range")
    base, fake_exif = 2, 0
    while data[2] == 0xFF and data[6:10] in _JFIF:
        length = data[4] * 256 + data[5]
        fh.read(length - 8)
        data = b"\xff\x00" + fh.read(10)  # a faked EXIF beginning
        fake_exif = 1
        base = base + length + 4 - 2 if base > 2 else length + 4
    fh.seek(0)
    data = fh.read(base + 4000)  # (APP2 or other segments may come before APP1)
    base = _exif_segment_base(base, data)
    fh.seek(base + 12)
    if data[2 + base] == 0xFF and (data[6 + base:10 + base] == b"Exif" or data[6 + base:11 + base] in (b"Ducky",
                                                                                                     b"Adobe")):
        return fh.tell(), fh.read(1), fake_exif
    raise InvalidExif("no EXIF header")


def _exif_segment_base(base: int, data: bytes) -> int:
    """exifread 3.5's ``_get_base``: the JPEG segments walked from ``base`` up to the EXIF APP1 segment (or
    the image data); an IndexError where exifread's own reading of the segment's length raises one."""
    while True:
        marker = data[base:base + 2]
        if marker == b"\xff\xe1" and data[base + 4:base + 8] == b"Exif":
            return base - 2
        if marker == b"\xff\xdb":
            return base
        if marker == b"\xff\xe1" or marker in _JPEG_MARKERS:
            base += data[base + 2] * 256 + data[base + 3] + 2
            continue
        try:
            base += data[base + 2] * 256 + data[base + 3] + 2
        except IndexError as err:
            raise InvalidExif("Unexpected/unhandled segment type or file content.") from err


def exifread_tags(fh: BinaryIO, details: bool) -> dict[str, Any]:
    """``exifread.process_file(fh, details=details, extract_thumbnail=False)``, read from the bytes in memory
    when ``fh`` is an ``io.BytesIO``."""
    tags, _ = _exifread(fh, details, None)
    return tags


def wanted_tags(fh: BinaryIO, wanted: Mapping[str, frozenset[int]]) -> tuple[dict[str, Any], bool]:
    """The tags of ``exifread_tags(fh, details=False)`` that ``wanted`` names (tag numbers by IFD name; in an
    IFD it does not name, only the GPS IFD's pointer, which exifread follows from any IFD), each the same as
    exifread's, and whether exifread would have given any tag at all. The others are neither read nor
    formatted (most of a photo's tags; a thumbnail's IFD, the interoperability IFD)."""
    return _exifread(fh, False, wanted)


_GPS_INFO = next(tag for tag, entry in EXIF_TAGS.items() if entry[0] == "GPSInfo")
_SUB_IFDS = frozenset({_GPS_INFO})  # what is wanted from an IFD ``wanted`` does not name


def _exifread(fh: BinaryIO, details: bool, wanted: Mapping[str, frozenset[int]] | None) -> tuple[dict[str, Any], bool]:
    fh.seek(0)
    try:
        offset, endian, fake_exif = _determine_type(fh)
    except (ExifNotFound, InvalidExif):
        return {}, False
    data = fh.getvalue() if isinstance(fh, io.BytesIO) else b""
    hdr = _Header(data, fh, get_endian_str(endian)[0], offset, fake_exif, details, wanted)
    for index, ifd in enumerate(hdr.list_ifd()):
        hdr.dump_ifd(ifd=ifd, ifd_name=("Image", "Thumbnail")[index] if index < 2 else f"IFD {index}")
    exif_ifd = hdr.tags.get("Image ExifOffset")
    if exif_ifd:
        hdr.dump_ifd(ifd=exif_ifd.values[0], ifd_name="EXIF")
    sub_ifds = hdr.tags.get("Image SubIFDs")
    if details and sub_ifds:
        for index, ifd in enumerate(sub_ifds.values):
            hdr.dump_ifd(ifd=ifd, ifd_name=f"EXIF SubIFD{index}")
    if details and "EXIF MakerNote" in hdr.tags and "Image Make" in hdr.tags:
        with contextlib.suppress(ValueError):  # as exifread: a maker note it cannot decode is left out
            hdr.decode_maker_note()
    tags: dict[str, Any] = hdr.tags
    return tags, bool(tags) or hdr.left
