"""Typed records: frozen structures that carry their provenance.

Parsers define their own record classes by subclassing :class:`Record` (as a
frozen, slotted dataclass). The core serialises any record generically.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from devicex.entries import Entry
from devicex.timeutil import iso


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a record came from: source, volume, inode (TSK address, else the source's locator), path, stream."""

    source: str
    volume: str
    inode: str
    path: str
    stream: str | None = None

    @classmethod
    def from_entry(cls, entry: Entry) -> "Provenance":
        return cls(entry.source, entry.volume, entry.address or entry.locator or "", entry.path, entry.stream)


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """Base of every parser record. ``record_type`` names the kind of record;
    ``timestamp_fields`` names the aware-UTC datetime fields for timelines."""

    provenance: Provenance
    record_type: ClassVar[str] = "record"
    timestamp_fields: ClassVar[tuple[str, ...]] = ()

    def data(self) -> dict[str, Any]:
        """Fields other than provenance, JSON-ready (datetimes as ISO UTC)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "provenance":
                continue
            out[f.name] = to_jsonable(getattr(self, f.name))
        return out

    def primary_time(self) -> datetime | None:
        for name in self.timestamp_fields:
            value = getattr(self, name)
            if value is not None:
                return value
        return None

    def times(self) -> list[tuple[str, datetime]]:
        return [(n, getattr(self, n)) for n in self.timestamp_fields if getattr(self, n) is not None]


def to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
