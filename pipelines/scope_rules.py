"""The rules of a scope selection, as checks on an entry's metadata and on
lazily read facts about its content (file type, EXIF time, one scan of the
whole stream for keywords, patterns and hashes)."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatch

from devicex.entries import Entry
from devicex.filetype import FileType
from devicex.scope import CATEGORIES, EXIF_HEAD_BYTES, MESSAGE_STORES, Scope, Selection, Window
from parsers import exif
from pipelines.content import Content

PATTERN_OVERLAP = 4096  # a content regex match may span a chunk boundary by up to this many bytes


@dataclass(frozen=True)
class ContentNeeds:
    """What the whole-stream scan looks for, over all selections of a scope (each once)."""

    keywords: tuple[str, ...]
    patterns: tuple[re.Pattern[bytes], ...]
    sha256: bool
    md5: bool

    @classmethod
    def of(cls, scope: Scope) -> ContentNeeds:
        patterns: list[re.Pattern[bytes]] = []
        for s in scope.selections:
            patterns += [p for p in s.content_patterns if p not in patterns]
        return cls(tuple(dict.fromkeys(k for s in scope.selections for k in s.content_keywords)), tuple(patterns),
                   any(s.sha256 for s in scope.selections), any(s.md5 for s in scope.selections))


@dataclass
class _ScanResult:
    keywords: set[str]
    patterns: set[int]
    sha256: str | None
    md5: str | None


class Facts:
    """What the rules may ask about one stream's content, each read at most once."""

    def __init__(self, needs: ContentNeeds, content: Content) -> None:
        self.needs = needs
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
            if self.ftype.mime in exif.MIME_TYPES:
                self._exif = exif.taken_fields(self.content.head(EXIF_HEAD_BYTES))
        return self._exif

    def scan(self) -> _ScanResult:
        if self._scan is None:
            self._scan = _scan(self.content, self.needs)
        return self._scan


def _scan(content: Content, needs: ContentNeeds) -> _ScanResult:
    """One pass over the whole stream for every content rule of the scope."""
    kw_needles: list[tuple[str, bytes]] = []
    for kw in needs.keywords:
        low = kw.lower()
        kw_needles.append((kw, low.encode("utf-8")))
        kw_needles.append((kw, low.encode("utf-16-le")))
    patterns = needs.patterns
    sha = hashlib.sha256() if needs.sha256 else None
    md5 = hashlib.md5() if needs.md5 else None
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
        if kw_needles and len(found_kw) < len(needs.keywords):
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
Check = Callable[[Entry, "Facts | None"], "bool | None"]


@dataclass(frozen=True)
class Rule:
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


def rules_for(sel: Selection, needs: ContentNeeds) -> list[Rule]:
    """The selection's rules, cheapest first."""
    rules = [*_name_rules(sel), *_type_rules(sel)]
    if sel.windows:
        rules.append(_window_rule(sel))
    rules.extend(_content_rules(sel, needs))
    rules.sort(key=lambda r: r.cost)  # stable: metadata rules first, then head, then whole stream
    return rules


def _name_rules(sel: Selection) -> list[Rule]:
    """Rules on the path and name alone (they read nothing)."""
    rules: list[Rule] = []
    if sel.paths:
        globs = sel.paths
        rules.append(Rule("paths", "outside included paths", 1,
                           lambda e, f: any(g.matches(e.path) for g in globs)))
    if sel.extensions:
        exts = sel.extensions
        rules.append(Rule("extensions", "extension not selected", 1, lambda e, f: e.extension in exts))
    if sel.name_keywords:
        kws = tuple(k.lower() for k in sel.name_keywords)
        rules.append(Rule("name_keywords", "name keywords not found", 1,
                           lambda e, f: any(k in e.name.lower() for k in kws)))
    if sel.name_patterns:
        pats = sel.name_patterns
        rules.append(Rule("name_patterns", "name patterns not matched", 1,
                           lambda e, f: any(p.search(e.name) for p in pats)))
    return rules


def _type_rules(sel: Selection) -> list[Rule]:
    """Rules on the file's signature (they read its head), and the message stores known by name."""
    rules: list[Rule] = []
    if sel.categories:
        messages = "messages" in sel.categories
        wanted = frozenset(CATEGORIES[c] for c in sel.categories if CATEGORIES[c] is not None)

        def categories(e: Entry, f: Facts | None) -> bool | None:
            if messages and _is_message_store(e.name):
                return True
            if not wanted:
                return False
            if f is None:
                return None
            return f.ftype.category in wanted

        rules.append(Rule("categories", "category not selected", 2 if wanted else 1, categories))
    if sel.mime_types:
        mimes = sel.mime_types

        def mime(e: Entry, f: Facts | None) -> bool | None:
            if f is None:
                return None
            m = f.ftype.mime
            return any(m == w or (w.endswith("/*") and m.startswith(w[:-1])) for w in mimes)

        rules.append(Rule("mime_types", "MIME type not selected", 2, mime))
    return rules


def _content_rules(sel: Selection, needs: ContentNeeds) -> list[Rule]:
    """Rules on the whole stream: keywords, patterns, hashes."""
    rules: list[Rule] = []
    if sel.content_keywords:
        kws_c = sel.content_keywords
        rules.append(Rule("content_keywords", "content keywords not found", 3,
                           lambda e, f: None if f is None else any(k in f.scan().keywords for k in kws_c)))
    if sel.content_patterns:
        idx = [needs.patterns.index(p) for p in sel.content_patterns]
        rules.append(Rule("content_patterns", "content patterns not matched", 3,
                           lambda e, f: None if f is None else any(i in f.scan().patterns for i in idx)))
    if sel.sha256 or sel.md5:
        sha, md5 = sel.sha256, sel.md5

        def hashes(e: Entry, f: Facts | None) -> bool | None:
            if f is None:
                return None
            s = f.scan()
            return (s.sha256 in sha) or (s.md5 in md5)

        rules.append(Rule("hashes", "hash not in list", 3, hashes))
    return rules


def _in(windows: tuple[Window, ...], when: datetime | None) -> bool:
    return when is not None and any(w.contains(when) for w in windows)


def _window_rule(sel: Selection) -> Rule:
    windows, times, assumed = sel.windows, sel.times, sel.exif_offset
    needs_exif = any(t.startswith("exif") for t in times)

    def check(e: Entry, f: Facts | None) -> bool | None:
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

    return Rule("windows", "outside date windows", 2 if needs_exif else 1, check)
