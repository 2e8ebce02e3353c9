"""Putting back in walk order what was done in another order (the one-read pass reads by media offset).

Items are numbered in walk order as they are walked; each is put when it is done, in any order, and given
to ``emit`` as soon as every item before it has been. Items waiting for an earlier one are kept as they are
up to ``limit``; beyond that they are kept frozen (``freeze``: an item as bytes, far smaller than the objects;
``thaw`` gives it back) up to ``budget`` bytes, then spooled to a private SQLite file, so memory stays bounded
whatever the image. A run of consecutive spooled items comes back with one query and one delete (up to
``FETCH`` at a time), and the spool is not asked for an item it is known not to hold.
"""
from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

_MISSING = object()
FETCH = 256  # spooled items taken back per query, at most
LIMIT = 1024  # waiting items kept as they are, at most
BUDGET = 24 << 20  # bytes of frozen waiting items kept in memory, at most (then spooled)


def _pickled(item: Any) -> bytes:
    return pickle.dumps(item, pickle.HIGHEST_PROTOCOL)


class InOrder:
    def __init__(self, emit: Callable[[Any], None], spool: Path, limit: int | None = None, budget: int | None = None,
                 freeze: Callable[[Any], bytes] = _pickled, thaw: Callable[[bytes], Any] = pickle.loads) -> None:
        self._emit, self._spool_path = emit, spool
        self._limit = LIMIT if limit is None else limit
        self._budget = BUDGET if budget is None else budget
        self._freeze, self._thaw = freeze, thaw
        self._ready: dict[int, Any] = {}
        self._frozen: dict[int, bytes] = {}  # waiting items frozen, in memory
        self._frozen_bytes = 0
        self._next = 0  # the next item to emit
        self._numbered = 0  # items numbered so far
        self._spooled = 0
        self._conn: sqlite3.Connection | None = None
        self._back: dict[int, Any] = {}  # a run of consecutive items taken back from the spool, being emitted
        self._spooled_from = -1  # no item numbered below this one is in the spool (-1: not known)

    def number(self) -> int:
        """The walk-order number of the next item."""
        seq = self._numbered
        self._numbered += 1
        return seq

    def put(self, seq: int, item: Any) -> None:
        self._ready[seq] = item
        self._release()
        if len(self._ready) > self._limit:
            self._freeze_ready()

    def add(self, item: Any) -> None:
        """Number an item that is done already and put it."""
        self.put(self.number(), item)

    @property
    def waiting(self) -> int:
        return self._numbered - self._next

    @property
    def released(self) -> int:
        """How many items have been emitted: the number of the next one to emit."""
        return self._next

    def _release(self) -> None:
        while True:
            item = self._ready.pop(self._next, _MISSING)
            if item is _MISSING and self._frozen:
                blob = self._frozen.pop(self._next, None)
                if blob is not None:
                    self._frozen_bytes -= len(blob)
                    item = self._thaw(blob)
            if item is _MISSING and (self._spooled or self._back):
                item = self._unspool(self._next)
            if item is _MISSING:
                return
            self._next += 1
            self._emit(item)

    def _freeze_ready(self) -> None:
        """The items waiting as they are, frozen; spooled with the others frozen if they pass the budget."""
        freeze, frozen = self._freeze, self._frozen
        size = 0
        for seq, item in self._ready.items():
            blob = frozen[seq] = freeze(item)
            size += len(blob)
        self._frozen_bytes += size
        self._ready.clear()
        if self._frozen_bytes > self._budget:
            self._spool()

    def _spool(self) -> None:
        if self._conn is None:
            self._spool_path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self._spool_path)
            self._conn.execute("PRAGMA journal_mode=OFF")
            self._conn.execute("PRAGMA synchronous=OFF")
            self._conn.execute("CREATE TABLE waiting (seq INTEGER PRIMARY KEY, item BLOB NOT NULL)")
        self._conn.executemany("INSERT INTO waiting VALUES (?, ?)", sorted(self._frozen.items()))
        self._spooled += len(self._frozen)
        if self._spooled_from >= 0:
            self._spooled_from = min(self._spooled_from, min(self._frozen))
        self._frozen.clear()
        self._frozen_bytes = 0

    def _unspool(self, seq: int) -> Any:
        """Item ``seq`` if it was spooled, taken back with the consecutive ones spooled after it."""
        item = self._back.pop(seq, _MISSING)
        if item is not _MISSING or seq < self._spooled_from or not self._spooled:
            return item
        assert self._conn is not None
        rows: list[tuple[int, bytes]] = []
        after = 1 << 62  # the first spooled item after the run, or where to look again
        cursor = self._conn.execute("SELECT seq, item FROM waiting WHERE seq >= ? ORDER BY seq LIMIT ?", (seq, FETCH))
        for row in cursor:
            if row[0] != seq + len(rows):
                after = row[0]
                break  # the run ends here: the rows after it are not read
            rows.append(row)
        else:
            after = seq + len(rows) if len(rows) == FETCH else after
        cursor.close()
        if rows:
            self._conn.execute("DELETE FROM waiting WHERE seq BETWEEN ? AND ?", (seq, seq + len(rows) - 1))
            self._spooled -= len(rows)
            self._back.update((n, self._thaw(blob)) for n, blob in rows)
        self._spooled_from = after
        return self._back.pop(seq, _MISSING)

    def close(self) -> None:
        """Drop the spool (whatever is left in it: a run that ended early)."""
        self._back.clear()
        self._frozen.clear()
        self._frozen_bytes = 0
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._spool_path.unlink(missing_ok=True)
