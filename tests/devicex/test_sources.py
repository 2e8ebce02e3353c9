"""Opening sources: raw, split raw, EWF; and the one-line errors for bad input."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devicex.errors import SourceError
from devicex.sources import open_source
from tests.conftest import CORPUS, needs_corpus


def test_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        open_source(tmp_path / "absent.dd")
    empty = tmp_path / "empty.E01"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match=r"empty file \(0 bytes\)"):
        open_source(empty)
    assert open_source(tmp_path).container == "folder"  # a folder is a source of its own


def test_named_e01_without_signature(tmp_path: Path) -> None:
    fake = tmp_path / "fake.E01"
    fake.write_bytes(b"not an ewf file at all")
    with pytest.raises(SourceError) as info:
        open_source(fake)
    assert str(info.value).startswith(str(fake)) and "\n" not in str(info.value)


def test_split_raw_joins_segments_and_reports_a_gap(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    for i, chunk in enumerate((data[:4000], data[4000:8000], data[8000:]), start=1):
        (tmp_path / f"disk.{i:03d}").write_bytes(chunk)
    src = open_source(tmp_path / "disk.001")
    assert src.container == "split-raw" and src.size == len(data)
    assert src.read(3990, 20) == data[3990:4010]  # across a segment boundary
    assert src.read(len(data) - 5, 100) == data[-5:]
    src.close()
    (tmp_path / "disk.002").unlink()
    with pytest.raises(SourceError, match=r"segment missing: disk\.002"):
        open_source(tmp_path / "disk.001")


@needs_corpus
def test_ewf_media_and_stored_hashes() -> None:
    src = open_source(CORPUS / "sleuthkit" / "imageformat_mmls_1.E01")
    truth = (CORPUS / "sleuthkit" / "truth" / "imageformat_mmls_1.E01.ewfinfo.txt").read_text()
    assert src.container == "ewf"
    assert src.stored_hashes["md5"] in truth and src.stored_hashes["sha1"] in truth
    media = (CORPUS / "sleuthkit" / "truth" / "imageformat_mmls_1.E01.media-hashes.tsv").read_text()
    assert str(src.size) in media
    src.close()


@needs_corpus
def test_split_ewf_opens_all_segments(tmp_path: Path) -> None:
    src = open_source(CORPUS / "dfvfs" / "ext2.split.E01")
    assert [p.name for p in src.segments] == ["ext2.split.E01", "ext2.split.E02"]
    src.close()
    # Missing second segment: a clear one-line error, not a crash.
    shutil.copy(CORPUS / "dfvfs" / "ext2.split.E01", tmp_path / "ext2.split.E01")
    try:
        src = open_source(tmp_path / "ext2.split.E01")
    except SourceError as exc:
        assert "\n" not in str(exc)
    else:  # libewf may open it and fail on reads past the first segment instead
        with pytest.raises(OSError):
            src.read(src.size - 512, 512)
        src.close()
