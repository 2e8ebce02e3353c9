"""The EXIF parser's reader (exifread reading from the bytes in memory) gives exactly what
``exifread.process_file`` gives: the same tags with the same values, or the same error, on every photo of the
corpus, on the parser's synthetic Nikon photos, and on damaged copies of them all (bytes changed, cut short)."""
from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import exifread
import pytest

from parsers import _exif_reader as exif_reader
from parsers import exif
from tests.conftest import needs_corpus
from tests.parsers.test_exif import EXIF_DIR, _nikon_jpeg, _type3_note


def _photos() -> list[Path]:
    if not EXIF_DIR.is_dir():
        return []
    return sorted(p for p in EXIF_DIR.iterdir() if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg", ".tiff"))


def _tags(tags: dict[str, Any]) -> dict[str, tuple[object, ...]]:
    return {key: (type(tag).__name__, tag.printable, tag.tag, tag.field_type, repr(tag.values), tag.field_offset,
                  tag.field_length, tag.prefer_printable) if hasattr(tag, "printable") else (repr(tag),)
            for key, tag in tags.items()}


def _outcome(read: Any) -> object:
    try:
        return _tags(read())
    except Exception as exc:  # noqa: BLE001 - the error itself is what is compared
        return f"{type(exc).__name__}: {exc}"


def _same(data: bytes, on_file: bool = False) -> None:
    for details in (False, True):
        expected = _outcome(lambda: exifread.process_file(io.BytesIO(data), details=details,  # noqa: B023
                                                          extract_thumbnail=False))
        assert _outcome(lambda: exif_reader.exifread_tags(io.BytesIO(data), details)) == expected  # noqa: B023
        if on_file:  # a file object that is not in memory is read by exifread's own means: the same result
            assert _outcome(lambda: exif_reader.exifread_tags(io.BufferedReader(io.BytesIO(data)), details)) == expected  # noqa: B023


def _damaged(data: bytes, seed: int) -> list[bytes]:
    """Copies of ``data`` with bytes of its EXIF changed, and cut short at several places."""
    rng = random.Random(seed)
    span = min(len(data), 4096)
    copies = []
    for _ in range(12):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(2, span)] = rng.randrange(256)
        copies.append(bytes(damaged))
    copies += [data[:cut] for cut in sorted({rng.randrange(12, span) for _ in range(4)})]
    copies += [data[:cut] for cut in range(0, 40, 3)]  # cut inside the first segments' headers
    return copies


_NIKON = [_nikon_jpeg(outer, _type3_note(inner, b"6754846")) for outer in ("II", "MM") for inner in ("II", "MM")]


@needs_corpus
@pytest.mark.parametrize("photo", _photos(), ids=lambda p: p.name)
def test_the_same_tags_as_exifread_on_the_corpus(photo: Path) -> None:
    data = photo.read_bytes()
    _same(data, on_file=True)
    for damaged in _damaged(data, seed=len(data)):
        _same(damaged)


@pytest.mark.parametrize("index", range(len(_NIKON)))
def test_the_same_tags_as_exifread_on_nikon_notes(index: int) -> None:
    data = _NIKON[index]
    _same(data, on_file=True)
    _same(data[10:])  # not a JPEG: no EXIF found
    for damaged in _damaged(data, seed=index):
        _same(damaged)


def test_the_reader_finds_what_exifread_finds() -> None:
    """(The comparison above can fail: a photo's tags are found and compared.)"""
    tags = exif_reader.exifread_tags(io.BytesIO(_NIKON[0]), details=False)
    assert tags["Image Make"].printable == "NIKON CORPORATION"
    assert tags["EXIF DateTimeOriginal"].printable == "2017:06:05 07:08:42"


def _same_wanted(data: bytes) -> None:
    """What the EXIF parser reads (only the tags its record is made of) is exifread's, tag for tag: the same
    values, the same error, and whether exifread found any tag at all."""
    expected = _outcome(lambda: exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=False))
    try:
        tags, found = exif_reader.wanted_tags(io.BytesIO(data), exif._WANTED)
    except Exception as exc:  # noqa: BLE001 - the error itself is what is compared
        assert f"{type(exc).__name__}: {exc}" == expected
        return
    assert isinstance(expected, dict)
    assert {k: v for k, v in _tags(tags).items() if k in exif._KEYS} == {
        k: v for k, v in expected.items() if k in exif._KEYS}
    assert found == bool(expected)


@needs_corpus
@pytest.mark.parametrize("photo", _photos(), ids=lambda p: p.name)
def test_the_wanted_tags_are_exifreads_on_the_corpus(photo: Path) -> None:
    data = photo.read_bytes()
    _same_wanted(data)
    for damaged in _damaged(data, seed=len(data)):
        _same_wanted(damaged)


def test_the_wanted_tags_are_exifreads_on_nikon_notes() -> None:
    for data in _NIKON:
        _same_wanted(data)
        for damaged in _damaged(data, seed=len(data)):
            _same_wanted(damaged)
