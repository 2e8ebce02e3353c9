"""Upstream answer sheets as truth: the DFTT test images' author-written file MD5s.

Each DFTT test (``<corpus>/dftt/upstream-expected/<n>-<name>/index.html``, Brian Carrier)
lists the files a tool should find with their MD5s; DFTT #6 also lists the "incorrect"
MD5s a tool gets when it reads a deleted fragmented FAT file's clusters as if they were
contiguous. devicex's MD5 equal to such an incorrect value is a stated known limitation
(FAT deleted-file content is a guess), never a pass. Files inside archives (DFTT #8's
``file8.jpg`` in ``file8.zip``) are not file-system entries and are not compared.
"""
from __future__ import annotations

import html
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pipelines.validate.record import Finding, Tally

MD5 = re.compile(r"[0-9a-f]{32}")
ORPHANS = "$OrphanFiles"


@dataclass(frozen=True)
class Answer:
    path: str  # '/'-separated, from the sheet's '\'-separated path
    stream: str
    md5: str
    note: str


@dataclass(frozen=True)
class Sheet:
    name: str
    answers: tuple[Answer, ...]
    incorrect: dict[str, str]  # file name -> the MD5 a contiguous-cluster guess gives
    in_archives: int


def _cells(row: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL | re.IGNORECASE)]


def _path(text: str) -> tuple[str, str]:
    text = re.sub(r"\s+-\s+MFT Entry #\d+$", "", text)
    name, _, stream = text.partition(":")
    return "/" + name.strip("\\").replace("\\", "/"), stream


def read_sheet(path: Path) -> Sheet:
    """The file MD5s of one answer sheet (index.html)."""
    answers: list[Answer] = []
    incorrect: dict[str, str] = {}
    in_archives = 0
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", path.read_text(encoding="latin-1"), re.DOTALL | re.IGNORECASE):
        cells = _cells(row)
        at = next((i for i, c in enumerate(cells) if MD5.fullmatch(c)), None)
        if at is None or at == 0:
            continue
        name = next(c for c in reversed(cells[:at]) if not c.isdigit())
        if len(cells) == 2:  # the "Incorrect MD5" table: name, MD5
            incorrect[_path(name)[0].rsplit("/", 1)[-1]] = cells[at]
        elif "\\" not in name:
            in_archives += 1  # a member of the archive listed on the row above
        else:
            file_path, stream = _path(name)
            answers.append(Answer(file_path, stream, cells[at], cells[at + 1] if at + 1 < len(cells) else ""))
    return Sheet(path.parent.name, tuple(answers), incorrect, in_archives)


def sheet_for(stored: Path) -> Sheet | None:
    """The answer sheet of a stored DFTT test (``dftt/<n>-<name>.zip``), if the corpus has one."""
    sheets = stored.parent / "upstream-expected"
    number = re.match(r"\d+", stored.name)
    if number is None or not sheets.is_dir():
        return None
    for folder in sorted(sheets.iterdir()):
        if re.match(rf"{number.group()}-", folder.name) and (folder / "index.html").exists():
            sheet = read_sheet(folder / "index.html")
            return sheet if sheet.answers else None
    return None


def _matches(sheet_path: str, ours: str) -> bool:
    """Equal paths, where a deleted FAT name's first character (0xE5 on disk, '_' from TSK) is unknown."""
    a, b = sheet_path.split("/"), ours.split("/")
    return len(a) == len(b) and all(x == y or (y.startswith("_") and x[1:] == y[1:]) for x, y in zip(a, b, strict=True))


def _find(conn: sqlite3.Connection, answer: Answer) -> list[sqlite3.Row]:
    conn.row_factory = sqlite3.Row
    name = answer.path.rsplit("/", 1)[-1]
    rows = conn.execute("SELECT path, stream, alloc, md5, content_guess FROM files WHERE (path LIKE ? OR path LIKE ?)"
                        " AND COALESCE(stream, '') = ? ORDER BY id",
                        ("%/" + name, "%/_" + name[1:], answer.stream)).fetchall()
    exact = [r for r in rows if _matches(answer.path, r["path"])]
    # a name whose directory entry was reallocated is found by TSK only among the orphans
    return exact or [r for r in rows if r["path"] == f"/{ORPHANS}/{name}"]


def compare(label: str, sheet: Sheet, conn: sqlite3.Connection, tally: Tally) -> None:
    """devicex's MD5 of each file the sheet lists against the sheet's MD5."""
    for answer in sheet.answers:
        item = answer.path + (f":{answer.stream}" if answer.stream else "")
        rows = _find(conn, answer)
        if not rows:
            tally.disagree(Finding(label, item, "not listed", answer.md5, f"answer sheet {sheet.name}"))
            continue
        row = rows[0]
        where = f"{row['path']}{':' + row['stream'] if row['stream'] else ''} ({row['alloc']})"
        if row["md5"] == answer.md5:
            tally.agree(label)
        elif sheet.incorrect.get(answer.path.rsplit("/", 1)[-1]) == row["md5"]:
            guess = f"devicex marks the content guessed ({row['content_guess']}); " if row["content_guess"] else ""
            tally.limited(Finding(label, item, f"{row['md5']} {where}", answer.md5,
                                  f"{guess}the guess disagrees with the answer sheet: it equals the sheet's "
                                  "'incorrect MD5' of a tool reading the clusters as contiguous "
                                  "(known limitation: FAT deleted-file content is a guess)"))
        else:
            tally.disagree(Finding(label, item, f"{row['md5']} {where}", answer.md5, f"answer sheet {sheet.name}"))
