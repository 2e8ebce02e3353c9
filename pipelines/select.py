"""Selection: which entries an extraction takes. Without a scope, everything
(a full extraction, recorded with its reason); with a scope
(:mod:`devicex.scope`), only what the scope's rules select.

The extraction loop asks :meth:`Selector.decide` for every entry, on
metadata alone. ``None`` means the scope needs content; the worker then
calls :meth:`Selector.decide_content` with a :class:`Content` that reads
lazily and only what the rules ask for: the first 8 KiB for signature rules,
the first 128 KiB for EXIF times of EXIF-capable types, the whole stream for
keyword/pattern/hash rules (one pass, kept in memory when small so an
included file is not read twice). Rules are checked cheapest first, so a file
failing a metadata rule is never read, and one failing a signature rule is
never read beyond its head.

Excluded entries are counted per :attr:`Decision.reason` (count and bytes);
they are never exported, parsed or recorded by name unless the scope sets
``list_excluded_metadata``. Folders are recorded only when they hold a taken
file (``defer_folders``).

Content access lives in :mod:`pipelines.content`, the scope's rules in
:mod:`pipelines.scope_rules`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import parsers
from devicex.entries import KIND_DIR, KIND_VIRTUAL_DIR, Entry
from devicex.fsutil import write_atomic
from devicex.scope import Scope, Selection
from pipelines.content import Content
from pipelines.record_scope import RecordScope
from pipelines.scope_rules import ContentNeeds, Facts, Rule, rules_for

FOLDER_REASON = "folder with nothing in scope"
UNREADABLE_REASON = "content unreadable (needed by the scope)"
NOT_COMMS_REASON = "not a communications database (only records are selected)"
COMMS_REASON = "communications database: selected records only, not exported"


@dataclass(frozen=True)
class Decision:
    include: bool
    reason: str  # the rule that decided (recorded per run as an exclusion count)
    records_only: bool = False  # a communications database: read and parsed, only selected records kept


class Selector(Protocol):
    #: record folders only once they hold a taken file
    defer_folders: bool
    #: record metadata rows (status "excluded") for excluded entries
    list_excluded: bool
    #: withhold names in problems that cannot be tied to a taken entry (walk problems)
    scoped: bool

    def decide(self, entry: Entry) -> Decision | None:
        """Decide on metadata alone, or ``None`` if content is needed."""
        ...

    def decide_content(self, entry: Entry, content: Content | bytes) -> Decision:
        """Decide with the stream's content (only called after ``decide`` returned None)."""
        ...

    def describe(self) -> dict[str, object]: ...


INCLUDE_ALL = Decision(True, "full extraction")
INCLUDE_FOLDER = Decision(True, "folder")


class FullSelector:
    """Takes everything."""

    defer_folders = False
    list_excluded = False
    scoped = False

    def decide(self, entry: Entry) -> Decision | None:
        return INCLUDE_ALL

    def decide_content(self, entry: Entry, content: Content | bytes) -> Decision:
        return INCLUDE_ALL

    def describe(self) -> dict[str, object]:
        return {"mode": "full"}


# ---------------------------------------------------------------- the scope selector

class ScopeSelector:
    """Applies a :class:`devicex.scope.Scope`."""

    scoped = True

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.list_excluded = scope.list_excluded_metadata
        self.defer_folders = not scope.list_excluded_metadata
        self.needs = ContentNeeds.of(scope)
        self._rules = [(s, rules_for(s, self.needs)) for s in scope.file_selections]
        #: the communications selections (records, not files), if any
        self.records = RecordScope(scope, parsers.registry()) if scope.comms_selections else None

    def describe(self) -> dict[str, object]:
        return self.scope.as_dict()

    def decide(self, entry: Entry) -> Decision | None:
        return self._verdict(entry, None)

    def decide_content(self, entry: Entry, content: Content | bytes) -> Decision:
        if isinstance(content, (bytes, bytearray)):
            content = Content.from_bytes(entry, bytes(content))
        verdict = self._verdict(entry, Facts(self.needs, content))
        assert verdict is not None
        return verdict

    def _verdict(self, entry: Entry, facts: Facts | None) -> Decision | None:
        for glob in self.scope.exclude_paths:
            if glob.matches(entry.path):
                return Decision(False, f"excluded path {glob.pattern}")
        if entry.kind in (KIND_DIR, KIND_VIRTUAL_DIR):
            return INCLUDE_FOLDER  # recorded only if it comes to hold a taken file (defer_folders)
        failed: dict[int, str] = {}
        pending: list[tuple[Selection, list[Rule]]] = []
        for sel, rules in self._rules:
            later = []
            for rule in rules:
                result = rule.check(entry, None)  # rules needing content say None (or True if metadata suffices)
                if result is False:
                    failed[sel.index] = rule.reason
                    break
                if result is None:
                    later.append(rule)
            else:
                if not later:
                    return Decision(True, sel.title)
                pending.append((sel, later))
        if pending and facts is None:
            return None
        for cost in (2, 3):
            still: list[tuple[Selection, list[Rule]]] = []
            for sel, rules in pending:
                rest = []
                for rule in rules:
                    if rule.cost > cost:
                        rest.append(rule)
                        continue
                    if not rule.check(entry, facts):
                        reason = rule.reason
                        if facts is not None and facts.content.error is not None:
                            reason = UNREADABLE_REASON
                        failed[sel.index] = reason
                        break
                else:
                    if not rest:
                        return Decision(True, sel.title)
                    still.append((sel, rest))
            pending = still
            if not pending:
                break
        if self.records is not None and self.records.source(entry):
            return Decision(True, COMMS_REASON, records_only=True)
        return Decision(False, self._reason(failed))

    def _reason(self, failed: dict[int, str]) -> str:
        if not failed:
            return NOT_COMMS_REASON
        if len(failed) == 1 and len(self._rules) == 1:
            return next(iter(failed.values()))
        return "no selection matched (" + "; ".join(f"{i}: {failed[i]}" for i in sorted(failed)) + ")"


# ---------------------------------------------------------------- custody of the scope

def scope_custody(out: Path, selector: Any, full_reason: str | None) -> dict[str, Any]:
    """Copy a scope file into ``OUT/data/scope/`` (for the bundle) and return
    the keyword arguments of the custody ``scope`` entry (details, outputs)."""
    from devicex.custody import Artefact

    scope: Scope | None = getattr(selector, "scope", None)
    if scope is None:
        return {"result": "ok" if full_reason else "no-reason-given",
                "details": {"mode": "full", "full_extraction_reason": full_reason}}
    data = scope.text.encode("utf-8")
    folder = out / "data" / "scope"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / scope.name
    if target.exists() and target.read_bytes() != data:
        stem, dot, ext = scope.name.rpartition(".")
        target = folder / (f"{stem}.{scope.sha256[:12]}.{ext}" if dot and stem else f"{scope.name}.{scope.sha256[:12]}")
    if not target.exists():
        write_atomic(target, data)
    ref = target.relative_to(out).as_posix()
    return {"outputs": [Artefact("scope", ref, scope.sha256, len(data))],
            "details": {"mode": "scoped", "scope_file": scope.name, "scope_copy": ref,
                        "scope_sha256": scope.sha256, "title": scope.title,
                        "authorisation": scope.authorisation.as_dict(),
                        "list_excluded_metadata": scope.list_excluded_metadata, "reads": scope.needs()}}


__all__ = [
    "COMMS_REASON",
    "FOLDER_REASON",
    "INCLUDE_ALL",
    "UNREADABLE_REASON",
    "Content",
    "Decision",
    "FullSelector",
    "ScopeSelector",
    "Selector",
    "scope_custody",
]
