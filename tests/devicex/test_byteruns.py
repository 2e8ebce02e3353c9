"""The one read's plan of a stream (devicex.sources.byteruns.plan_runs), made from the attribute the walk paired
with it in one pass over its runs: its media runs give exactly the bytes TSK reads for the stream, and its DFXML
byte runs are those the stream's reader lists when it finds its attribute itself; NTFS records read by chunks
are the records read one by one."""
from __future__ import annotations

from pathlib import Path

import pytest

from devicex.sources import open_source
from devicex.sources.byteruns import _MftRecords
from devicex.sources.tskcontent import TskContent
from tests.conftest import FIXTURES

IMAGES = FIXTURES / "images"


def _media(path: Path, runs: list[tuple[int, int]]) -> bytes:
    with path.open("rb") as f:
        out = b""
        for start, length in runs:
            f.seek(start)
            out += f.read(length)
        return out


@pytest.mark.parametrize("name", ["ntfs.img", "ext4.img", "fat16.img", "gpt.img"])
def test_plan_gives_the_stream_bytes_and_its_dfxml_runs(name: str) -> None:
    src = open_source(IMAGES / name)
    planned = 0
    try:
        for view in src.layout().filesystems:
            for entry, reader in view.entries(src.label):
                if entry is None or not isinstance(reader, TskContent) or not entry.has_content:
                    continue
                plan = view.plan_runs(entry, reader, src.size)
                if plan is None:
                    continue
                runs, dfxml = plan
                assert sum(length for _, length in runs) == entry.size
                assert _media(IMAGES / name, runs) == reader.read(0, entry.size), entry.full_path
                alone = TskContent(reader.file, entry.attr_type, entry.attr_id)  # finds its attribute itself
                assert dfxml == alone.byte_runs(entry.fs_offset, entry.size), entry.full_path
                planned += 1
    finally:
        src.close()
    assert planned >= 5


def test_mft_records_read_by_chunks_are_the_records_read_alone() -> None:
    src = open_source(IMAGES / "ntfs.img")
    try:
        view = next(v for v in src.layout().filesystems if v.fs_type == "ntfs")
        records = _MftRecords.of(view)
        records.KEEP = 1  # (this image's records would all be kept)
        count = int(records.file.info.meta.size) // records.size
        assert count > records.chunk  # several chunks, the last one short
        for inode in (*range(count), *range(count - 1, -1, -7)):  # forwards, then back over evicted chunks
            assert records.raw(inode) == records._alone(inode), inode
        with pytest.raises(OSError):
            records.raw(count + records.chunk)
    finally:
        src.close()


def test_the_mft_records_kept_for_the_walk_go_once_it_is_done() -> None:
    src = open_source(IMAGES / "ntfs.img")
    try:
        view = next(v for v in src.layout().filesystems if v.fs_type == "ntfs")
        kept = []
        for entry, reader in view.entries(src.label):
            if entry is not None and entry.has_content and entry.size > 0:
                view.plan_runs(entry, reader, src.size)
                kept.append(_MftRecords._KEY in view.__dict__)
        assert kept and all(kept)
        assert _MftRecords._KEY not in view.__dict__
    finally:
        src.close()


def test_ntfs_initialised_sizes_are_those_istat_gives() -> None:
    """The initialised size read from each file's MFT record is the ``init_size`` TSK's istat prints for its
    non-resident $DATA attributes."""
    import re
    import subprocess

    from devicex.sources.byteruns import _ntfs_initsize

    image = IMAGES / "ntfs.img"
    src = open_source(image)
    compared = 0
    try:
        view = next(v for v in src.layout().filesystems if v.fs_type == "ntfs")
        inodes = sorted({e.inode for e, _ in view.entries(src.label) if e is not None and e.inode is not None})
        for inode in inodes:
            shown = subprocess.run(["istat", "-o", str(view.offset // 512), str(image), str(inode)],
                                   capture_output=True, text=True, check=False).stdout  # (a record it cannot read)
            for attr_id, init in re.findall(r"Type: \$DATA \(128-(\d+)\).*Non-Resident.*init_size: (\d+)", shown):
                assert _ntfs_initsize(view, inode, int(attr_id)) == int(init), (inode, attr_id)
                compared += 1
    finally:
        src.close()
    assert compared >= 3
