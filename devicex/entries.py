"""Entries: the metadata of one file-system name (and one of its streams).

An :class:`Entry` is plain data and knows nothing of the library that read
it; content is read through the :class:`ContentReader` that the source layer
pairs with it. File-system addresses (inode, attribute) exist only where the
source is a file system read by TSK; every entry has a ``locator``, opaque
outside the source that made it, by which that source finds it again.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Protocol

ALLOCATED = "allocated"
DELETED = "deleted"
ORPHAN = "orphan"

GUESS_NO_CHAIN = "no-cluster-chain"  # deleted FAT/exFAT file of several clusters: TSK assumed them contiguous
GUESS_REALLOCATED = "reallocated"  # the metadata the name points at now belongs to another file

KIND_FILE = "file"
KIND_DIR = "dir"
KIND_LINK = "symlink"
KIND_VIRTUAL = "virtual"
KIND_VIRTUAL_DIR = "virtual-dir"
KIND_OTHER = "other"
KIND_HARDLINK = "hardlink"  # an archive member naming an earlier member (its content is that member's)
CONTENT_KINDS = frozenset({KIND_FILE, KIND_VIRTUAL, KIND_LINK, KIND_OTHER})


_COMPONENT_ESCAPES = re.compile(r"\\x(2f|5c|2e)")


def path_component(raw: bytes) -> str:
    """One file-system name as one component of a recorded path, unambiguously: a ``/`` or ``\\``
    inside the name, and bytes that are not UTF-8, are written ``\\xNN``, and a name that is
    ``.`` or ``..`` is written ``\\x2e`` / ``\\x2e\\x2e``; so splitting a path on ``/`` always
    gives back its names, and every backslash in a path starts an escape."""
    if raw in (b".", b".."):
        return "\\x2e" * len(raw)
    return raw.replace(b"\\", b"\\x5c").replace(b"/", b"\\x2f").decode("utf-8", "backslashreplace")


def component_name(component: str) -> str:
    """The name a path component stands for (``/``, ``\\`` and dots back; undecodable bytes stay ``\\xNN``)."""
    if "\\" not in component:  # no escape in it (most names)
        return component
    return _COMPONENT_ESCAPES.sub(lambda m: chr(int(m.group(1), 16)), component)


@dataclass(frozen=True, slots=True)
class Entry:
    """One name in a file system; for NTFS, one (name, data stream) pair."""

    source: str
    volume: str
    fs_offset: int
    fs_type: str
    inode: int | None
    attr_type: int | None
    attr_id: int | None
    stream: str | None
    path: str  # "/dir/name": names joined by "/", each written by path_component; stream not included
    name: str
    name_raw: bytes
    kind: str
    size: int
    alloc: str
    realloc: bool
    meta_seq: int | None
    mtime: datetime | None
    atime: datetime | None
    ctime: datetime | None
    crtime: datetime | None
    fn_mtime: datetime | None = None
    fn_atime: datetime | None = None
    fn_ctime: datetime | None = None
    fn_crtime: datetime | None = None
    uid: int | None = None
    gid: int | None = None
    mode: int | None = None
    link_target: str | None = None
    content_guess: str | None = None  # why the content read for a deleted entry may not be its own, if so
    locator: str | None = None  # how the source finds this entry again (opaque outside the source)
    stored_name: str | None = None  # archive members: the name exactly as the archive stores it
    mtime_local: str | None = None  # a zone-less local time (zip DOS time) when it is the only time
    extra: str | None = None  # source-specific metadata (JSON): tar owner names, PAX extended attributes ...
    notes: tuple[str, ...] = ()  # what the source found wrong with this entry (duplicate name, damage ...)
    # UTC offsets the file system recorded with the times (exFAT), already applied to them:
    # ((time field, minutes east of UTC), ...)
    utc_offsets: tuple[tuple[str, int], ...] = ()

    def __reduce__(self) -> tuple[Callable[..., Entry], tuple[object, ...]]:
        # the field values in order, rebuilt by the constructor: about a third of what the generic pickling of
        # a frozen slotted dataclass costs (entries cross to the worker processes and the spools); UTC times as
        # the bytes of their state (pickling eight datetime objects cost more than all the rest)
        values = _ENTRY_VALUES(self)
        states = _time_states(values)
        if states is None:
            return Entry, values
        return from_utc_states, (values[:_TIMES.start], states, values[_TIMES.stop:])

    @property
    def full_path(self) -> str:
        """The path as ``fls -p`` shows it, with ``:stream`` for named streams."""
        return f"{self.path}:{self.stream}" if self.stream else self.path

    @property
    def address(self) -> str | None:
        """TSK's address spec: ``inode`` or ``inode-type-id`` (as fls prints); None off file systems."""
        if self.inode is None:
            return None
        if self.attr_type is None or self.attr_id is None:
            return str(self.inode)
        return f"{self.inode}-{self.attr_type}-{self.attr_id}"

    @property
    def has_content(self) -> bool:
        return self.kind in CONTENT_KINDS

    @property
    def extension(self) -> str:
        name = self.stream or self.name
        dot = name.rfind(".")
        return name[dot + 1 :].lower() if 0 < dot < len(name) - 1 else ""


_ENTRY_VALUES = attrgetter(*(f.name for f in fields(Entry)))
_TIME_AT = [i for i, f in enumerate(fields(Entry)) if "datetime" in str(f.type)]
_TIMES = slice(_TIME_AT[0], _TIME_AT[-1] + 1)  # the times, next to each other in the fields
assert list(range(_TIMES.start, _TIMES.stop)) == _TIME_AT


def _makers() -> dict[str, object]:
    """``entry_of`` and ``from_utc_states``, generated: the entry made bare, then each slot set by its own
    setter, one line per field (a loop over the setters costs half as much again), each time made in place, once
    for equal states."""
    count = len(fields(Entry))
    env: dict[str, object] = {f"set_{i}": getattr(Entry, f.name).__set__ for i, f in enumerate(fields(Entry))}
    env.update(new=object.__new__, Entry=Entry, datetime=datetime, UTC=UTC)
    values = [f"v{i}" for i in range(count)]
    times = [f"t{i}" for i in range(_TIMES.start, _TIMES.stop)]
    made_times = ""  # each time made once: a state equal to one before it gives the same object (equal times)
    for i in range(_TIMES.start, _TIMES.stop):
        earlier = "".join(f"t{j} if v{i} == v{j} else " for j in range(_TIMES.start, i))
        made_times += f"    t{i} = {earlier}None if v{i} is None else datetime(v{i}, UTC)\n"

    def unpack(names: list[str], source: str) -> str:
        return f"    ({', '.join(names)},) = {source}\n"

    def made(setting: list[str]) -> str:
        return "    entry = new(Entry)\n" + "".join(f"    set_{i}(entry, {v})\n" for i, v in enumerate(setting)) + \
            "    return entry\n"

    exec("def entry_of(values):\n" + unpack(values, "values") + made(values)  # noqa: S102
         + _time_states_source()
         + "def from_utc_states(head, states, tail):\n" + unpack(values[:_TIMES.start], "head")
         + unpack(values[_TIMES], "states") + unpack(values[_TIMES.stop:], "tail") + made_times
         + made([*values[:_TIMES.start], *times, *values[_TIMES.stop:]]), env)
    return env


def _time_states_source() -> str:
    """``time_states(values)``: the state of each UTC time among an entry's ``values`` (a time's bytes: the
    fold is in them), None for a missing one, the same bytes again for the same time object (the walk shares
    equal times); None if a time is not in UTC."""
    times = [f"w{i}" for i in range(_TIMES.stop - _TIMES.start)]
    source = f"def time_states(values):\n    ({', '.join(times)},) = values[{_TIMES.start}:{_TIMES.stop}]\n"
    for i, when in enumerate(times):
        source += f"    if {when} is None:\n        s{i} = None\n"
        source += "".join(f"    elif {when} is w{j}:\n        s{i} = s{j}\n" for j in range(i))
        source += (f"    elif {when}.tzinfo is UTC:\n        s{i} = {when}.__reduce_ex__(4)[1][0]\n"
                   "    else:\n        return None\n")
    return source + f"    return ({', '.join(f's{i}' for i in range(len(times)))},)\n"


_MADE = _makers()
_make_entry: Callable[[Iterable[object]], Entry] = _MADE["entry_of"]  # type: ignore[assignment]
_from_states: Callable[[tuple[object, ...], tuple[bytes | None, ...], tuple[object, ...]], Entry]
_from_states = _MADE["from_utc_states"]  # type: ignore[assignment]
_time_states: Callable[[tuple[object, ...]], tuple[bytes | None, ...] | None]
_time_states = _MADE["time_states"]  # type: ignore[assignment]


def entry_of(values: Iterable[object]) -> Entry:
    """``Entry(*values)`` for a value of every field in their order (a ValueError for any other number of
    values), made faster: each slot set directly, as the frozen dataclass's own ``__init__`` does, without
    the call by name per field (entries are made by the walk and again from the plan's spool and in the
    worker processes)."""
    return _make_entry(values)


def from_utc_states(head: tuple[object, ...], states: tuple[bytes | None, ...], tail: tuple[object, ...]) -> Entry:
    """An entry from the compact form ``Entry.__reduce__`` gives when its times are UTC (or missing): the
    fields before the times, the bytes of each time's state (each made a UTC time), the fields after them
    (a ValueError for any other number of values)."""
    return _from_states(head, states, tail)


class ContentReader(Protocol):
    """Reads one entry's stream; ``read`` returns short/empty past the end."""

    def read(self, offset: int, size: int) -> bytes: ...


class BytesContent:
    """A stream already in memory (``data``); it can be handed to another process as it is."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, offset: int, size: int) -> bytes:
        return self.data[offset:offset + size]
