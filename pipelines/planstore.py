"""The one read's plan, kept as compact rows in memory up to a budget and beyond it spooled to a private SQLite
file (so memory stays bounded whatever the image), read back by media offset.

Each planned entry is written as a compact row: its fields and the entry's compact form (``Entry.__reduce__``:
plain values, its UTC times as the bytes of their state) as ``marshal`` data, which costs far less than
pickling the objects whole, both ways (the plan holds every entry whose stream lies plainly on the media). An
entry with anything else in it (a time not in UTC, a decision of another kind) is pickled whole, so it always
comes back equal.
"""
from __future__ import annotations

import marshal
import pickle
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devicex.entries import from_utc_states
from pipelines.onepass import Planned
from pipelines.select import Decision

_COMPACT, _PICKLED = b"m", b"p"


def encode(item: Planned) -> bytes:
    """``item`` as bytes for the spool (:func:`decode` gives it back equal)."""
    rebuild, entry_args = item.entry.__reduce__()
    decision = item.decision
    if rebuild is from_utc_states and (decision is None or type(decision) is Decision):
        plain = None if decision is None else (decision.include, decision.reason, decision.records_only)
        try:
            row: Any = (item.seq, entry_args, item.file_id, item.export_rel, plain, item.runs, item.byte_runs)
            return _COMPACT + marshal.dumps(row)
        except ValueError:  # a value marshal does not take
            pass
    return _PICKLED + pickle.dumps(item, pickle.HIGHEST_PROTOCOL)


def decode(blob: bytes, decisions: dict[tuple[Any, ...], Decision] | None = None) -> Planned:
    """The item ``encode`` gave ``blob`` for; ``decisions``: those decoded so far, given again for an equal one
    (a frozen value: most entries of a run share a few)."""
    if blob[:1] == _PICKLED:
        item: Planned = pickle.loads(blob[1:])
        return item
    seq, entry_args, file_id, export_rel, plain, runs, byte_runs = marshal.loads(blob[1:])
    decision = None
    if plain is not None:
        decision = decisions.get(plain) if decisions is not None else None
        if decision is None:
            decision = Decision(*plain)
            if decisions is not None:
                decisions[plain] = decision
    item = Planned(seq, from_utc_states(*entry_args), file_id, export_rel, decision, runs, byte_runs)
    item.compact = entry_args  # sent to a worker as it is (ProcessRunner.submit_bytes)
    return item


MEMORY_BUDGET = 8 << 20  # bytes of compact rows kept in memory before the plan goes to its spool file


class PlanStore:
    """The plan: compact rows in memory while they take at most ``budget`` bytes (a list sorted once, when it is
    read back), else spooled to a private SQLite file (created then, never all in memory), read back by media
    offset, then walk order."""

    def __init__(self, path: Path, budget: int = MEMORY_BUDGET) -> None:
        self._path, self._budget = path, budget
        self._conn: sqlite3.Connection | None = None
        self._held: list[tuple[int, int, bytes]] = []  # (start, seq, row): in memory, or waiting to be spooled
        self._held_bytes = 0
        self.count = 0
        self.nbytes = 0

    def add(self, item: Planned) -> None:
        blob = encode(item)
        self._held.append((item.start, item.seq, blob))
        self.count += 1
        self.nbytes += item.entry.size
        self._held_bytes += len(blob)
        if self._conn is not None:
            if len(self._held) >= 1024:
                self._flush()
        elif self._held_bytes > self._budget:
            self._open()
            self._flush()

    @property
    def spooled(self) -> bool:
        """Whether the plan outgrew its memory budget and went to its spool file."""
        return self._conn is not None

    def _open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = conn = sqlite3.connect(self._path)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("CREATE TABLE plan (start INTEGER NOT NULL, seq INTEGER NOT NULL, item BLOB NOT NULL)")

    def _flush(self) -> None:
        assert self._conn is not None
        self._conn.executemany("INSERT INTO plan VALUES (?, ?, ?)", self._held)
        self._held.clear()

    def by_offset(self) -> Iterator[Planned]:
        decisions: dict[tuple[Any, ...], Decision] = {}
        if self._conn is None:
            held, self._held = self._held, []
            held.sort(reverse=True)  # (start, seq) is unique: the rows themselves are never compared
            while held:  # taken from the end, so that each row is let go of once it is decoded
                yield decode(held.pop()[2], decisions)
            return
        self._flush()
        for (blob,) in self._conn.execute("SELECT item FROM plan ORDER BY start, seq"):
            yield decode(blob, decisions)

    def close(self) -> None:
        self._held.clear()
        if self._conn is not None:
            self._conn.close()
