"""devicex against third-party truth on the shared corpus (TSK fls/icat and file(1) output
written by ../shared/corpus/make-truth.sh, never by devicex), through the same comparisons
``devicex validate`` records (pipelines/validate/compare.py).

For every file system in the corpus that devicex reads, every name fls lists must be listed
(deleted marked as deleted), every stream icat read must have the same MD5 and SHA-256, the
MIME type must equal file(1)'s on the whole content, and every time must equal fls's or be
a truth-tool fault shown by the raw directory entry.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from devicex.sources import open_source
from pipelines.extract import ExtractOptions, run
from pipelines.validate import compare, unsupported
from pipelines.validate.record import Tally
from pipelines.validate.requirements import BUILT_IN
from pipelines.validate.truth import FsTruth, load_dataset
from tests.conftest import CORPUS, needs_corpus

pytestmark = needs_corpus

DATASET = load_dataset(CORPUS) if CORPUS.is_dir() else None
# Formats devicex does not read (an APFS pool, a DMG) and that have truth: each gives a one-line reason
# instead of an extraction; every other corpus image with truth must be read.
NOT_READ = {"dfvfs/apfs.raw", "dfvfs/hfsplus_zlib.dmg"}
CASES: list[FsTruth] = [fs for fs in DATASET.filesystems
                        if f"{fs.media.stored.parent.name}/{fs.media.stored.name}" not in NOT_READ] if DATASET else []


def _tallies() -> dict[str, Tally]:
    return {r.id: Tally(r) for r in BUILT_IN}


@pytest.fixture(scope="module")
def extractions(tmp_path_factory: pytest.TempPathFactory, decoded_dir: Path) -> dict[Path, Path]:
    """One real extraction per decoded image, shared by that image's file systems."""
    done: dict[Path, Path] = {}
    for case in CASES:
        media = case.media.path(decoded_dir)
        if media in done:
            continue
        out = tmp_path_factory.mktemp("x")
        summary = run(ExtractOptions(source=media, out=out, export=False))
        assert summary.fatal is None or summary.files, summary.fatal
        done[media] = out / "data" / "case.db"
    return done


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_listing_hashes_types_and_times_match_the_truth(case: FsTruth, extractions: dict[Path, Path],
                                                        decoded_dir: Path) -> None:
    media = case.media.path(decoded_dir)
    conn = sqlite3.connect(extractions[media])
    rows = compare.fs_rows(conn, case)
    assert rows, f"devicex found no file system at offset {case.offset} ({case.as_type})"
    t = _tallies()
    src = open_source(media)
    try:
        compare.listing(case, rows, t["entries-listed"], t["deleted-found"])
        compare.content_hashes(case, rows, t["content-hashes"])
        compare.typing(case, rows, t["typing"])
        compare.times(case, rows, t["times"], src.img)
    finally:
        src.close()
    assert t["entries-listed"].compared > 0
    for tally in t.values():
        assert not tally.disagreements, (tally.requirement.id, len(tally.disagreements), tally.disagreements[:5])
    for fault in t["times"].truth_faults:  # a truth-tool fault is only claimed with the raw bytes shown
        assert fault.reasons and "directory entry at image byte" in fault.evidence or "MFT record" in fault.evidence


def test_only_the_formats_devicex_does_not_read_are_left_out(decoded_dir: Path) -> None:
    assert DATASET is not None
    unread = {f"{m.stored.parent.name}/{m.stored.name}": unsupported(m.path(decoded_dir)) for m in DATASET.media
              if not m.later_segment}
    assert {k for k, why in unread.items() if why} == NOT_READ, unread
    for name in NOT_READ:
        assert "not read" in str(unread[name]) or "does not read" in str(unread[name]), unread[name]


def test_every_readable_corpus_filesystem_is_covered() -> None:
    # A guard against the case list silently shrinking: SUMMARY.tsv counts file systems TSK opened.
    assert len(CASES) >= 60, len(CASES)
