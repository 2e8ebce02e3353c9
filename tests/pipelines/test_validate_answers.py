"""Upstream answer sheets (DFTT) as truth: the sheets' MD5s read, devicex's MD5s of DFTT #6 and #7
compared with them, the fragmented deleted FAT files' guessed content counted as the stated known
limitation (not agreed), and a wrong sheet value reported as a disagreement."""
from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from pipelines.validate import Validation, answers
from pipelines.validate.record import FAIL, PASS, Tally
from pipelines.validate.requirements import BUILT_IN
from tests.conftest import CORPUS, decode, needs_corpus

pytestmark = needs_corpus
DFTT = CORPUS / "dftt"
REQUIREMENT = next(r for r in BUILT_IN if r.id == "answer-sheets")


def _casedb(tmp: Path, stored: str, member: str) -> sqlite3.Connection:
    v = Validation(tmp, lambda _: [], lambda _: None)
    out, _ = v.extract(decode(DFTT / stored, member, tmp), full_reason="test", export=False)
    return sqlite3.connect(out / "data" / "case.db")


def test_the_sheets_give_file_md5s_and_the_incorrect_guesses() -> None:
    six = answers.sheet_for(DFTT / "6-undel-fat.zip")
    assert six is not None and [a.path for a in six.answers] == [
        "/sing.dat", "/mult1.dat", "/frag1.dat", "/frag2.dat", "/dir1/mult2.dat", "/dir1/dir2/frag3.dat"]
    assert six.incorrect["frag3.dat"] == "a7a14ac62f79fdea4056ed5e8bcf97ef"
    eight = answers.sheet_for(DFTT / "8-jpeg-search.zip")
    assert eight is not None and len(eight.answers) == 13 and eight.in_archives == 3
    assert any(a.path == "/misc/file13.dll" and a.stream == "here" for a in eight.answers)
    assert answers.sheet_for(DFTT / "5-fat-daylight.zip") is None  # no file MD5s on that sheet


def test_fragmented_deleted_fat_files_are_a_known_limitation(tmp_path: Path) -> None:
    conn = _casedb(tmp_path, "6-undel-fat.zip", "6-fat-undel.dd")
    sheet = answers.sheet_for(DFTT / "6-undel-fat.zip")
    assert sheet is not None
    tally = Tally(REQUIREMENT)
    answers.compare("dftt #6", sheet, conn, tally)
    assert (tally.compared, tally.agreed, len(tally.disagreements)) == (6, 3, 0) and tally.status == PASS
    assert sorted(f.item for f in tally.known_limits) == ["/dir1/dir2/frag3.dat", "/frag1.dat", "/frag2.dat"]
    assert all("guessed" in f.note and "disagrees with the answer sheet" in f.note for f in tally.known_limits)
    doctored = dataclasses.replace(sheet, answers=tuple(
        dataclasses.replace(a, md5="0" * 32) if a.path == "/sing.dat" else a for a in sheet.answers))
    wrong = Tally(REQUIREMENT)
    answers.compare("dftt #6", doctored, conn, wrong)
    assert wrong.status == FAIL and [f.item for f in wrong.disagreements] == ["/sing.dat"]


def test_ntfs_deleted_files_and_streams_agree(tmp_path: Path) -> None:
    conn = _casedb(tmp_path, "7-undel-ntfs.zip", "7-ntfs-undel.dd")
    sheet = answers.sheet_for(DFTT / "7-undel-ntfs.zip")
    assert sheet is not None
    tally = Tally(REQUIREMENT)
    answers.compare("dftt #7", sheet, conn, tally)
    assert (tally.compared, tally.agreed, tally.status) == (9, 9, PASS), tally.disagreements


@pytest.mark.parametrize("stored", ["1-extend-part.zip", "14-iso9660-1.zip"])
def test_sheets_without_file_md5s_give_no_answers(stored: str) -> None:
    assert answers.sheet_for(DFTT / stored) is None
