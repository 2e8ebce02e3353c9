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
"""
from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Protocol

from parsers import exif
from devicex.entries import KIND_DIR, KIND_VIRTUAL_DIR, ContentReader, Entry
from devicex.filetype import HEAD_SIZE, FileType, identify
from devicex.scope import CATEGORIES, EXIF_HEAD_BYTES, MESSAGE_STORES, Scope, Selection, Window

CHUNK = 1 << 20
PATTERN_OVERLAP = 4096  # a content regex match may span a chunk boundary by up to this many bytes
FOLDER_REASON = "folder with nothing in scope"
UNREADABLE_REASON = "content unreadable (needed by the scope)"
EXIF_MIMES = frozenset({"image/jpeg", "image/tiff", "image/heic", "image/heif", "image/webp",
                        "image/x-canon-cr2", "image/x-nikon-nef"})


@dataclass(frozen=True)
class Decision:
    include: bool
    reason: str  # the rule that decided (recorded per run as an exclusion count)


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

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason

    def decide(self, entry: Entry) -> Decision | None:
        return INCLUDE_ALL

    def decide_content(self, entry: Entry, content: Content | bytes) -> Decision:
        return INCLUDE_ALL

    def describe(self) -> dict[str, object]:
        return {"mode": "full"}


# ---------------------------------------------------------------- content access

class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, offset: int, size: int) -> bytes:
        return self._data[offset:offset + size]


class Content:
    """Lazy, counted access to one stream for selection.

    ``head(n)`` reads the first ``n`` bytes once; ``chunks()`` streams the whole
    content once (keeping a copy in ``memory`` when the stream is at most
    ``keep`` bytes). ``bytes_read`` counts what was read from the image;
    ``error`` holds the first read failure.
    """

    def __init__(self, entry: Entry, reader: ContentReader | None, keep: int = 0) -> None:
        self.entry = entry
        self.size = entry.size if reader is not None else 0
        self._reader = reader
        self._keep = keep
        self._head = b""
        self._head_want = 0
        self._ftype: FileType | None = None
        self.memory: bytes | None = None  # whole stream, when read completely and small enough
        self.bytes_read = 0
        self.error: str | None = None if reader is not None else "no content available"

    @classmethod
    def from_bytes(cls, entry: Entry, data: bytes) -> Content:
        c = cls(entry, _BytesReader(data), keep=len(data))
        c.size = len(data)
        return c

    def _read(self, offset: int, size: int) -> bytes:
        if self._reader is None or size <= 0:
            return b""
        try:
            data = self._reader.read(offset, size)
        except OSError as exc:
            self.error = self.error or (" ".join(str(exc).split()) or type(exc).__name__)
            return b""
        self.bytes_read += len(data)
        return data

    def head(self, n: int = HEAD_SIZE) -> bytes:
        n = min(n, self.size)
        if n > self._head_want:
            more = b""
            if len(self._head) == self._head_want:  # no short read so far
                more = self._read(len(self._head), n - len(self._head))
            self._head += more
            self._head_want = n
        return self._head[:n]

    @property
    def ftype(self) -> FileType:
        if self._ftype is None:
            self._ftype = identify(self.head(HEAD_SIZE)[:HEAD_SIZE], self.entry.extension)
        return self._ftype

    def chunks(self) -> Iterator[bytes]:
        """The whole stream once, in chunks (reusing the head already read)."""
        keep = bytearray() if self.size <= self._keep else None
        offset = 0
        complete = True
        while offset < self.size:
            if offset < len(self._head):
                data = self._head[offset:offset + CHUNK]
            else:
                data = self._read(offset, min(CHUNK, self.size - offset))
            if not data:
                complete = False
                break
            if keep is not None:
                keep += data
            offset += len(data)
            yield data
        if keep is not None and complete and self.error is None:
            self.memory = bytes(keep)

    def reader(self, original: ContentReader | None) -> ContentReader | None:
        """What the worker should read the stream from next: memory if the
        whole stream is already there, else the original reader."""
        if self.memory is not None and len(self.memory) == self.size:
            return _BytesReader(self.memory)
        return original


# ---------------------------------------------------------------- facts (lazy, per entry)

@dataclass
class _ScanResult:
    keywords: set[str]
    patterns: set[int]
    sha256: str | None
    md5: str | None


class _Facts:
    def __init__(self, selector: ScopeSelector, content: Content) -> None:
        self.sel = selector
        self.content = content
        self._exif: tuple[str | None, str | None] | None = None
        self._scan: _ScanResult | None = None

    @property
    def ftype(self) -> FileType:
        return self.content.ftype

    def exif(self) -> tuple[str | None, str | None]:
        """(DateTimeOriginal text, OffsetTimeOriginal text) from the first 128 KiB."""
        if self._exif is None:
            self._exif = (None, None)
            if self.ftype.mime in EXIF_MIMES:
                self._exif = exif.taken_fields(self.content.head(EXIF_HEAD_BYTES))
        return self._exif

    def scan(self) -> _ScanResult:
        if self._scan is None:
            self._scan = _scan(self.content, self.sel)
        return self._scan


def _scan(content: Content, selector: ScopeSelector) -> _ScanResult:
    """One pass over the whole stream for every content rule of the scope."""
    kw_needles: list[tuple[str, bytes]] = []
    for kw in selector.content_keywords:
        low = kw.lower()
        kw_needles.append((kw, low.encode("utf-8")))
        kw_needles.append((kw, low.encode("utf-16-le")))
    patterns = selector.content_patterns
    sha = hashlib.sha256() if selector.need_sha256 else None
    md5 = hashlib.md5() if selector.need_md5 else None
    found_kw: set[str] = set()
    found_pat: set[int] = set()
    overlap = max([len(n) for _, n in kw_needles] + ([PATTERN_OVERLAP] if patterns else [0]) + [1])
    tail = b""
    for chunk in content.chunks():
        if sha is not None:
            sha.update(chunk)
        if md5 is not None:
            md5.update(chunk)
        if not kw_needles and not patterns:
            continue
        window = tail + chunk
        if kw_needles and len(found_kw) < len(selector.content_keywords):
            folded = window.lower()
            for kw, needle in kw_needles:
                if kw not in found_kw and needle in folded:
                    found_kw.add(kw)
        for i, pat in enumerate(patterns):
            if i not in found_pat and pat.search(window):
                found_pat.add(i)
        tail = window[-overlap:]
    return _ScanResult(found_kw, found_pat, sha.hexdigest() if sha else None, md5.hexdigest() if md5 else None)


# ---------------------------------------------------------------- rules

# A rule check returns True (passes), False (fails) or None (needs content;
# only when called without facts). ``cost``: 1 metadata, 2 head, 3 whole stream.
Check = Callable[[Entry, "_Facts | None"], "bool | None"]


@dataclass(frozen=True)
class _Rule:
    name: str
    reason: str
    cost: int
    check: Check


def _is_message_store(name: str) -> bool:
    low = name.lower()
    for pattern in MESSAGE_STORES:
        p = pattern.lower()
        if fnmatch(low, p) or any(fnmatch(low, p + suffix) for suffix in ("-wal", "-journal", "-shm")):
            return True
    return False


_FS_TIMES = {"modified": "mtime", "accessed": "atime", "changed": "ctime", "created": "crtime"}


def _rules(sel: Selection, selector: ScopeSelector) -> list[_Rule]:
    rules: list[_Rule] = []
    if sel.paths:
        globs = sel.paths
        rules.append(_Rule("paths", "outside included paths", 1,
                           lambda e, f: any(g.matches(e.path) for g in globs)))
    if sel.extensions:
        exts = sel.extensions
        rules.append(_Rule("extensions", "extension not selected", 1, lambda e, f: e.extension in exts))
    if sel.name_keywords:
        kws = tuple(k.lower() for k in sel.name_keywords)
        rules.append(_Rule("name_keywords", "name keywords not found", 1,
                           lambda e, f: any(k in e.name.lower() for k in kws)))
    if sel.name_patterns:
        pats = sel.name_patterns
        rules.append(_Rule("name_patterns", "name patterns not matched", 1,
                           lambda e, f: any(p.search(e.name) for p in pats)))
    if sel.categories:
        messages = "messages" in sel.categories
        wanted = frozenset(CATEGORIES[c] for c in sel.categories if CATEGORIES[c] is not None)

        def categories(e: Entry, f: _Facts | None) -> bool | None:
            if messages and _is_message_store(e.name):
                return True
            if not wanted:
                return False
            if f is None:
                return None
            return f.ftype.category in wanted

        rules.append(_Rule("categories", "category not selected", 2 if wanted else 1, categories))
    if sel.mime_types:
        mimes = sel.mime_types

        def mime(e: Entry, f: _Facts | None) -> bool | None:
            if f is None:
                return None
            m = f.ftype.mime
            return any(m == w or (w.endswith("/*") and m.startswith(w[:-1])) for w in mimes)

        rules.append(_Rule("mime_types", "MIME type not selected", 2, mime))
    if sel.windows:
        rules.append(_window_rule(sel))
    if sel.content_keywords:
        kws_c = sel.content_keywords
        rules.append(_Rule("content_keywords", "content keywords not found", 3,
                           lambda e, f: None if f is None else any(k in f.scan().keywords for k in kws_c)))
    if sel.content_patterns:
        idx = [selector.content_patterns.index(p) for p in sel.content_patterns]
        rules.append(_Rule("content_patterns", "content patterns not matched", 3,
                           lambda e, f: None if f is None else any(i in f.scan().patterns for i in idx)))
    if sel.sha256 or sel.md5:
        sha, md5 = sel.sha256, sel.md5

        def hashes(e: Entry, f: _Facts | None) -> bool | None:
            if f is None:
                return None
            s = f.scan()
            return (s.sha256 in sha) or (s.md5 in md5)

        rules.append(_Rule("hashes", "hash not in list", 3, hashes))
    rules.sort(key=lambda r: r.cost)  # stable: metadata rules first, then head, then whole stream
    return rules


def _in(windows: tuple[Window, ...], when: datetime | None) -> bool:
    return when is not None and any(w.contains(when) for w in windows)


def _window_rule(sel: Selection) -> _Rule:
    windows, times, assumed = sel.windows, sel.times, sel.exif_offset
    needs_exif = any(t.startswith("exif") for t in times)

    def check(e: Entry, f: _Facts | None) -> bool | None:
        for t in times:
            if t in _FS_TIMES and _in(windows, getattr(e, _FS_TIMES[t])):
                return True
        if not needs_exif:
            return False
        if f is None:
            return None
        taken = exif.taken_utc(*f.exif(), assumed)
        if "exif_taken" in times and _in(windows, taken):
            return True
        if "exif_taken_or_modified" in times:
            return _in(windows, taken if taken is not None else e.mtime)
        return False

    return _Rule("windows", "outside date windows", 2 if needs_exif else 1, check)


# ---------------------------------------------------------------- the scope selector

class ScopeSelector:
    """Applies a :class:`devicex.scope.Scope`."""

    scoped = True

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.list_excluded = scope.list_excluded_metadata
        self.defer_folders = not scope.list_excluded_metadata
        self.content_keywords: tuple[str, ...] = tuple(dict.fromkeys(
            k for s in scope.selections for k in s.content_keywords))
        self.content_patterns: list[re.Pattern[bytes]] = []
        for s in scope.selections:
            for p in s.content_patterns:
                if p not in self.content_patterns:
                    self.content_patterns.append(p)
        self.need_sha256 = any(s.sha256 for s in scope.selections)
        self.need_md5 = any(s.md5 for s in scope.selections)
        self._rules = [(s, _rules(s, self)) for s in scope.selections]

    def describe(self) -> dict[str, object]:
        return self.scope.as_dict()

    def decide(self, entry: Entry) -> Decision | None:
        return self._verdict(entry, None)

    def decide_content(self, entry: Entry, content: Content | bytes) -> Decision:
        if isinstance(content, (bytes, bytearray)):
            content = Content.from_bytes(entry, bytes(content))
        verdict = self._verdict(entry, _Facts(self, content))
        assert verdict is not None
        return verdict

    def _verdict(self, entry: Entry, facts: _Facts | None) -> Decision | None:
        for glob in self.scope.exclude_paths:
            if glob.matches(entry.path):
                return Decision(False, f"excluded path {glob.pattern}")
        if entry.kind in (KIND_DIR, KIND_VIRTUAL_DIR):
            return INCLUDE_FOLDER  # recorded only if it comes to hold a taken file (defer_folders)
        failed: dict[int, str] = {}
        pending: list[tuple[Selection, list[_Rule]]] = []
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
            still: list[tuple[Selection, list[_Rule]]] = []
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
        return Decision(False, self._reason(failed))

    def _reason(self, failed: dict[int, str]) -> str:
        if len(self.scope.selections) == 1:
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
        tmp = target.with_name(f".{target.name}.part")
        tmp.write_bytes(data)
        tmp.replace(target)
    ref = target.relative_to(out).as_posix()
    return {"outputs": [Artefact("scope", ref, scope.sha256, len(data))],
            "details": {"mode": "scoped", "scope_file": scope.name, "scope_copy": ref,
                        "scope_sha256": scope.sha256, "title": scope.title,
                        "authorisation": scope.authorisation.as_dict(),
                        "list_excluded_metadata": scope.list_excluded_metadata, "reads": scope.needs()}}


__all__ = [
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
