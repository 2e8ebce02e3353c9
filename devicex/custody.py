"""The chain-of-custody log: ``custody.jsonl``, append-only, hash-chained.

Each line is one entry in canonical JSON (sorted keys, UTF-8, no floats)
holding ``prev_sha256``, the SHA-256 of the previous line's bytes (64 zeros
for the first), so any edit, deletion, reordering or truncation breaks the
chain. The head hash (SHA-256 of the last line) and the line count are what
sealing signs and ``bag-info.txt`` records.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devicex.timeutil import iso, now_utc

GENESIS = "0" * 64
FILENAME = "custody.jsonl"


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    role: str = "examiner"

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "role": self.role}


@dataclass(frozen=True)
class Artefact:
    """An input or output of an action: role, reference, SHA-256 and size."""

    role: str
    ref: str
    sha256: str | None = None
    size: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "ref": self.ref, "sha256": self.sha256, "size": self.size}


def canonical(entry: dict[str, Any]) -> bytes:
    """Canonical bytes of an entry; floats are refused (not reproducible)."""
    _reject_floats(entry)
    return json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _reject_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("floats are not allowed in custody entries")
    if isinstance(value, dict):
        for v in value.values():
            _reject_floats(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _reject_floats(v)


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def read_lines(path: Path) -> list[bytes]:
    if not path.exists():
        return []
    return [ln for ln in path.read_bytes().split(b"\n") if ln]


def head(path: Path) -> tuple[str, int]:
    """(SHA-256 of the last entry, number of entries)."""
    lines = read_lines(path)
    return (line_hash(lines[-1]) if lines else GENESIS), len(lines)


class CustodyLog:
    """Appends entries to a custody log; never rewrites existing lines."""

    def __init__(self, path: Path, actor: Actor, case_ref: str | None, exhibit_ref: str | None) -> None:
        self.path = path
        self.actor = actor
        self.case_ref = case_ref
        self.exhibit_ref = exhibit_ref

    def append(self, action: str, *, inputs: Iterable[Artefact] = (), outputs: Iterable[Artefact] = (),
               result: str = "ok", details: dict[str, Any] | None = None) -> dict[str, Any]:
        prev, count = head(self.path)
        entry = {
            "seq": count + 1,
            "time": iso(now_utc()),
            "actor": self.actor.as_dict(),
            "host": socket.gethostname(),
            "action": action,
            "case_ref": self.case_ref,
            "exhibit_ref": self.exhibit_ref,
            "inputs": [a.as_dict() for a in inputs],
            "outputs": [a.as_dict() for a in outputs],
            "result": result,
            "details": details or {},
            "prev_sha256": prev,
        }
        line = canonical(entry) + b"\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return entry
