""""Recovered" means recovered: content TSK guessed for a deleted entry is marked as a guess.

Truth: DFTT #6's answer sheet (../shared/corpus/dftt/upstream-expected/6-undel-fat/index.html: the right MD5s
and the "incorrect MD5" a tool gets when it copies consecutive clusters), and TSK fls's ``(realloc)`` marks
on go-ext4's hierarchy_64.ext4 (../shared/corpus/go-ext4/truth)."""
from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from pipelines.extract import ExtractOptions, run
from reports.csv_tables import FILE_FIELDS
from tests.conftest import CORPUS, decode, needs_corpus

pytestmark = needs_corpus

SHEET = CORPUS / "dftt" / "upstream-expected" / "6-undel-fat" / "index.html"


def _sheet() -> tuple[dict[str, str], dict[str, str]]:
    """(right MD5 by path, known-wrong MD5 by path) from the answer sheet's two tables."""
    text = re.sub(r"<[^>]+>", " ", SHEET.read_text(encoding="latin-1"))
    right_part, wrong_part = text.split("Incorrect MD5", 1)
    right = {p.replace("\\", "/"): md5 for p, md5 in
             re.findall(r"(\\[\w\\]+\.dat)\s+\d+\s+([0-9a-f]{32})", right_part)}
    wrong = {p.replace("\\", "/"): md5 for p, md5 in re.findall(r"(\\[\w\\]+\.dat)\s+([0-9a-f]{32})", wrong_part)}
    return right, wrong


def _extract(image: Path, out: Path) -> sqlite3.Connection:
    summary = run(ExtractOptions(source=image, out=out, workers=1, full_reason="test"))
    assert summary.files > 0
    conn = sqlite3.connect(out / "data" / "case.db")
    conn.row_factory = sqlite3.Row
    return conn


@pytest.fixture(scope="module")
def dftt6(tmp_path_factory: pytest.TempPathFactory) -> tuple[sqlite3.Connection, int]:
    root = tmp_path_factory.mktemp("dftt6")
    image = decode(CORPUS / "dftt" / "6-undel-fat.zip", "6-fat-undel.dd", root)
    summary = run(ExtractOptions(source=image, out=root / "out", workers=1, full_reason="test"))
    conn = sqlite3.connect(root / "out" / "data" / "case.db")
    conn.row_factory = sqlite3.Row
    return conn, summary.guessed


def _by_name(conn: sqlite3.Connection) -> dict[str, sqlite3.Row]:
    rows = conn.execute("SELECT * FROM files WHERE kind = 'file' AND alloc != 'allocated' AND path NOT LIKE "
                        "'/System Volume Information/%'").fetchall()
    return {r["name"][1:].lower(): r for r in rows}  # a deleted FAT name has lost its first character


def test_dftt6_fragmented_deleted_files_are_guesses_not_recovered(dftt6: tuple[sqlite3.Connection, int]) -> None:
    conn, guessed = dftt6
    right, wrong = _sheet()
    assert set(wrong) == {"/frag1.dat", "/frag2.dat", "/frag3.dat"} and len(right) == 6
    rows = _by_name(conn)
    for path, bad_md5 in wrong.items():
        row = rows[path.rsplit("/", 1)[1][1:]]
        assert row["md5"] == bad_md5  # TSK's content is the known-wrong one ...
        assert row["status"] == "guessed" and row["recovered"] == 0  # ... and is not presented as recovered
        assert row["content_guess"] == "no-cluster-chain"
    single = rows["ing.dat"]  # one cluster: its start cluster is all there is, no chain to guess
    assert single["md5"] == right["/sing.dat"]
    assert (single["status"], single["recovered"], single["content_guess"]) == ("ok", 1, None)
    with closing(conn.cursor()) as cur:
        count = cur.execute("SELECT COUNT(*) FROM files WHERE status = 'guessed'").fetchone()[0]
        assert count == guessed >= 3
        assert cur.execute("SELECT COUNT(*) FROM files WHERE recovered = 1 AND content_guess IS NOT NULL"
                           ).fetchone()[0] == 0


def test_dftt6_guess_is_shown_in_csv_and_report_counts(dftt6: tuple[sqlite3.Connection, int]) -> None:
    from reports.model import Case

    assert "content_guess" in FILE_FIELDS and "status" in FILE_FIELDS
    conn, guessed = dftt6
    path = conn.execute("PRAGMA database_list").fetchone()["file"]
    case = Case(Path(path).parent.parent)
    try:
        counts = case.counts()
    finally:
        case.close()
    assert counts["guessed"] == guessed and counts["by_status"]["guessed"] == guessed


def test_reallocated_inodes_are_not_recovered(tmp_path: Path) -> None:
    fls = (CORPUS / "go-ext4" / "truth" / "hierarchy_64.ext4.fls.txt").read_text(encoding="utf-8")
    realloc = {"/" + m for m in re.findall(r"^r/r \* \d+\(realloc\):\t([^\t]+)\t", fls, re.MULTILINE)}
    assert realloc
    conn = _extract(CORPUS / "go-ext4" / "hierarchy_64.ext4", tmp_path / "out")
    rows = {r["path"]: r for r in conn.execute("SELECT * FROM files WHERE realloc = 1")}
    assert set(rows) == realloc
    for row in rows.values():
        assert row["recovered"] == 0 and row["content_guess"] == "reallocated"
        assert row["status"] in ("guessed", "partial", "unreadable")
