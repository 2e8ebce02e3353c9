"""Record-level scope: which communications records a scope's communications
selections take, decided on each record as the parser yields it, before it is
written anywhere (see :mod:`devicex.scope.comms` for the format).

A record is taken when ANY communications selection takes it; a record no
selection takes is only counted, under ``"<record type>: <reason>"``. The
reasons, in the order they are checked: kind not selected, app not selected,
participant not selected (or, in a group chat, the ``group_chats`` rule), no
time recorded, outside date windows, identity could not be resolved (a
WhatsApp ``@lid`` identity with no mapping to a number, when nothing else
decided).
"""
from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

from devicex.comms import identity
from devicex.entries import Entry
from devicex.parsing import ParserSpec
from devicex.records import Record
from devicex.scope import Scope, Selection
from devicex.scope.comms import app_of

COMPANIONS = ("-wal", "-journal", "-shm")  # SQLite files that belong to a database
UNRESOLVED = "identity could not be resolved"
NO_TIME = "no time recorded"
KIND = "kind not selected"


class RecordScope:
    """The communications selections of a scope, applied to records."""

    def __init__(self, scope: Scope, registry: Iterable[ParserSpec]) -> None:
        self.selections = scope.comms_selections
        self.kinds = frozenset(k for s in self.selections if s.comms for k in s.comms.kinds)
        self.parsers = tuple(p for p in registry if p.kinds & self.kinds)

    def wants(self, spec: ParserSpec) -> bool:
        """Whether a parser's records may be taken (it yields a selected kind)."""
        return bool(spec.kinds & self.kinds)

    def source(self, entry: Entry) -> bool:
        """Whether an entry is a database (or its -wal/-journal) one of the wanted parsers reads."""
        path = entry.path
        for suffix in COMPANIONS:
            if path.endswith(suffix):
                path = path[: -len(suffix)]
                break
        ext = posixpath.splitext(path)[1].lstrip(".").lower()
        return any(p.wants("", ext, path) for p in self.parsers)

    def judge(self, record: Record) -> str | None:
        """None if a selection takes the record, else why it is left (``"message: outside date windows"``)."""
        reasons = []
        for sel in self.selections:
            reason = _check(sel, record)
            if reason is None:
                return None
            reasons.append((sel.index, reason))
        if len(reasons) == 1:
            return f"{record.record_type}: {reasons[0][1]}"
        return f"{record.record_type}: no selection matched (" + "; ".join(f"{i}: {r}" for i, r in reasons) + ")"


def attachment_paths(record: Record) -> list[str]:
    """The file-system paths of a message's attachments (those the parser resolved to an entry)."""
    out = []
    for att in getattr(record, "attachments", ()) or ():
        path = att.get("path") if isinstance(att, dict) else None
        if isinstance(path, str) and path:
            out.append(path)
    return out


def _check(sel: Selection, record: Record) -> str | None:
    c = sel.comms
    assert c is not None
    kind = record.record_type
    if kind not in c.kinds:
        return KIND
    if c.apps and app_of(kind, getattr(record, "app", None), getattr(record, "service", None),
                         getattr(record, "call_type", None)) not in c.apps:
        return "app not selected"
    unresolved = False
    if c.identities:
        verdict = _people(c.identities, c.group_chats, record)
        if verdict == UNRESOLVED:
            unresolved = True
        elif verdict is not None:
            return verdict
    if sel.windows and kind != "contact":
        when = getattr(record, "time_utc", None)
        if when is None:
            return NO_TIME
        if not any(w.contains(when) for w in sel.windows):
            return "outside date windows"
    return UNRESOLVED if unresolved else None


def _ids(values: Iterable[Any]) -> set[str]:
    return {v for v in values if isinstance(v, str) and v}


def _people(wanted: frozenset[str], groups: str | None, record: Record) -> str | None:
    """None if the record is with a wanted person; UNRESOLVED if it may be; else the reason it is not."""
    kind = record.record_type
    if kind == "message":
        return _message_people(wanted, groups, record)
    if kind == "call":
        ids = _ids([getattr(record, "number_id", None)])
    elif kind == "contact":
        ids = _ids(getattr(record, "number_ids", ())) | _ids(
            identity(e) for e in getattr(record, "emails", ()) or ())
    else:
        return "participant not selected"
    return _match(wanted, ids)


def _match(wanted: frozenset[str], ids: set[str]) -> str | None:
    if ids & wanted:
        return None
    if any(i.endswith("@lid") for i in ids):
        return UNRESOLVED
    return "participant not selected"


def _message_people(wanted: frozenset[str], groups: str | None, record: Record) -> str | None:
    members = _ids(getattr(record, "participant_ids", ()) or ())
    sender = _ids([getattr(record, "sender_id", None)])
    thread = getattr(record, "thread", None) or ""
    group = thread.endswith("@g.us") or len(members) > 1
    if not group:
        return _match(wanted, members | sender)
    everyone = _match(wanted, members | sender)
    if groups == "exclude":
        return "participant not selected" if everyone is not None else "group chat (group_chats = exclude)"
    if groups == "whole-thread":
        return everyone
    # member-messages: only what a wanted person sent in the group
    mine = _match(wanted, sender)
    if mine is None or mine == UNRESOLVED:
        return mine
    return "participant not selected" if everyone is not None else \
        "group message not sent by a selected participant (group_chats = member-messages)"
