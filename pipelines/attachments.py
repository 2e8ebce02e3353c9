"""Attachments of the messages a communications selection took: exported after the
walk, because an attachment may lie anywhere in the file systems (before or after
its database in walk order). Only the entries whose paths the taken messages name
are read; everything else the scope left stays left (and ``[exclude] paths`` win).
Other databases the parsers read beside a message store (WhatsApp's ``wa.db`` for
names) are taken the same way, records-only: hashed and recorded, not exported.

The same second walk (:func:`left_wanted`) serves ``--dry-run``, which counts what it would take."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import cast

from devicex.entries import ContentReader, Entry
from devicex.exportpath import ExportNamer
from devicex.sources.base import View
from pipelines.content import Content
from pipelines.process import Result
from pipelines.select import Decision, Selector
from pipelines.store import ResultWriter

REASON = "attachment of a taken message"
TAKE = Decision(True, REASON)
DATABASE = Decision(True, "database read beside a message store: recorded, not exported", records_only=True)

Process = Callable[[Entry, "ContentReader | None", str | None, Decision], Result]


def wanted(writer: ResultWriter) -> dict[tuple[str, str], Decision]:
    """What the second walk takes: (volume, path) -> how (attachments first)."""
    return plan(writer.databases, writer.attachments)


def plan(databases: Iterable[tuple[str, str]], attachments: Iterable[tuple[str, str]]
         ) -> dict[tuple[str, str], Decision]:
    """(volume, path) -> how the second walk takes it: an attachment exported, a database records-only (an
    entry both wins as an attachment)."""
    return {key: DATABASE for key in databases} | {key: TAKE for key in attachments}


def left_wanted(views: Iterable[tuple[int, View]], source_label: str, wanted: dict[tuple[str, str], Decision],
                selector: Selector, namer: ExportNamer | None = None
                ) -> Iterator[tuple[int, Entry, ContentReader | None, Decision, str]]:
    """Walk again; each ``wanted`` entry the first walk left: its file system's row id, the entry, its reader,
    the decision that left it, and (with ``namer``) its export name. Export names are assigned to every entry in
    the same order as the first walk, so they are the names it would have given. The walk stops once every
    wanted entry was seen."""
    remaining = set(wanted)
    for fs_id, view in views:
        for entry, item in view.entries(source_label):
            if not remaining:
                return
            if entry is None:
                continue
            reader = cast("ContentReader | None", item)  # with an entry, the walk gives its reader
            if entry.kind in ("dir", "virtual-dir"):
                if namer is not None:
                    namer.assign_dir(entry.volume, entry.path)
                continue
            if not entry.has_content:
                continue
            export_rel = "files/" + namer.assign_file(entry.volume, entry.path, entry.stream) if namer else ""
            key = (entry.volume, entry.path)
            if key not in remaining or entry.stream:
                continue
            remaining.discard(key)
            left = _left_by(selector, entry, reader)
            if left is not None:  # else taken already, or never to be taken
                yield fs_id, entry, reader, left, export_rel


def take(views: Iterable[tuple[int, View]], source_label: str, wanted: dict[tuple[str, str], Decision],
         selector: Selector, writer: ResultWriter, process: Process) -> int:
    """Walk again and take the ``wanted`` (volume, path) entries the first walk left; returns how many
    attachments it exported.

    ``views`` pairs each file system's ``filesystems`` row id with its view."""
    taken = 0
    for fs_id, entry, reader, left, export_rel in left_wanted(views, source_label, wanted, selector, ExportNamer()):
        writer.fs_id = fs_id
        writer.untake(left.reason, entry.size)
        how = wanted[(entry.volume, entry.path)]
        writer.write(process(entry, reader, None if how.records_only else export_rel, how))
        taken += how is TAKE
    return taken


def _left_by(selector: Selector, entry: Entry, reader: ContentReader | None) -> Decision | None:
    """The decision that left the entry in the first walk, or None if it was taken or must never be."""
    decision = selector.decide(entry)
    if decision is None:
        decision = selector.decide_content(entry, Content(entry, reader, 0))
    if decision.include or decision.reason.startswith("excluded path"):
        return None
    return decision
