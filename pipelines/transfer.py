"""What crosses between the parent and the worker processes (:mod:`pipelines.parallel`), as one blob per batch.

A batch of tasks and a batch of results each travel as a ``marshal`` of plain tuples (strings, numbers,
bytes, lists, dicts): far cheaper to make and to read than pickling the objects, whose classes pickle by
name and are rebuilt call by call. An entry goes as ``Entry.__reduce__``'s arguments, a decision as its
values, a result as its values with the digests, file type, problems and parser outcomes as tuples. A batch
holding anything else (an entry with a non-UTC time, a value of another type, a decision of a subclass) goes
pickled as it is.
"""
from __future__ import annotations

import marshal
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from devicex.entries import Entry, from_utc_states
from devicex.filetype import FileType
from devicex.hashing import Digests
from devicex.parsing import ParserSpec
from pipelines.process import ParserOutcome, Problem, Result
from pipelines.select import Decision

MARSHAL, PICKLE = b"M", b"P"
Task = tuple[Any, int, "str | None", "Decision | None", "bool | bytes | tuple[int, int]"]


def _entry_args(entry: Any) -> tuple[Any, ...] | None:
    """``from_utc_states``'s arguments for an entry (or the arguments themselves), None when it has none."""
    if not isinstance(entry, Entry):
        args: tuple[Any, ...] = entry
        return args
    rebuild, args = entry.__reduce__()
    return args if rebuild is from_utc_states else None


def encode_tasks(tasks: list[Task]) -> bytes:
    """A batch of tasks (entry or its compact arguments, file id, export name, decision, content) as a blob."""
    plain = []
    for entry, file_id, export_rel, decision, content in tasks:
        args = _entry_args(entry)
        if args is None or (decision is not None and type(decision) is not Decision):
            return PICKLE + pickle.dumps(_as_entries(tasks), pickle.HIGHEST_PROTOCOL)
        plain.append((args, file_id, export_rel,
                      None if decision is None else (decision.include, decision.reason, decision.records_only),
                      content))
    try:
        return MARSHAL + marshal.dumps(plain)
    except ValueError:  # a value marshal does not hold
        return PICKLE + pickle.dumps(_as_entries(tasks), pickle.HIGHEST_PROTOCOL)


def _as_entries(tasks: list[Task]) -> list[Task]:
    return [(entry if isinstance(entry, Entry) else from_utc_states(*entry), file_id, export_rel, decision, content)
            for entry, file_id, export_rel, decision, content in tasks]


def decode_tasks(blob: bytes) -> list[tuple[Entry, int, str | None, Decision | None, bool | bytes | tuple[int, int]]]:
    """The tasks of :func:`encode_tasks`' blob, each with its entry and decision made again."""
    if blob[:1] == PICKLE:
        tasks: list[tuple[Entry, int, str | None, Decision | None, bool | bytes | tuple[int, int]]]
        tasks = pickle.loads(memoryview(blob)[1:])
        return tasks
    return [(from_utc_states(*args), file_id, export_rel, None if decision is None else _decision(decision), content)
            for args, file_id, export_rel, decision, content in marshal.loads(memoryview(blob)[1:])]


def encode_results(results: list[Result]) -> bytes:
    """A worker's results (their entries left out: the parent has them) as a blob."""
    try:
        return MARSHAL + marshal.dumps([_result_values(r) for r in results])
    except ValueError:  # a value marshal (or this module) does not hold
        for result in results:
            result.entry = None  # type: ignore[assignment]  # the parent has it
            for outcome in result.parsed:
                outcome.spec = outcome.spec.name  # type: ignore[assignment]  # modules do not pickle
        return PICKLE + pickle.dumps(results, pickle.HIGHEST_PROTOCOL)


def _result_values(r: Result) -> tuple[Any, ...]:
    d, t, decision = r.digests, r.ftype, r.decision
    if decision is not None and type(decision) is not Decision:
        raise ValueError("a decision of another kind")  # (pickled as it is)
    return (r.file_id, r.export_rel, r.status,
            None if d is None else (d.md5, d.sha1, d.sha256, d.size),
            None if t is None else (t.mime, t.description, t.category, t.ext_mismatch),
            r.recovered, [outcome_values(o) for o in r.parsed], [(p.stage, p.severity, p.message) for p in r.problems],
            None if decision is None else (decision.include, decision.reason, decision.records_only),
            r.export_reused, r.byte_runs, r.attachments, r.databases)


def outcome_values(o: ParserOutcome) -> tuple[Any, ...]:
    """A parser outcome as plain values (its parser by name), given back by :func:`outcome_of`."""
    return (o.spec.name, o.rows, None if o.spool is None else str(o.spool), o.count, o.kinds, o.warnings, o.failed,
            o.left)


def decode_results(blob: bytes, entries: list[Entry], specs: Mapping[str, ParserSpec]) -> list[Result]:
    """The results of :func:`encode_results`' blob, each given its entry (in order) and its parsers."""
    if blob[:1] == PICKLE:
        results: list[Result] = pickle.loads(memoryview(blob)[1:])
        for entry, result in zip(entries, results, strict=True):
            result.entry = entry
            for outcome in result.parsed:
                outcome.spec = specs[outcome.spec]  # type: ignore[index]
        return results
    return [_result(specs, entry, *values)
            for entry, values in zip(entries, marshal.loads(memoryview(blob)[1:]), strict=True)]


def _result(specs: Mapping[str, ParserSpec], entry: Entry, file_id: int, export_rel: str | None, status: str,
            digests: tuple[str, str, str, int] | None, ftype: tuple[str, str, str, bool] | None, recovered: bool,
            parsed: list[tuple[Any, ...]], problems: list[tuple[str, str, str]],
            decision: tuple[bool, str, bool] | None, export_reused: bool, byte_runs: list[dict[str, int]] | None,
            attachments: list[str], databases: list[str]) -> Result:
    return Result(entry, file_id, export_rel, status, None if digests is None else Digests(*digests),
                  None if ftype is None else _FILETYPES.get(ftype) or _filetype(ftype), recovered,
                  [outcome_of(o, specs) for o in parsed] if parsed else [],
                  [Problem(*p) for p in problems] if problems else [],
                  None if decision is None else _DECISIONS.get(decision) or _decision(decision), export_reused,
                  byte_runs, attachments, databases)


def outcome_of(values: tuple[Any, ...], specs: Mapping[str, ParserSpec]) -> ParserOutcome:
    """The parser outcome of :func:`outcome_values`' values, its parser found in ``specs`` by name."""
    name, rows, spool, count, kinds, warnings, failed, left = values
    return ParserOutcome(specs[name], rows, None if spool is None else Path(spool), count, kinds, warnings, failed,
                         left)


_Made = TypeVar("_Made")


def _shared(made: dict[Any, _Made], values: tuple[Any, ...], make: Callable[..., _Made]) -> _Made:
    """The object ``make(*values)`` made earlier for the same values (immutable, so shared), else made now."""
    found = made.get(values)
    if found is None:
        if len(made) >= 4096:
            made.clear()
        found = made[values] = make(*values)
    return found


def _filetype(values: tuple[str, str, str, bool]) -> FileType:
    return _shared(_FILETYPES, values, FileType)


def _decision(values: tuple[bool, str, bool]) -> Decision:
    return _shared(_DECISIONS, values, Decision)


# file types and decisions met so far, shared by the results and tasks that carry the same (both immutable)
_FILETYPES: dict[tuple[str, str, str, bool], FileType] = {}
_DECISIONS: dict[tuple[bool, str, bool], Decision] = {}
