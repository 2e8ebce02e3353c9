"""The EXIF parser against exiftool's truth (written by exiftool -j -n, never
by devicex) for the exif-py photos in the corpus and devicex's own fixtures."""
from __future__ import annotations

import json
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devicex.entries import Entry
from devicex.errors import NotMyFormat
from devicex.parsing import ParserContext
from parsers import exif, registry
from tests.conftest import CORPUS, needs_corpus

EXIF_DIR = CORPUS / "exif-py"


def _entry(name: str) -> Entry:
    return Entry(source="test", volume="whole", fs_offset=0, fs_type="ext4", inode=12, attr_type=None,
                 attr_id=None, stream=None, path=f"/{name}", name=name, name_raw=name.encode(), kind="file",
                 size=0, alloc="allocated", realloc=False, meta_seq=None, mtime=None, atime=None, ctime=None,
                 crtime=None)


def _parse(path: Path) -> list[exif.ExifRecord]:
    data = path.read_bytes()
    return list(exif.parse(_entry(path.name), ParserContext.from_bytes(data, "image/jpeg")))


def _photos() -> list[Path]:
    if not EXIF_DIR.is_dir():
        return []
    return sorted(p for p in EXIF_DIR.iterdir() if p.suffix.lower() in (".jpg", ".tiff"))


def _truth(photo: Path) -> dict:
    """exiftool -j -n -G1 -a: group-qualified keys, so EXIF is told from XMP."""
    return json.loads((photo.parent / "truth" / f"{photo.name}.exiftool-G1.json").read_text(encoding="utf-8"))[0]


@needs_corpus
@pytest.mark.parametrize("photo", _photos(), ids=lambda p: p.name)
def test_matches_exiftool(photo: Path) -> None:
    truth = _truth(photo)
    if not any(k.split(":")[0] in ("IFD0", "ExifIFD", "GPS") for k in truth):
        with pytest.raises(NotMyFormat):  # no EXIF (XMP-only or none)
            _parse(photo)
        return
    (rec,) = _parse(photo)

    def text(key: str) -> str | None:
        value = truth.get(key)
        return str(value).strip() or None if value is not None else None

    assert rec.make == text("IFD0:Make")
    assert rec.model == text("IFD0:Model")
    assert rec.serial == (text("ExifIFD:SerialNumber") or text("Nikon:SerialNumber"))
    assert rec.taken_local == text("ExifIFD:DateTimeOriginal")
    for ours, key in ((rec.latitude, "Composite:GPSLatitude"), (rec.longitude, "Composite:GPSLongitude"),
                      (rec.altitude, "Composite:GPSAltitude")):
        if key in truth:
            assert ours == pytest.approx(float(truth[key]), abs=1e-6), key
        else:
            assert ours is None, key
    assert rec.provenance.path == f"/{photo.name}"
    for value in (rec.taken_utc, rec.gps_time_utc):
        assert value is None or value.tzinfo is not None


@needs_corpus
def test_gps_time_is_utc() -> None:
    (rec,) = _parse(EXIF_DIR / "DSCN0010.jpg")
    truth = _truth(EXIF_DIR / "DSCN0010.jpg")["Composite:GPSDateTime"]  # "2008:10:23 14:27:07.24Z"
    expected = datetime.strptime(truth, "%Y:%m:%d %H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert rec.gps_time_utc == expected
    assert rec.taken_utc is None  # no OffsetTimeOriginal: local time only, zone unknown


def test_registered_automatically() -> None:
    names = [spec.name for spec in registry()]
    assert "exif" in names
    spec = next(s for s in registry() if s.name == "exif")
    assert spec.wants("image/jpeg", "txt")
    assert not spec.wants("text/plain", "txt")


def test_not_a_jpeg_is_not_my_format() -> None:
    with pytest.raises(NotMyFormat):
        list(exif.parse(_entry("x.jpg"), ParserContext.from_bytes(b"plain text, not an image")))


@needs_corpus
def test_nikon_serial_in_a_big_endian_note_of_a_little_endian_exif() -> None:
    """The D3100 photo: exifread alone reads its maker note in the wrong byte order."""
    (rec,) = _parse(EXIF_DIR / "nikon_D3100_TypeError.jpg")
    assert rec.serial == str(_truth(EXIF_DIR / "nikon_D3100_TypeError.jpg")["Nikon:SerialNumber"]) == "6754846"


def _ifd(end: str, entries: list[tuple[int, int, bytes]], at: int) -> bytes:
    """A TIFF IFD at offset ``at`` of its TIFF header: (tag, type, value) entries (type 2 ASCII,
    4 LONG, 7 UNDEFINED; count = bytes, LONG 1), values over 4 bytes placed after it."""
    head, data = b"", b""
    data_at = at + 2 + 12 * len(entries) + 4
    for tag, typ, value in entries:
        count = 1 if typ == 4 else len(value)
        if len(value) <= 4:
            head += struct.pack(end + "HHI", tag, typ, count) + value.ljust(4, b"\0")
        else:
            head += struct.pack(end + "HHII", tag, typ, count, data_at + len(data))
            data += value + b"\0" * (len(value) % 2)
    return struct.pack(end + "H", len(entries)) + head + b"\0\0\0\0" + data


def _nikon_jpeg(outer: str, note: bytes) -> bytes:
    """A JPEG whose EXIF (byte order ``outer``: "II"/"MM") holds Make NIKON and the maker note ``note``."""
    end = "<" if outer == "II" else ">"
    make, model, taken = b"NIKON CORPORATION\0", b"NIKON D3100\0", b"2017:06:05 07:08:42\0"
    exif_at = 8 + 2 + 12 * 3 + 4 + len(make) + len(model)
    ifd0 = _ifd(end, [(0x010F, 2, make), (0x0110, 2, model), (0x8769, 4, struct.pack(end + "I", exif_at))], 8)
    tiff = outer.encode() + struct.pack(end + "HI", 42, 8) + ifd0
    tiff += _ifd(end, [(0x9003, 2, taken), (0x927C, 7, note)], exif_at)
    app1 = b"Exif\0\0" + tiff
    return b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + b"\xff\xd9"


def _type3_note(inner: str, serial: bytes) -> bytes:
    """A Nikon type 3 maker note: label, version 0210, then a TIFF of byte order ``inner``."""
    end = "<" if inner == "II" else ">"
    ifd = _ifd(end, [(0x0001, 7, b"0210"), (0x001D, 2, serial + b"\0")], 8)
    return b"Nikon\0\x02\x10\0\0" + inner.encode() + struct.pack(end + "HI", 42, 8) + ifd


def _exiftool(path: Path) -> dict:
    out = subprocess.run(["exiftool", "-j", "-n", "-G1", str(path)], capture_output=True, check=True, text=True)
    return json.loads(out.stdout)[0]


@pytest.mark.parametrize("outer,inner", [("II", "MM"), ("MM", "II"), ("II", "II"), ("MM", "MM")])
def test_nikon_type3_serial_in_either_byte_order(tmp_path: Path, outer: str, inner: str) -> None:
    photo = tmp_path / "nikon.jpg"
    photo.write_bytes(_nikon_jpeg(outer, _type3_note(inner, b"6754846")))
    truth = _exiftool(photo)
    (rec,) = _parse(photo)
    assert rec.serial == str(truth["Nikon:SerialNumber"]) == "6754846"
    assert rec.taken_local == truth["ExifIFD:DateTimeOriginal"]


def test_damaged_nikon_note_leaves_the_rest() -> None:
    note = b"Nikon\0\x02\x10\0\0MM\0*\xff\xff\xff\xf0"  # IFD offset past the end of the note
    data = _nikon_jpeg("II", note)
    ctx = ParserContext.from_bytes(data, "image/jpeg")
    (rec,) = exif.parse(_entry("nikon.jpg"), ctx)
    assert rec.serial is None
    assert rec.make == "NIKON CORPORATION" and rec.taken_local == "2017:06:05 07:08:42"
