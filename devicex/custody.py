"""The chain-of-custody log: ``custody.jsonl``, append-only, hash-chained.

Each line is one entry in canonical JSON (sorted keys, UTF-8, no floats)
holding ``prev_sha256``, the SHA-256 of the previous line's bytes (64 zeros
for the first), so any edit, deletion, reordering or truncation breaks the
chain. The head hash (SHA-256 of the last line) and the line count are what
sealing signs and ``bag-info.txt`` records.

:func:`check_chain` reads a log back and reports, precisely and without
cascading, every malformed, non-canonical, duplicated, reordered, edited or
missing entry, and (given the sealed head and count) truncation or entries
appended after sealing.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devicex.errors import DevicexError
from devicex.outdir import open_nofollow
from devicex.timeutil import iso, now_utc

try:  # POSIX advisory lock so two processes cannot append the same seq
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

GENESIS = "0" * 64
FILENAME = "custody.jsonl"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class CustodyError(DevicexError):
    """The custody log cannot be appended to safely (it is damaged)."""


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
        """Append one entry (under an exclusive lock) and return it. Refuses
        to append to a log whose last line is damaged or incomplete."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = open_nofollow(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)  # a planted link is refused
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            prev, count = _tail_state(self.path)
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
            os.write(fd, canonical(entry) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock
        return entry


def _tail_state(path: Path) -> tuple[str, int]:
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        raise CustodyError(f"{path}: the last custody entry is incomplete; refusing to append")
    lines = data.split(b"\n")[:-1] if data else []
    if lines:
        try:
            last = json.loads(lines[-1])
        except ValueError:
            raise CustodyError(f"{path}: the last custody entry is not valid JSON; refusing to append") from None
        if not isinstance(last, dict) or last.get("seq") != len(lines):
            seq = last.get("seq") if isinstance(last, dict) else "?"
            raise CustodyError(f"{path}: the custody log is damaged (seq {seq} on line {len(lines)}); "
                               "refusing to append")
    return (line_hash(lines[-1]) if lines else GENESIS), len(lines)


# --------------------------------------------------------------------------- reading back and checking

_REQUIRED: dict[str, tuple[type, ...]] = {
    "seq": (int,), "time": (str,), "actor": (dict,), "host": (str,), "action": (str,),
    "case_ref": (str, type(None)), "exhibit_ref": (str, type(None)), "inputs": (list,),
    "outputs": (list,), "result": (str,), "details": (dict,), "prev_sha256": (str,),
}


@dataclass(frozen=True)
class ChainIssue:
    """One problem with the log. ``code`` is one of custody-malformed,
    custody-not-canonical, custody-duplicate, custody-reordered, custody-gap,
    custody-edited, custody-truncated, custody-appended, custody-empty."""

    code: str
    message: str
    line: int | None = None
    seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "line": self.line, "seq": self.seq}


@dataclass(frozen=True)
class LogEntry:
    line: int
    raw: bytes
    sha256: str
    entry: dict[str, Any]

    @property
    def seq(self) -> int:
        return int(self.entry["seq"])


@dataclass
class ChainReport:
    lines: int = 0
    head: str = GENESIS
    entries: list[LogEntry] = field(default_factory=list)  # well-formed entries, in file order
    issues: list[ChainIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def add(self, code: str, message: str, line: int | None = None, seq: int | None = None) -> None:
        self.issues.append(ChainIssue(code, message, line, seq))


def _parse(report: ChainReport, number: int, raw: bytes) -> LogEntry | None:
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        report.add("custody-malformed", f"line {number} is not a valid JSON entry ({exc.__class__.__name__})", number)
        return None
    bad = [k for k, types in _REQUIRED.items() if not isinstance(entry, dict) or not isinstance(entry.get(k), types)
           or (k == "seq" and isinstance(entry.get(k), bool))] if isinstance(entry, dict) else ["(not an object)"]
    if bad:
        report.add("custody-malformed", f"line {number} lacks or has wrong types for: {', '.join(bad)}", number)
        return None
    seq = entry["seq"]
    if seq < 1 or not _HEX64.fullmatch(entry["prev_sha256"]):
        report.add("custody-malformed", f"line {number} has an invalid seq or prev_sha256", number, seq)
        return None
    try:
        canon = canonical(entry)
    except TypeError:
        canon = b""
    if canon != raw:
        report.add("custody-not-canonical", f"line {number} (seq {seq}) is not in canonical form: it was edited "
                   "after it was written", number, seq)
    return LogEntry(number, raw, line_hash(raw), entry)


def check_chain(data: bytes, expected_count: int | None = None, expected_head: str | None = None) -> ChainReport:
    """Check a custody log's bytes. With ``expected_count``/``expected_head``
    (from the seal), truncation, appended entries and an edited last entry are
    reported too. Findings are located by line number and seq."""
    report = ChainReport()
    lines = data.split(b"\n")
    cut = bool(data) and lines[-1] != b""
    if not cut:
        lines.pop()
    else:
        report.add("custody-truncated", f"line {len(lines)} is incomplete (no end of line): the log was cut short",
                   len(lines))
    report.lines = len(lines)
    report.head = line_hash(lines[-1]) if lines else GENESIS
    by_bytes: dict[bytes, LogEntry] = {}
    by_seq: dict[int, LogEntry] = {}
    for number, raw in enumerate(lines, 1):
        if not raw:
            report.add("custody-malformed", f"line {number} is empty", number)
            continue
        if cut and number == len(lines) and _parse(ChainReport(), number, raw) is None:
            continue  # the cut-off last line: already reported as truncation
        item = _parse(report, number, raw)
        if item is None:
            continue
        if raw in by_bytes:
            first = by_bytes[raw]
            report.add("custody-duplicate", f"line {number} repeats line {first.line} (seq {item.seq}) byte for byte",
                       number, item.seq)
            continue
        if item.seq in by_seq:
            first = by_seq[item.seq]
            report.add("custody-duplicate", f"lines {first.line} and {number} are different entries with the same "
                       f"seq {item.seq}", number, item.seq)
            continue
        by_bytes[raw] = by_seq[item.seq] = item
        report.entries.append(item)
    _check_order(report)
    _check_links(report, sorted(report.entries, key=lambda e: e.seq))
    if expected_count is not None and expected_head is not None:
        _check_head(report, expected_count, expected_head)
    return report


def _check_order(report: ChainReport) -> None:
    previous: LogEntry | None = None
    for item in report.entries:
        if previous is not None and item.seq < previous.seq:
            report.add("custody-reordered", f"seq {item.seq} (line {item.line}) comes after seq {previous.seq} "
                       f"(line {previous.line}): entries were moved", item.line, item.seq)
        if previous is None or item.seq > previous.seq:
            previous = item
    times = [(e.entry["time"], e) for e in sorted(report.entries, key=lambda e: e.seq)]
    for (t0, e0), (t1, e1) in zip(times, times[1:], strict=False):
        if t1 < t0:
            report.warnings.append(f"seq {e1.seq} is timed {t1}, before seq {e0.seq} ({t0}): clock went back?")


def _check_links(report: ChainReport, ordered: list[LogEntry]) -> None:
    before: LogEntry | None = None
    for item in ordered:
        prev = item.entry["prev_sha256"]
        if before is None:
            if item.seq != 1:
                report.add("custody-gap", f"seq 1-{item.seq - 1} missing: the log starts at seq {item.seq} "
                           f"(line {item.line})", item.line, item.seq)
            elif prev != GENESIS:
                report.add("custody-edited", f"seq 1 (line {item.line}) does not start the chain: its prev_sha256 "
                           "was altered", item.line, 1)
        elif item.seq != before.seq + 1:
            missing = f"seq {before.seq + 1}" + (f"-{item.seq - 1}" if item.seq - 1 > before.seq + 1 else "")
            report.add("custody-gap", f"{missing} missing between line {before.line} (seq {before.seq}) and line "
                       f"{item.line} (seq {item.seq}): entries were deleted", item.line, before.seq + 1)
        elif prev != before.sha256:
            report.add("custody-edited", f"chain broken between seq {before.seq} (line {before.line}) and seq "
                       f"{item.seq} (line {item.line}): seq {before.seq} was altered after seq {item.seq} was "
                       "written (or the link itself was)", before.line, before.seq)
        before = item


def _check_head(report: ChainReport, expected_count: int, expected_head: str) -> None:
    last = max(report.entries, key=lambda e: e.seq, default=None)
    top = last.seq if last else 0
    if top < expected_count:
        first = top + 1
        report.add("custody-truncated", f"the log was sealed with {expected_count} entries but ends at seq {top}: "
                   f"seq {first}" + (f"-{expected_count}" if expected_count > first else "") + " removed from the end",
                   None, first)
    elif top > expected_count:
        extra = [e for e in report.entries if e.seq > expected_count]
        report.add("custody-appended", f"{len(extra)} entr{'y' if len(extra) == 1 else 'ies'} (seq "
                   f"{expected_count + 1}-{top}) added after the log was sealed with {expected_count}",
                   extra[0].line if extra else None, expected_count + 1)
    elif last is not None and last.sha256 != expected_head:
        report.add("custody-edited", f"the last entry (seq {top}, line {last.line}) differs from the sealed head "
                   f"{expected_head[:16]}...: it was altered", last.line, top)
    if not report.issues and (report.lines, report.head) != (expected_count, expected_head):
        report.add("custody-edited", f"the log ({report.lines} lines, head {report.head[:16]}...) differs from the "
                   f"sealed log ({expected_count} entries, head {expected_head[:16]}...)")


def read_chain(path: Path, expected_count: int | None = None, expected_head: str | None = None) -> ChainReport:
    return check_chain(path.read_bytes(), expected_count, expected_head)
