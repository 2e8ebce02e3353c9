"""Counting what a record-level scope would take from one database, for ``--dry-run``:
the parsers run on the database (read through a private scratch copy outside the output
folder, removed at once) and each record is judged; only counts come out."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import parsers
from devicex.entries import ContentReader, Entry
from devicex.errors import Damage, NotMyFormat, one_line
from devicex.filetype import HEAD_SIZE
from devicex.parsing import ParserContext, Sibling
from devicex.sources.base import View
from pipelines.readerio import open_reader
from pipelines.record_scope import RecordScope, attachment_paths


@dataclass
class RecordCounts:
    taken: dict[str, int] = field(default_factory=dict)  # record type -> records a run would take
    left: dict[str, int] = field(default_factory=dict)   # "type: reason" -> records it would leave
    problems: list[str] = field(default_factory=list)    # "path (parser): why", databases a parser could not read
    # (volume, path) of what an extraction takes after its walk: the taken messages' attachments, and the other
    # databases the parsers read beside a message store (pipelines.attachments)
    attachments: set[tuple[str, str]] = field(default_factory=set)
    databases: set[tuple[str, str]] = field(default_factory=set)

    def add(self, other: RecordCounts) -> None:
        for mine, theirs in ((self.taken, other.taken), (self.left, other.left)):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n
        self.problems.extend(other.problems)
        self.attachments |= other.attachments
        self.databases |= other.databases


Finder = Callable[[str], Sibling | None]  # a database's sibling by path (a -wal, an attachment, wa.db)


def view_finder(view: View) -> Finder:
    """Siblings opened by path from a view that can (a disk image's file system, a folder, a zip)."""
    opener = getattr(view, "open_path", None)

    def sibling(path: str) -> Sibling | None:
        found = opener(path) if opener is not None else None
        if found is None:
            return None
        sib_reader, size = found
        return Sibling(path, size, lambda: open_reader(sib_reader, size))
    return sibling


def count(records: RecordScope, entry: Entry, reader: ContentReader, sibling: Finder, region: str) -> RecordCounts:
    """What ``records`` would take from the database ``entry`` (its own stream, and siblings by path)."""
    out = RecordCounts()
    head = open_reader(reader, entry.size).read(HEAD_SIZE)
    wanted = [s for s in parsers.for_type("", entry.extension, entry.path) if records.wants(s)]
    for spec in wanted:
        scratch = Path(tempfile.mkdtemp(prefix="devicex-dry-records-"))
        ctx = ParserContext(lambda: open_reader(reader, entry.size), head, "", entry.size, path=entry.path,
                            region=region, siblings=sibling, scratch=scratch)
        try:
            for record in spec.parse(entry, ctx):
                reason = records.judge(record)
                bucket, key = (out.taken, record.record_type) if reason is None else (out.left, reason)
                bucket[key] = bucket.get(key, 0) + 1
                if reason is None:
                    out.attachments.update((entry.volume, p) for p in attachment_paths(record))
        except NotMyFormat:
            continue
        except Damage as exc:
            out.problems.append(f"{entry.path} ({spec.name}): {one_line(exc)}")
        except Exception as exc:  # noqa: BLE001 - listed as a problem of this database; the dry run goes on
            out.problems.append(f"{entry.path} ({spec.name}): {type(exc).__name__}: {one_line(exc)}")
        finally:
            out.databases.update((entry.volume, p) for p in ctx.databases)  # as an extraction records them
            shutil.rmtree(scratch, ignore_errors=True)
    return out
