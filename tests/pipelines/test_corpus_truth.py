"""devicex against third-party truth on the shared corpus (TSK fls/icat
output written by ../shared/corpus/make-truth.sh, never by devicex).

For every file system in the corpus that a raw/split/E01 reader can reach,
devicex must list every name fls lists (deleted marked as deleted) and give
the same MD5 and SHA-256 that icat gives for every regular file and stream.
"""
from __future__ import annotations

import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.extract import ExtractOptions, run
from tests.conftest import CORPUS, decode, needs_corpus

pytestmark = needs_corpus

# Containers devicex does not open (qcow, VHD, VMDK, DMG) and the APFS pool
# (pytsk3 has no pool API): they are covered by the negative tests instead.
UNSUPPORTED = re.compile(r"\.(qcow2?|vhd|vmdk|dmg)$|^apfs\.raw$")
_TRUTH_RE = re.compile(r"^(?P<prefix>.+?)(?:\.o(?P<offset>\d+))?(?:\.as-(?P<as>\w+))?\.files\.tsv$")
_FLS_RE = re.compile(r"^(?P<type>\S+) (?P<del>\* )?(?P<addr>[\d-]+)(?P<realloc>\(realloc\))?:\t(?P<path>[^\t]*)\t")
_FS_FAMILY = {"ext": "ext", "ntfs": "ntfs", "ufs": "ffs"}


@dataclass(frozen=True)
class Case:
    stored: Path
    member: str | None
    offset_sectors: int | None
    as_type: str | None
    truth_prefix: Path

    @property
    def id(self) -> str:
        parts = [self.stored.parent.name, self.stored.name]
        if self.member:
            parts.append(self.member)
        if self.offset_sectors is not None:
            parts.append(f"o{self.offset_sectors}")
        if self.as_type:
            parts.append(self.as_type)
        return ":".join(parts)


def _cases() -> list[Case]:
    cases: list[Case] = []
    if not CORPUS.is_dir():
        return cases
    for source_dir in sorted(p for p in CORPUS.iterdir() if (p / "truth").is_dir()):
        stored_files = sorted((p for p in source_dir.iterdir() if p.is_file() and p.name != "LICENSE"),
                              key=lambda p: -len(p.name))
        for truth in sorted((source_dir / "truth").glob("*.files.tsv")):
            m = _TRUTH_RE.match(truth.name)
            assert m, truth
            prefix = m.group("prefix")
            stored = next((s for s in stored_files if prefix == s.name or prefix.startswith(s.name + "--")), None)
            if stored is None or UNSUPPORTED.search(stored.name):
                continue
            member = prefix[len(stored.name) + 2:] if prefix != stored.name else None
            offset = int(m.group("offset")) if m.group("offset") else None
            base = truth.name[: -len(".files.tsv")]
            cases.append(Case(stored, member, offset, m.group("as"), truth.parent / base))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def extractions(tmp_path_factory: pytest.TempPathFactory, decoded_dir: Path) -> dict[str, Path]:
    """One real extraction per decoded image, shared by that image's cases."""
    done: dict[str, Path] = {}
    for case in CASES:
        media = decode(case.stored, case.member, decoded_dir)
        key = str(media)
        if key in done:
            continue
        out = tmp_path_factory.mktemp("x")
        summary = run(ExtractOptions(source=media, out=out, export=False))
        assert summary.fatal is None or summary.files, summary.fatal
        done[key] = out / "data" / "case.db"
    return done


def _read_tsv(path: Path) -> list[dict[str, str]]:
    rows = []
    header: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#md5"):
            header = line[1:].split("\t")
            continue
        if line.startswith("#") or not line:
            continue
        assert header is not None
        rows.append(dict(zip(header, line.split("\t"))))
    return rows


def _our_rows(db: Path, case: Case) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    sql = ("SELECT f.*, fs.fs_type AS fst, fs.offset AS fso FROM files f JOIN filesystems fs ON fs.id = f.fs_id "
           "WHERE fs.offset = ?")
    rows = conn.execute(sql, ((case.offset_sectors or 0) * 512,)).fetchall()
    if case.as_type:
        family = _FS_FAMILY[case.as_type]
        rows = [r for r in rows if r["fst"].startswith(family)]
    return rows


def _key(path: str, stream: str | None) -> str:
    # fls prints control characters in names as '^'; compare in its notation.
    text = path + (f":{stream}" if stream else "")
    return "".join("^" if ord(ch) < 0x20 else ch for ch in text)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hashes_and_listing_match_tsk(case: Case, extractions: dict[str, Path], decoded_dir: Path) -> None:
    db = extractions[str(decode(case.stored, case.member, decoded_dir))]
    rows = _our_rows(db, case)
    assert rows, f"devicex found no file system at offset {case.offset_sectors} ({case.as_type})"
    ours = Counter((_key(r["path"], r["stream"]), r["md5"], r["sha256"]) for r in rows if r["md5"])
    expected = Counter()
    for name in ("files.tsv", "deleted.tsv"):
        path = case.truth_prefix.with_name(case.truth_prefix.name + "." + name)
        if path.exists():
            for t in _read_tsv(path):
                expected[("/" + t["path"], t["md5"], t["sha256"])] += 1
    missing = expected - ours
    assert not missing, f"{len(missing)} hashes differ from icat, e.g. {sorted(missing)[:5]}"

    fls = case.truth_prefix.with_name(case.truth_prefix.name + ".fls.txt")
    listed = Counter()
    for line in fls.read_text(encoding="utf-8").splitlines():
        m = _FLS_RE.match(line)
        assert m, line
        listed[("/" + m.group("path"), bool(m.group("del")))] += 1
    ours_listed = Counter((_key(r["path"], r["stream"]), r["alloc"] != "allocated") for r in rows)
    not_found = listed - ours_listed
    assert not not_found, f"{sum(not_found.values())} fls entries missing, e.g. {sorted(not_found)[:5]}"


def test_every_readable_corpus_filesystem_is_covered() -> None:
    # A guard against the case list silently shrinking: SUMMARY.tsv counts file systems TSK opened.
    assert len(CASES) >= 60, len(CASES)
