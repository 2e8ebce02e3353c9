"""The EXIF parser against exiftool's truth (written by exiftool -j -n, never
by devicex) for the exif-py photos in the corpus and devicex's own fixtures."""
from __future__ import annotations

import json
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
