"""Running a communications parser on fixture databases the way the pipeline does:
an entry at a device path, its siblings (``-wal``, attachment folders) by path."""
from __future__ import annotations

import csv
import posixpath
from pathlib import Path
from typing import Any

from devicex.entries import Entry
from devicex.parsing import ParserContext
from devicex.records import Record

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "comms"
PLASO = FIXTURES / "plaso"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def entry(path: str, size: int = 0) -> Entry:
    name = posixpath.basename(path)
    return Entry("phone.img", "p1", 0, "ext4", 12, None, None, None, path, name, name.encode(), "file", size,
                 "allocated", False, None, None, None, None, None)


def run(parse: Any, db: Path, device_path: str, extra: dict[str, Path] | None = None,
        region: str = "GB") -> tuple[list[Record], list[str]]:
    """All records ``parse`` yields for ``db`` placed at ``device_path``, and its warnings.
    Files beside ``db`` are its siblings; ``extra`` adds more (device path -> file)."""
    ctx = ParserContext.from_files(db, extra, entry_path=device_path, region=region)
    records = list(parse(entry(device_path, db.stat().st_size), ctx))
    return records, ctx.warnings


def truth(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def of_kind(records: list[Record], kind: str) -> list[Any]:
    return [r for r in records if r.record_type == kind]
