"""Typed records: frozen structures that carry their provenance.

Parsers define their own record classes by subclassing :class:`Record` (as a
frozen, slotted dataclass). The core serialises any record generically.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, ClassVar

import orjson

from devicex.entries import Entry
from devicex.timeutil import iso


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a record came from: source, volume, inode (TSK address, else the source's locator), path, stream;
    for a database row also its table and rowid."""

    source: str
    volume: str
    inode: str
    path: str
    stream: str | None = None
    table: str | None = None
    rowid: int | None = None

    @classmethod
    def from_entry(cls, entry: Entry) -> Provenance:
        return cls(entry.source, entry.volume, entry.address or entry.locator or "", entry.path, entry.stream)

    def row(self, table: str, rowid: int | None) -> Provenance:
        """The same file's provenance narrowed to one database row."""
        return Provenance(self.source, self.volume, self.inode, self.path, self.stream, table, rowid)


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """Base of every parser record. ``record_type`` names the kind of record;
    ``timestamp_fields`` names the aware-UTC datetime fields for timelines."""

    provenance: Provenance
    record_type: ClassVar[str] = "record"
    timestamp_fields: ClassVar[tuple[str, ...]] = ()
    #: human name of the kind, e.g. "Message"
    label: ClassVar[str] = ""
    #: what a field means to a renderer, by field name (see :data:`ROLES`)
    roles: ClassVar[dict[str, str]] = {}

    @classmethod
    def schema(cls) -> dict[str, Any]:
        """The kind's declared schema: every field with its type and role, written to
        case.db (``record_kinds``) so renderers show any kind without knowing it."""
        fields = []
        for f in dataclasses.fields(cls):
            if f.name == "provenance":
                continue
            role = cls.roles.get(f.name) or ("time" if f.name in cls.timestamp_fields else "")
            fields.append({"name": f.name, "type": _type_name(f.type), "role": role})
        return {"record_type": cls.record_type, "label": cls.label or cls.record_type, "fields": fields,
                "times": list(cls.timestamp_fields)}

    def data(self) -> dict[str, Any]:
        """Fields other than provenance, JSON-ready (datetimes as ISO UTC)."""
        out: dict[str, Any] = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            kind = type(value)
            if value is None or kind in _PLAIN:
                out[name] = value
            elif kind is datetime and value.tzinfo is UTC:
                out[name] = value.isoformat()[:-6] + "Z"  # what iso() gives, without its conversion
            else:
                out[name] = to_jsonable(value)
        return out

    def primary_time(self) -> datetime | None:
        for name in self.timestamp_fields:
            value = getattr(self, name)
            if value is not None:
                return value
        return None

    def times(self) -> list[tuple[str, datetime]]:
        return [(n, getattr(self, n)) for n in self.timestamp_fields if getattr(self, n) is not None]


#: field roles a renderer understands (anything else is shown as plain data)
ROLES = ("time", "time-raw", "time-epoch", "app", "thread", "thread-name", "direction", "participant",
         "participant-id", "participant-name", "participants", "participant-ids", "text", "subject",
         "attachments", "url", "title", "state", "duration", "path", "count")


def _type_name(annotation: Any) -> str:
    text = str(annotation)
    for token, name in (("datetime", "time"), ("bool", "boolean"), ("float", "real"), ("int", "integer"),
                        ("tuple", "list"), ("list", "list"), ("dict", "object"), ("str", "text")):
        if token in text:
            return name
    return "text"


_PLAIN = frozenset({str, int, float, bool})
_FAST = frozenset({str, int, bool})  # what orjson writes exactly as the json module does
_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A record class's data fields, in declaration order (looked up once per class: a million
    records must not ask ``dataclasses.fields`` a million times)."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.name != "provenance")
    return names


def to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if type(value) is tuple and all(v is None or type(v) in _PLAIN for v in value):
        return list(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_IN_ORDER = json.JSONEncoder(sort_keys=False, ensure_ascii=False, separators=(",", ":"))


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def canonical_json_objects(objects: list[dict[str, Any]]) -> str:
    """``canonical_json`` of a list of flat objects (a stream's byte runs: one list per case.db row), by orjson
    when every value is a string, integer or boolean, which it writes as the json module does (a tenth of the
    cost); anything else, or an integer orjson cannot hold, by the json module."""
    if all(type(v) in _FAST for obj in objects for v in obj.values()):
        try:
            return orjson.dumps(objects, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:
            pass  # an integer past 64 bits: the json module writes it
    return _CANONICAL.encode(objects)


_Plan = tuple[Callable[[Any], tuple[Any, ...]], tuple[str, ...], tuple[str, ...]]
_PLANS: dict[type, _Plan] = {}


def _plan(cls: type[Record]) -> _Plan:
    names = tuple(sorted(_field_names(cls)))
    if len(names) > 1:
        get: Callable[[Any], tuple[Any, ...]] = attrgetter(*names)
    else:  # attrgetter of one name gives the value itself, not a tuple
        get = lambda record: tuple(getattr(record, n) for n in names)  # noqa: E731
    return get, names, tuple(cls.timestamp_fields)


def serialise(record: Record) -> tuple[str, str | None]:
    """``canonical_json(record.data())`` and ``iso(record.primary_time())`` made in one pass (the
    same text: what case.db stores for every record; a million records make this worth its own code):
    fields read in key order, each time turned into text once; a record of strings, integers, booleans
    and nulls only is written by orjson (which writes them as the json module does: not so floats),
    anything else by the json module, keys sorted only when a value holds objects of its own."""
    cls = type(record)
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _plan(cls)
    get, names, times = plan
    out: dict[str, Any] = {}
    flat = fast = True
    for name, value in zip(names, get(record), strict=True):
        kind = type(value)
        if value is None or kind in _FAST:
            out[name] = value
        elif kind is datetime and value.tzinfo is UTC:
            out[name] = value.isoformat()[:-6] + "Z"
        elif kind is tuple and all(v is None or type(v) in _FAST for v in value):
            out[name] = value  # both encoders write a tuple as the array to_jsonable would make of it
        else:
            value = out[name] = to_jsonable(value)
            kind = type(value)
            if kind in _FAST or (kind is list and all(v is None or type(v) in _FAST for v in value)):
                continue
            fast = False
            flat = flat and (kind in _PLAIN or (kind is list and all(v is None or type(v) in _PLAIN for v in value)))
    primary = next((out[name] for name in times if out[name] is not None), None)
    if fast:
        try:
            return orjson.dumps(out, option=orjson.OPT_SORT_KEYS).decode(), primary
        except TypeError:
            pass  # integers past 64 bits, lone surrogates: the json module writes them
    return (_IN_ORDER if flat else _CANONICAL).encode(out), primary
