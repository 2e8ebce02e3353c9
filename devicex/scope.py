"""The extraction scope: what an authorised, proportionate extraction may take.

A scope is a TOML file (read with the standard library's ``tomllib``) with an
``[authorisation]`` table (legal basis, reference, authorising officer,
purpose, the device user's agreement and Digital Processing Notice, less
intrusive means considered) and one or more ``[[select]]`` tables saying what
to take. A file is taken when it matches ANY selection; it matches a
selection when it passes ALL of that selection's rules; ``[exclude] paths``
are never taken, whatever the selections say. Example::

    scope_version = 1

    [authorisation]
    legal_basis = "PCSC 2022 s.37"
    reference = "OP-ALDER/DPA/0193"
    authorised_by = "DS 4711 Jane Okafor"
    purpose = "Photos the complainant says were taken on 12 August 2023"
    user_agreement = true
    dpn_reference = "DPN-2023-0812-01"
    less_intrusive_means = "Screenshots offered by the complainant: no metadata"

    [[select]]
    paths = ["DCIM/**"]
    categories = ["images"]
    windows = [{ start = 2023-08-12, end = 2023-08-12 }]
    times = ["exif_taken_or_modified"]

    [exclude]
    paths = ["Android/data/**"]

Validation is strict and happens before any evidence is read: unknown keys,
wrong types, bad dates, windows ending before they start, empty selections
or lists, bad regular expressions, bad globs and bad hashes are each reported
as one :class:`ScopeError` naming the file, the key and the problem.
Positions in key names (``select[2].windows[1]``) count from 1.

Rules and what they need to read (cheapest first; a file is counted under the
first rule it was seen to fail, metadata rules being checked before content):

* metadata only (nothing read): ``paths``, ``extensions``, ``name_keywords``,
  ``name_patterns``, the ``messages`` category (known message-store file
  names), ``windows`` over file-system times;
* the first 8 KiB (file signature): ``categories``, ``mime_types``;
* the first 128 KiB (EXIF): ``windows`` with ``exif_taken`` times;
* the whole stream: ``content_keywords``, ``content_patterns``, ``sha256``,
  ``md5``.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

UTC = UTC
SCOPE_VERSION = 1

TIME_KINDS = {
    "modified": "modified time",
    "accessed": "accessed time",
    "changed": "metadata-change time",
    "created": "created (birth) time",
    "exif_taken": "EXIF time taken",
    "exif_taken_or_modified": "EXIF time taken (modified time when there is none)",
}
DEFAULT_TIMES = ("modified",)

# scope category -> devicex.filetype category (None: decided by file name)
CATEGORIES: dict[str, str | None] = {
    "images": "image", "videos": "video", "audio": "audio", "documents": "document", "text": "text",
    "archives": "archive", "databases": "database", "executables": "executable", "other": "other",
    "messages": None,
}
_CATEGORY_ALIASES = {"image": "images", "video": "videos", "document": "documents", "archive": "archives",
                     "database": "databases", "executable": "executables", "message": "messages"}
# Known message stores (SMS/MMS, chat apps), matched on the file name, case-insensitive;
# their SQLite companions (-wal, -journal, -shm) count too.
MESSAGE_STORES = ("mmssms.db", "bugle_db", "msgstore.db", "msgstore*.db.crypt*", "sms.db", "chat.db",
                  "ChatStorage.sqlite", "cache4.db", "threads_db2", "signal.db", "signal*.db")

HEAD_BYTES = 8192  # enough for file signatures (libmagic)
EXIF_HEAD_BYTES = 128 * 1024  # enough for a JPEG's APP1 (EXIF) segment

_TOP_KEYS = {"scope_version", "title", "authorisation", "select", "exclude", "output"}
_AUTH_KEYS = {"legal_basis", "reference", "authorised_by", "purpose", "user_agreement", "dpn_reference",
              "less_intrusive_means", "authorised_on", "notes"}
_AUTH_REQUIRED = ("legal_basis", "reference", "authorised_by", "purpose", "user_agreement",
                  "less_intrusive_means")
_RULE_KEYS = ("paths", "extensions", "name_keywords", "name_patterns", "categories", "mime_types", "windows",
              "content_keywords", "content_patterns", "sha256", "md5")
_SELECT_KEYS = {"label", "times", "exif_offset", *_RULE_KEYS}
_WINDOW_KEYS = {"start", "end"}
_EXCLUDE_KEYS = {"paths"}
_OUTPUT_KEYS = {"list_excluded_metadata"}
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$")
_OFFSET_RE = re.compile(r"^(Z|[+-](\d{2}):(\d{2}))$")
_HEX = set("0123456789abcdef")


class ScopeError(ValueError):
    """A scope file that cannot be used: one line naming file, key and problem."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + problem)
        self.source, self.key, self.problem = source, key, problem


@dataclass(frozen=True)
class Glob:
    """A path glob anchored at the file-system root: ``*`` and ``?`` stay within
    one name, ``**`` (a whole component) spans any number of folders, ``[..]``
    is a character class; matching ignores case (phones' shared storage does)."""

    pattern: str
    regex: re.Pattern[str] = field(compare=False)

    def matches(self, path: str) -> bool:
        return self.regex.fullmatch(path.lstrip("/")) is not None


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime  # inclusive

    def contains(self, when: datetime) -> bool:
        return self.start <= when <= self.end

    def text(self) -> str:
        return f"{_show_time(self.start)} to {_show_time(self.end)}"


@dataclass(frozen=True)
class Selection:
    index: int
    label: str | None = None
    paths: tuple[Glob, ...] = ()
    extensions: frozenset[str] = frozenset()
    name_keywords: tuple[str, ...] = ()
    name_patterns: tuple[re.Pattern[str], ...] = ()
    categories: frozenset[str] = frozenset()  # scope names (plural)
    mime_types: tuple[str, ...] = ()
    windows: tuple[Window, ...] = ()
    times: tuple[str, ...] = DEFAULT_TIMES
    exif_offset: timezone = UTC
    content_keywords: tuple[str, ...] = ()
    content_patterns: tuple[re.Pattern[bytes], ...] = ()
    sha256: frozenset[str] = frozenset()
    md5: frozenset[str] = frozenset()

    @property
    def title(self) -> str:
        return f"selection {self.index}" + (f" ({self.label})" if self.label else "")

    def needs(self) -> str:
        """What this selection reads at most: "metadata", "head" or "content"."""
        if self.content_keywords or self.content_patterns or self.sha256 or self.md5:
            return "content"
        if (self.categories - {"messages"}) or self.mime_types or (
                self.windows and any(t.startswith("exif") for t in self.times)):
            return "head"
        return "metadata"

    @property
    def head_bytes(self) -> int:
        if self.windows and any(t.startswith("exif") for t in self.times):
            return EXIF_HEAD_BYTES
        return HEAD_BYTES


@dataclass(frozen=True)
class Authorisation:
    legal_basis: str
    reference: str
    authorised_by: str
    purpose: str
    user_agreement: bool
    less_intrusive_means: str
    dpn_reference: str | None = None
    authorised_on: date | None = None
    notes: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"legal_basis": self.legal_basis, "reference": self.reference,
                "authorised_by": self.authorised_by, "purpose": self.purpose,
                "user_agreement": self.user_agreement, "dpn_reference": self.dpn_reference,
                "less_intrusive_means": self.less_intrusive_means,
                "authorised_on": self.authorised_on.isoformat() if self.authorised_on else None,
                "notes": self.notes}


@dataclass(frozen=True)
class Scope:
    name: str  # the scope file's name
    text: str  # the file's text, exactly as read
    sha256: str  # of the file's bytes
    authorisation: Authorisation
    selections: tuple[Selection, ...]
    exclude_paths: tuple[Glob, ...] = ()
    list_excluded_metadata: bool = False
    title: str | None = None

    def needs(self) -> str:
        order = ("metadata", "head", "content")
        return max((s.needs() for s in self.selections), key=order.index)

    @property
    def head_bytes(self) -> int:
        return max(s.head_bytes for s in self.selections)

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable summary (run parameters, custody details)."""
        return {
            "mode": "scoped", "scope_file": self.name, "scope_sha256": self.sha256, "title": self.title,
            "authorisation": self.authorisation.as_dict(),
            "selections": [_selection_dict(s) for s in self.selections],
            "exclude_paths": [g.pattern for g in self.exclude_paths],
            "list_excluded_metadata": self.list_excluded_metadata, "reads": self.needs(),
        }

    def describe(self) -> str:
        """What the scope will and will not take, in plain English."""
        a = self.authorisation
        lines = [f"Scope {self.name} (SHA-256 {self.sha256})"]
        if self.title:
            lines.append(f"  {self.title}")
        lines += ["", "Authorisation",
                  f"  Legal basis: {a.legal_basis}", f"  Authorisation reference: {a.reference}",
                  f"  Authorised by: {a.authorised_by}"
                  + (f" on {a.authorised_on.isoformat()}" if a.authorised_on else ""),
                  f"  Purpose / line of enquiry: {a.purpose}",
                  "  Device user's written agreement: "
                  + (f"obtained (Digital Processing Notice {a.dpn_reference})" if a.user_agreement
                     else "not obtained" + (f" (Digital Processing Notice {a.dpn_reference})"
                                            if a.dpn_reference else "")),
                  f"  Less intrusive means considered: {a.less_intrusive_means}"]
        if a.notes:
            lines.append(f"  Notes: {a.notes}")
        lines += ["", "What will be taken"]
        if len(self.selections) > 1:
            lines.append(f"  A file is taken if it matches ANY of these {len(self.selections)} selections:")
        for sel in self.selections:
            lines.append(f"  {sel.title[0].upper()}{sel.title[1:]}: a file is taken only if ALL of these hold:")
            lines += [f"    - {text}" for text in _selection_sentences(sel)]
        lines += ["", "What will never be taken"]
        if self.exclude_paths:
            lines.append("  Anything whose path matches " + _or_list(g.pattern for g in self.exclude_paths)
                         + ", even if a selection matches it.")
        lines += ["  Everything that no selection matches. It is left in the image: not exported, not parsed,",
                  "  and not read beyond what the rules below need to decide. Only the number of such files",
                  "  and their total size are recorded, per rule that excluded them"
                  + (", together with their names and file-system metadata (list_excluded_metadata = true)."
                     if self.list_excluded_metadata else "; not their names or content."),
                  "  Folders are recorded only when they hold a file that is taken.",
                  "", "What is read to decide"]
        need = self.needs()
        if need == "metadata":
            lines.append("  File-system metadata only (names, paths, sizes, times): no file content is read "
                         "to decide.")
        else:
            if any(s.needs() != "metadata" for s in self.selections):
                lines.append("  File-system metadata first; content only for files that pass the metadata rules:")
            if any((s.categories - {"messages"}) or s.mime_types for s in self.selections):
                lines.append("  - file type rules (categories, MIME types) read the first 8 KiB (the signature);")
            if any(s.windows and any(t.startswith("exif") for t in s.times) for s in self.selections):
                lines.append("  - EXIF time taken is read from the first 128 KiB;")
            if any(s.content_keywords or s.content_patterns for s in self.selections):
                lines.append("  - keyword and pattern rules read the whole file (stored bytes, UTF-8 and "
                             "UTF-16LE for keywords; no decompression);")
            if any(s.sha256 or s.md5 for s in self.selections):
                lines.append("  - hash rules read and hash the whole file.")
        return "\n".join(lines)


# ---------------------------------------------------------------- plain English

def _show_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _or_list(items: Any) -> str:
    items = [str(i) for i in items]
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]


def _selection_sentences(sel: Selection) -> list[str]:
    out = []
    if sel.paths:
        out.append("its path matches " + _or_list(g.pattern for g in sel.paths))
    if sel.extensions:
        out.append("its name ends in " + _or_list(f".{e}" for e in sorted(sel.extensions)))
    if sel.name_keywords:
        out.append("its name contains " + _or_list(repr(k) for k in sel.name_keywords) + " (any case)")
    if sel.name_patterns:
        out.append("its name matches the regular expression " + _or_list(repr(p.pattern) for p in sel.name_patterns))
    if sel.categories:
        cats = [_CATEGORY_WORDS[c] for c in sorted(sel.categories - {"messages"})]
        if cats:
            cats[-1] += " (type by file signature, not by name)"
        if "messages" in sel.categories:
            cats.append(_CATEGORY_WORDS["messages"])
        out.append("it is " + _or_list(cats))
    if sel.mime_types:
        out.append("its file signature's MIME type is " + _or_list(sel.mime_types))
    if sel.windows:
        times = _or_list(TIME_KINDS[t] for t in sel.times)
        text = (f"its {times} falls within " + _or_list(w.text() for w in sel.windows)
                + " (inclusive; a file without such a time is not taken")
        if any(t.startswith("exif") for t in sel.times):
            off = sel.exif_offset.utcoffset(None)
            text += f"; EXIF times recorded without a UTC offset are read as UTC{_show_offset(off)}"
        out.append(text + ")")
    if sel.content_keywords:
        out.append("its content contains " + _or_list(repr(k) for k in sel.content_keywords) + " (any case)")
    if sel.content_patterns:
        out.append("its content matches the regular expression "
                   + _or_list(repr(p.pattern.decode("utf-8", "replace")) for p in sel.content_patterns))
    if sel.sha256 or sel.md5:
        parts = []
        if sel.sha256:
            parts.append(f"{len(sel.sha256)} SHA-256 value(s)")
        if sel.md5:
            parts.append(f"{len(sel.md5)} MD5 value(s)")
        out.append("its hash is in the list of " + " or ".join(parts))
    return out


_CATEGORY_WORDS = {
    "images": "an image", "videos": "a video", "audio": "an audio file", "documents": "a document",
    "text": "a text file", "archives": "an archive", "databases": "a database", "executables": "a program",
    "other": "of another type", "messages": "a message store (known SMS/chat database file names)",
}


def _show_offset(off: timedelta | None) -> str:
    if not off:
        return ""
    total = int(off.total_seconds()) // 60
    sign = "+" if total >= 0 else "-"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def _selection_dict(sel: Selection) -> dict[str, Any]:
    from devicex.timeutil import iso
    return {
        "index": sel.index, "label": sel.label, "paths": [g.pattern for g in sel.paths],
        "extensions": sorted(sel.extensions), "name_keywords": list(sel.name_keywords),
        "name_patterns": [p.pattern for p in sel.name_patterns], "categories": sorted(sel.categories),
        "mime_types": list(sel.mime_types),
        "windows": [{"start": iso(w.start), "end": iso(w.end)} for w in sel.windows],
        "times": list(sel.times), "exif_offset": _show_offset(sel.exif_offset.utcoffset(None)) or "+00:00",
        "content_keywords": list(sel.content_keywords),
        "content_patterns": [p.pattern.decode("utf-8", "replace") for p in sel.content_patterns],
        "sha256": sorted(sel.sha256), "md5": sorted(sel.md5), "reads": sel.needs(),
    }


# ---------------------------------------------------------------- parsing

def load(path: Path | str) -> Scope:
    """Read and validate a scope file; raises :class:`ScopeError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScopeError(str(path), None, f"cannot read the scope file: {exc.strerror or exc}") from None
    return parse_bytes(raw, str(path), path.name)


def parse_bytes(raw: bytes, source: str = "<scope>", name: str | None = None) -> Scope:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScopeError(source, None, f"not UTF-8 text (byte {exc.start})") from None
    return _parse(text, hashlib.sha256(raw).hexdigest(), source, name or Path(source).name)


def parse_text(text: str, source: str = "<scope>", name: str | None = None) -> Scope:
    return _parse(text, hashlib.sha256(text.encode("utf-8")).hexdigest(), source, name or Path(source).name)


def _parse(text: str, sha256: str, source: str, name: str) -> Scope:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScopeError(source, None, f"not valid TOML: {exc}") from None
    v = _Validator(source)
    v.keys(doc, _TOP_KEYS, None)
    version = doc.get("scope_version", SCOPE_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version != SCOPE_VERSION:
        raise ScopeError(source, "scope_version", f"unsupported version {version!r} (this devicex reads {SCOPE_VERSION})")
    title = v.opt_str(doc, "title", None)
    if "authorisation" not in doc:
        raise ScopeError(source, "authorisation", "missing: a scope must record its authorisation "
                                                  "(legal basis, reference, officer, purpose, ...)")
    auth = v.authorisation(v.table(doc, "authorisation", None), "authorisation")
    if "select" not in doc:
        raise ScopeError(source, "select", "missing: a scope must say what to take with at least one [[select]] "
                                           "table (for a full extraction use --full-extraction-reason, no scope)")
    selects = doc["select"]
    if not isinstance(selects, list) or not selects:
        raise ScopeError(source, "select", "must be one or more [[select]] tables")
    selections = tuple(v.selection(s, i) for i, s in enumerate(selects, 1))
    exclude_paths: tuple[Glob, ...] = ()
    if "exclude" in doc:
        excl = v.table(doc, "exclude", None)
        v.keys(excl, _EXCLUDE_KEYS, "exclude")
        if "paths" not in excl:
            raise ScopeError(source, "exclude.paths", "missing (or remove the empty [exclude] table)")
        exclude_paths = tuple(compile_glob(p, source, f"exclude.paths[{i}]")
                              for i, p in enumerate(v.str_list(excl, "paths", "exclude"), 1))
    listed = False
    if "output" in doc:
        out = v.table(doc, "output", None)
        v.keys(out, _OUTPUT_KEYS, "output")
        listed = v.opt_bool(out, "list_excluded_metadata", "output", False)
    return Scope(name=name, text=text, sha256=sha256, authorisation=auth, selections=selections,
                 exclude_paths=exclude_paths, list_excluded_metadata=listed, title=title)


def _key(parent: str | None, key: str) -> str:
    return f"{parent}.{key}" if parent else key


class _Validator:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str | None, problem: str) -> ScopeError:
        return ScopeError(self.source, key, problem)

    def keys(self, table: dict[str, Any], allowed: set[str], parent: str | None) -> None:
        for key in table:
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                raise self.fail(_key(parent, key), f"unknown key (allowed here: {hint})")

    def table(self, doc: dict[str, Any], key: str, parent: str | None) -> dict[str, Any]:
        value = doc[key]
        if not isinstance(value, dict):
            raise self.fail(_key(parent, key), "must be a table")
        return value

    def opt_str(self, doc: dict[str, Any], key: str, parent: str | None) -> str | None:
        if key not in doc:
            return None
        return self.req_str(doc, key, parent)

    def req_str(self, doc: dict[str, Any], key: str, parent: str | None) -> str:
        if key not in doc:
            raise self.fail(_key(parent, key), "missing (required)")
        value = doc[key]
        if not isinstance(value, str):
            raise self.fail(_key(parent, key), f"must be text in quotes, not {_tname(value)}")
        if not value.strip():
            raise self.fail(_key(parent, key), "must not be empty")
        return value.strip()

    def opt_bool(self, doc: dict[str, Any], key: str, parent: str | None, default: bool) -> bool:
        if key not in doc:
            return default
        value = doc[key]
        if not isinstance(value, bool):
            raise self.fail(_key(parent, key), f"must be true or false, not {_tname(value)}")
        return value

    def str_list(self, doc: dict[str, Any], key: str, parent: str | None) -> list[str]:
        value = doc[key]
        full = _key(parent, key)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(full, f"must be a list of texts, not {_tname(value)}")
        if not value:
            raise self.fail(full, "empty list: remove the key, or list at least one value")
        for i, item in enumerate(value, 1):
            if not isinstance(item, str):
                raise self.fail(f"{full}[{i}]", f"must be text in quotes, not {_tname(item)}")
            if not item.strip():
                raise self.fail(f"{full}[{i}]", "must not be empty")
        return [item.strip() for item in value]

    def authorisation(self, doc: dict[str, Any], parent: str) -> Authorisation:
        self.keys(doc, _AUTH_KEYS, parent)
        for key in _AUTH_REQUIRED:
            if key not in doc:
                raise self.fail(_key(parent, key), "missing (required)")
        agreement = self.opt_bool(doc, "user_agreement", parent, False)
        dpn = self.opt_str(doc, "dpn_reference", parent)
        if agreement and not dpn:
            raise self.fail(_key(parent, "dpn_reference"),
                            "missing: give the Digital Processing Notice reference when user_agreement = true")
        on = None
        if "authorised_on" in doc:
            value = doc["authorised_on"]
            if isinstance(value, str):
                try:
                    value = date.fromisoformat(value)
                except ValueError:
                    raise self.fail(_key(parent, "authorised_on"), f"bad date {value!r} (use YYYY-MM-DD)") from None
            if isinstance(value, datetime):
                value = value.date()
            if not isinstance(value, date):
                raise self.fail(_key(parent, "authorised_on"), f"must be a date (YYYY-MM-DD), not {_tname(value)}")
            on = value
        return Authorisation(
            legal_basis=self.req_str(doc, "legal_basis", parent), reference=self.req_str(doc, "reference", parent),
            authorised_by=self.req_str(doc, "authorised_by", parent), purpose=self.req_str(doc, "purpose", parent),
            user_agreement=agreement, less_intrusive_means=self.req_str(doc, "less_intrusive_means", parent),
            dpn_reference=dpn, authorised_on=on, notes=self.opt_str(doc, "notes", parent))

    def selection(self, doc: Any, index: int) -> Selection:
        parent = f"select[{index}]"
        if not isinstance(doc, dict):
            raise self.fail(parent, "must be a table")
        self.keys(doc, _SELECT_KEYS, parent)
        if not any(k in doc for k in _RULE_KEYS):
            raise self.fail(parent, "empty selection: it has no rule, so it would take everything. Give at least "
                                    "one of " + ", ".join(_RULE_KEYS)
                                    + " (for a full extraction use --full-extraction-reason, no scope)")
        kw: dict[str, Any] = {"index": index, "label": self.opt_str(doc, "label", parent)}
        if "paths" in doc:
            kw["paths"] = tuple(compile_glob(p, self.source, f"{parent}.paths[{i}]")
                                for i, p in enumerate(self.str_list(doc, "paths", parent), 1))
        if "extensions" in doc:
            exts = set()
            for i, e in enumerate(self.str_list(doc, "extensions", parent), 1):
                e = e.lower().lstrip(".")
                if not e or "/" in e or "\\" in e or any(c.isspace() for c in e):
                    raise self.fail(f"{parent}.extensions[{i}]", f"bad extension {e!r} (write e.g. \"jpg\")")
                exts.add(e)
            kw["extensions"] = frozenset(exts)
        if "name_keywords" in doc:
            kw["name_keywords"] = tuple(self.str_list(doc, "name_keywords", parent))
        if "name_patterns" in doc:
            kw["name_patterns"] = tuple(self.regex(p, f"{parent}.name_patterns[{i}]")
                                        for i, p in enumerate(self.str_list(doc, "name_patterns", parent), 1))
        if "categories" in doc:
            cats = set()
            for i, c in enumerate(self.str_list(doc, "categories", parent), 1):
                c = _CATEGORY_ALIASES.get(c.lower(), c.lower())
                if c not in CATEGORIES:
                    raise self.fail(f"{parent}.categories[{i}]",
                                    f"unknown category {c!r} (known: {', '.join(CATEGORIES)})")
                cats.add(c)
            kw["categories"] = frozenset(cats)
        if "mime_types" in doc:
            mimes = []
            for i, m in enumerate(self.str_list(doc, "mime_types", parent), 1):
                m = m.lower()
                if not _MIME_RE.match(m):
                    raise self.fail(f"{parent}.mime_types[{i}]",
                                    f"bad MIME type {m!r} (write e.g. \"image/jpeg\" or \"video/*\")")
                mimes.append(m)
            kw["mime_types"] = tuple(mimes)
        if "windows" in doc:
            kw["windows"] = self.windows(doc["windows"], f"{parent}.windows")
        if "times" in doc:
            if "windows" not in doc:
                raise self.fail(f"{parent}.times", "only meaningful with windows (add windows or remove times)")
            times = []
            for i, t in enumerate(self.str_list(doc, "times", parent), 1):
                if t not in TIME_KINDS:
                    raise self.fail(f"{parent}.times[{i}]", f"unknown time {t!r} (known: {', '.join(TIME_KINDS)})")
                if t not in times:
                    times.append(t)
            kw["times"] = tuple(times)
        if "exif_offset" in doc:
            value = doc["exif_offset"]
            om = _OFFSET_RE.match(value) if isinstance(value, str) else None
            if not om:
                raise self.fail(f"{parent}.exif_offset", f"bad UTC offset {value!r} (write e.g. \"+01:00\" or \"Z\")")
            if value == "Z":
                kw["exif_offset"] = UTC
            else:
                hours, minutes = int(om.group(2)), int(om.group(3))
                if hours > 14 or minutes > 59:
                    raise self.fail(f"{parent}.exif_offset", f"bad UTC offset {value!r}")
                delta = timedelta(hours=hours, minutes=minutes)
                kw["exif_offset"] = timezone(delta if value[0] == "+" else -delta)
        if "content_keywords" in doc:
            kw["content_keywords"] = tuple(self.str_list(doc, "content_keywords", parent))
        if "content_patterns" in doc:
            kw["content_patterns"] = tuple(
                self.regex(p, f"{parent}.content_patterns[{i}]", binary=True)
                for i, p in enumerate(self.str_list(doc, "content_patterns", parent), 1))
        for algo, digits in (("sha256", 64), ("md5", 32)):
            if algo in doc:
                values = set()
                for i, h in enumerate(self.str_list(doc, algo, parent), 1):
                    h = h.lower()
                    if len(h) != digits or not set(h) <= _HEX:
                        raise self.fail(f"{parent}.{algo}[{i}]",
                                        f"bad hash {h!r}: a {algo.upper()} is {digits} hexadecimal digits")
                    values.add(h)
                kw[algo] = frozenset(values)
        return Selection(**kw)

    def regex(self, pattern: str, key: str, binary: bool = False) -> Any:
        try:
            if binary:
                return re.compile(pattern.encode("utf-8"), re.IGNORECASE)
            return re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise self.fail(key, f"bad regular expression {pattern!r}: {exc}") from None

    def windows(self, value: Any, key: str) -> tuple[Window, ...]:
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(key, "must be a list of { start = ..., end = ... } tables")
        if not value:
            raise self.fail(key, "empty list: remove the key, or give at least one window")
        out = []
        for i, w in enumerate(value, 1):
            wkey = f"{key}[{i}]"
            if not isinstance(w, dict):
                raise self.fail(wkey, "must be a table like { start = 2024-03-01, end = 2024-03-31 }")
            self.keys(w, _WINDOW_KEYS, wkey)
            for part in ("start", "end"):
                if part not in w:
                    raise self.fail(f"{wkey}.{part}", "missing (a window needs both start and end)")
            start = self.when(w["start"], f"{wkey}.start", end=False)
            end = self.when(w["end"], f"{wkey}.end", end=True)
            if end < start:
                raise self.fail(wkey, f"ends ({_show_time(end)}) before it starts ({_show_time(start)})")
            out.append(Window(start, end))
        return tuple(out)

    def when(self, value: Any, key: str, *, end: bool) -> datetime:
        if isinstance(value, str):
            text = value.strip()
            try:
                if len(text) == 10:
                    value = date.fromisoformat(text)
                else:
                    value = datetime.fromisoformat(text)
            except ValueError:
                raise self.fail(key, f"bad date {text!r} (use 2024-03-01 or 2024-03-01T09:30:00Z)") from None
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise self.fail(key, f"date-time {value.isoformat()} has no UTC offset (add Z or e.g. +01:00)")
            return value.astimezone(UTC)
        if isinstance(value, date):
            if end:  # a date as the end of a window means the whole of that day
                return datetime.combine(value, time(23, 59, 59, 999999), UTC)
            return datetime.combine(value, time(0, 0), UTC)
        raise self.fail(key, f"must be a date (2024-03-01) or date-time with offset, not {_tname(value)}")


def _tname(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime, date, time)):
        return "a date/time"
    return type(value).__name__


def compile_glob(pattern: str, source: str = "<scope>", key: str = "paths") -> Glob:
    """Validate and compile a path glob (see :class:`Glob`)."""
    text = pattern.strip()
    if not text:
        raise ScopeError(source, key, "empty glob")
    if "\\" in text:
        raise ScopeError(source, key, f"bad glob {pattern!r}: use / between folders, not \\")
    body = text.lstrip("/")
    if not body:
        raise ScopeError(source, key, f"bad glob {pattern!r}: matches nothing (use \"**\" for everything)")
    parts = body.split("/")
    out: list[str] = []
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if part == "" and last:  # trailing slash: "DCIM/" means the folder's content
            out.append("(?:[^/]+(?:/[^/]+)*)")
            break
        if part in ("", ".", ".."):
            raise ScopeError(source, key, f"bad glob {pattern!r}: empty, '.' or '..' path component")
        if part == "**":
            out.append(None)  # type: ignore[arg-type]
            continue
        if "**" in part:
            raise ScopeError(source, key, f"bad glob {pattern!r}: '**' must be a whole path component "
                                          "(e.g. DCIM/**/x.jpg)")
        out.append(_component_regex(part, pattern, source, key))
    # join: "**" matches zero or more whole components
    regex = ""
    for n, piece in enumerate(out):
        last = n == len(out) - 1
        if piece is None:
            regex += "(?:[^/]+(?:/[^/]+)*)?" if last else "(?:[^/]+/)*"
        else:
            regex += piece + ("" if last else "/")
    try:
        compiled = re.compile(regex, re.IGNORECASE | re.DOTALL)
    except re.error as exc:  # pragma: no cover - components are validated above
        raise ScopeError(source, key, f"bad glob {pattern!r}: {exc}") from None
    return Glob(text, compiled)


def _component_regex(part: str, pattern: str, source: str, key: str) -> str:
    out, i = [], 0
    while i < len(part):
        ch = part[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            j = i + 1
            if j < len(part) and part[j] in "!^":
                j += 1
            if j < len(part) and part[j] == "]":
                j += 1
            while j < len(part) and part[j] != "]":
                j += 1
            if j >= len(part):
                raise ScopeError(source, key, f"bad glob {pattern!r}: '[' without a closing ']'")
            inner = part[i + 1:j]
            negate = inner[:1] in ("!", "^")
            if negate:
                inner = inner[1:]
            if not inner:
                raise ScopeError(source, key, f"bad glob {pattern!r}: empty character class")
            inner = inner.replace("\\", "\\\\")
            out.append(f"[{'^/' if negate else ''}{inner}]")
            i = j
        elif ch == "]":
            raise ScopeError(source, key, f"bad glob {pattern!r}: ']' without an opening '['")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)
