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
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from operator import attrgetter
from types import MemberDescriptorType
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

    def __init_subclass__(cls) -> None:  # (no super(): its cell is the class before the slots were added)
        if "__slots__" in cls.__dict__ and "__dataclass_fields__" in cls.__dict__:
            _set_by_slots(cls)  # the slotted class the dataclass decorator made

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


def _set_by_slots(cls: type) -> None:
    """Give a frozen, slotted record class an ``__init__`` that sets each field through its slot directly
    (the dataclass one calls ``object.__setattr__`` per field: a million records make the difference
    worth having). Same arguments, defaults and result; a class with default factories, init-only or
    non-init fields, or ``__post_init__`` keeps the dataclass one."""
    fields = dataclasses.fields(cls)
    slots: list[Any] = [getattr(cls, f.name, None) for f in fields]
    if (hasattr(cls, "__post_init__") or not all(type(s) is MemberDescriptorType for s in slots)
            or any(not f.init or f.default_factory is not dataclasses.MISSING for f in fields)):
        return
    env: dict[str, Any] = {}
    params: dict[bool, list[str]] = {False: [], True: []}  # positional-or-keyword, keyword-only
    body = []
    for i, (f, slot) in enumerate(zip(fields, slots, strict=True)):
        env[f"_set{i}"] = slot.__set__
        if f.default is dataclasses.MISSING:
            params[bool(f.kw_only)].append(f.name)
        else:
            env[f"_default{i}"] = f.default
            params[bool(f.kw_only)].append(f"{f.name}=_default{i}")
        body.append(f"    _set{i}(self, {f.name})")
    signature = ", ".join(["self", *params[False], *(["*", *params[True]] if params[True] else [])])
    exec(f"def __init__({signature}):\n" + "\n".join(body) + "\n", env)  # noqa: S102
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010


_set_by_slots(Provenance)

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
# ``_IN_ORDER.encode`` of an object whose values are scalars or arrays of scalars: the json module's C encoder
# made once (``encode`` makes it again for every call), without its check for circular references (none in
# such an object)
_FLAT = None if c_make_encoder is None else c_make_encoder(
    None, _IN_ORDER.default, encode_basestring, None, ":", ",", False, False, True)


def _flat_json(out: dict[str, Any]) -> str:
    """``_IN_ORDER.encode(out)`` for ``out`` holding scalars and arrays of scalars only."""
    if _FLAT is None:
        return _IN_ORDER.encode(out)
    return "".join(_FLAT(out, 0))


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


_SCHEMAS: dict[type[Record], str] = {}


def schema_json(cls: type[Record]) -> str:
    """``canonical_json(cls.schema())``, made once per record class (asked for every parser run)."""
    text = _SCHEMAS.get(cls)
    if text is None:
        text = _SCHEMAS[cls] = canonical_json(cls.schema())
    return text


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


_Plan = tuple[Callable[[Any], tuple[Any, ...]], tuple[str, ...], tuple[int, ...]]
_PLANS: dict[type, _Plan] = {}
_SCALAR = frozenset({type(None), str, int, bool})
_NATIVE = _SCALAR | {datetime, tuple}  # the types _native may accept


def _native(values: tuple[Any, ...]) -> bool:
    """True if orjson writes every value as the json module writes its :func:`to_jsonable` form: strings,
    integers, booleans, nulls, UTC times, and arrays of the first four."""
    kinds = set(map(type, values))
    if kinds <= _SCALAR:  # (most records: no time or array to look at)
        return True
    if not kinds <= _NATIVE:
        return False
    for value in values:
        kind = type(value)
        if kind in _SCALAR:
            continue
        if kind is datetime:
            if value.tzinfo is not UTC:
                return False
        elif kind is not tuple or not set(map(type, value)) <= _SCALAR:
            return False
    return True


def _plan(cls: type[Record]) -> _Plan:
    names = tuple(sorted(_field_names(cls)))
    if len(names) > 1:
        get: Callable[[Any], tuple[Any, ...]] = attrgetter(*names)
    else:  # attrgetter of one name gives the value itself, not a tuple
        get = lambda record: tuple(getattr(record, n) for n in names)  # noqa: E731
    return get, names, tuple(names.index(n) for n in cls.timestamp_fields)


def serialise(record: Record) -> tuple[str, str | None]:
    """``canonical_json(record.data())`` and ``iso(record.primary_time())`` (the same text: what case.db
    stores for every record; a million records make this worth its own code). The fields are read in key
    order; a record of strings, integers, booleans, nulls, UTC times and arrays of the first four (nearly
    every record) is written whole by orjson, which writes these as the json module does (floats it writes
    differently, so never them); anything else field by field (:func:`_serialise_fields`)."""
    plan = _PLANS.get(type(record))
    if plan is None:
        plan = _PLANS[type(record)] = _plan(type(record))
    get, names, times = plan
    values = get(record)
    if _native(values):
        try:
            text = orjson.dumps(dict(zip(names, values, strict=False)),  # as many values as names
                                option=orjson.OPT_UTC_Z).decode()
        except TypeError:  # integers past 64 bits, lone surrogates: the json module writes them
            return _serialise_fields(names, values, times)
        for i in times:  # the first time set
            if values[i] is not None:
                return text, values[i].isoformat()[:-6] + "Z"
        return text, None
    return _serialise_fields(names, values, times)


def _serialise_fields(names: tuple[str, ...], values: tuple[Any, ...], times: tuple[int, ...]
                      ) -> tuple[str, str | None]:
    """Field by field: each time turned into text once; orjson when every value is one it writes as the
    json module does, else the json module, keys sorted only when a value holds objects of its own."""
    out: dict[str, Any] = {}
    flat = fast = True
    for name, value in zip(names, values, strict=True):
        kind = type(value)
        if value is None or kind in _FAST:
            out[name] = value
        elif kind is datetime and value.tzinfo is UTC:
            out[name] = value.isoformat()[:-6] + "Z"
        elif kind is tuple and all(v is None or type(v) in _FAST for v in value):
            out[name] = value  # both encoders write a tuple as the array to_jsonable would make of it
        elif kind is float:  # (to_jsonable keeps it; only the json module writes it as the json module does)
            out[name] = value
            fast = False
        else:
            value = out[name] = to_jsonable(value)
            kind = type(value)
            if kind in _FAST or (kind is list and all(v is None or type(v) in _FAST for v in value)):
                continue
            fast = False
            flat = flat and (kind in _PLAIN or (kind is list and all(v is None or type(v) in _PLAIN for v in value)))
    primary = next((out[names[i]] for i in times if out[names[i]] is not None), None)
    if fast:
        try:
            return orjson.dumps(out, option=orjson.OPT_SORT_KEYS).decode(), primary
        except TypeError:
            pass  # integers past 64 bits, lone surrogates: the json module writes them
    return _flat_json(out) if flat else _CANONICAL.encode(out), primary
