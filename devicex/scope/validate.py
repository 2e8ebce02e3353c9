"""Reading a scope file and validating it strictly: every problem is one
:class:`~devicex.scope.errors.ScopeError` naming the file, the key and the problem."""
from __future__ import annotations

import hashlib
import re
import tomllib
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from devicex.scope import comms
from devicex.scope.constants import CATEGORIES, SCOPE_VERSION, TIME_KINDS, UTC
from devicex.scope.errors import ScopeError
from devicex.scope.globs import Glob, compile_glob
from devicex.scope.model import Authorisation, Scope, Selection, Window, show_time

_CATEGORY_ALIASES = {"image": "images", "video": "videos", "document": "documents", "archive": "archives",
                     "database": "databases", "executable": "executables", "message": "messages"}
_TOP_KEYS = {"scope_version", "title", "authorisation", "select", "exclude", "output"}
_AUTH_KEYS = {"legal_basis", "reference", "authorised_by", "purpose", "user_agreement", "dpn_reference",
              "less_intrusive_means", "authorised_on", "notes"}
_AUTH_REQUIRED = ("legal_basis", "reference", "authorised_by", "purpose", "user_agreement",
                  "less_intrusive_means")
_RULE_KEYS = ("paths", "extensions", "name_keywords", "name_patterns", "categories", "mime_types", "windows",
              "content_keywords", "content_patterns", "sha256", "md5")
_SELECT_KEYS = {"label", "times", "exif_offset", *_RULE_KEYS, *comms.KEYS}
_FILE_ONLY_KEYS = tuple(k for k in ("times", "exif_offset", *_RULE_KEYS) if k != "windows")
_WINDOW_KEYS = {"start", "end"}
_EXCLUDE_KEYS = {"paths"}
_OUTPUT_KEYS = {"list_excluded_metadata"}
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$")
_OFFSET_RE = re.compile(r"^(Z|[+-](\d{2}):(\d{2}))$")
_HEX = set("0123456789abcdef")


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
        raise ScopeError(source, "scope_version",
                         f"unsupported version {version!r} (this devicex reads {SCOPE_VERSION})")
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
        if "communications" in doc:
            return self.comms_selection(doc, index, parent)
        for key in sorted(comms.KEYS & set(doc)):
            raise self.fail(f"{parent}.{key}", "only meaningful in a communications selection (add communications)")
        if not any(k in doc for k in _RULE_KEYS):
            raise self.fail(parent, "empty selection: it has no rule, so it would take everything. Give at least "
                                    "one of " + ", ".join(_RULE_KEYS)
                                    + " (for a full extraction use --full-extraction-reason, no scope)")
        kw: dict[str, Any] = {"index": index, "label": self.opt_str(doc, "label", parent)}
        if "paths" in doc:
            kw["paths"] = tuple(compile_glob(p, self.source, f"{parent}.paths[{i}]")
                                for i, p in enumerate(self.str_list(doc, "paths", parent), 1))
        if "extensions" in doc:
            kw["extensions"] = self.extensions(doc, parent)
        if "name_keywords" in doc:
            kw["name_keywords"] = tuple(self.str_list(doc, "name_keywords", parent))
        if "name_patterns" in doc:
            kw["name_patterns"] = tuple(self.regex(p, f"{parent}.name_patterns[{i}]")
                                        for i, p in enumerate(self.str_list(doc, "name_patterns", parent), 1))
        if "categories" in doc:
            kw["categories"] = self.categories(doc, parent)
        if "mime_types" in doc:
            kw["mime_types"] = self.mime_types(doc, parent)
        if "windows" in doc:
            kw["windows"] = self.windows(doc["windows"], f"{parent}.windows")
        if "times" in doc:
            kw["times"] = self.times(doc, parent)
        if "exif_offset" in doc:
            kw["exif_offset"] = self.exif_offset(doc["exif_offset"], f"{parent}.exif_offset")
        if "content_keywords" in doc:
            kw["content_keywords"] = tuple(self.str_list(doc, "content_keywords", parent))
        if "content_patterns" in doc:
            kw["content_patterns"] = tuple(
                self.regex(p, f"{parent}.content_patterns[{i}]", binary=True)
                for i, p in enumerate(self.str_list(doc, "content_patterns", parent), 1))
        for algo, digits in (("sha256", 64), ("md5", 32)):
            if algo in doc:
                kw[algo] = self.hashes(doc, parent, algo, digits)
        return Selection(**kw)

    def comms_selection(self, doc: dict[str, Any], index: int, parent: str) -> Selection:
        for key in _FILE_ONLY_KEYS:
            if key in doc:
                raise self.fail(f"{parent}.{key}", "a file rule cannot be part of a communications selection "
                                                   "(it takes records, not files): use a [[select]] of its own")
        found = comms.parse(doc, parent, self.source, self.str_list)
        windows = self.windows(doc["windows"], f"{parent}.windows") if "windows" in doc else ()
        return Selection(index=index, label=self.opt_str(doc, "label", parent), windows=windows, comms=found)

    def extensions(self, doc: dict[str, Any], parent: str) -> frozenset[str]:
        exts = set()
        for i, e in enumerate(self.str_list(doc, "extensions", parent), 1):
            e = e.lower().lstrip(".")
            if not e or "/" in e or "\\" in e or any(c.isspace() for c in e):
                raise self.fail(f"{parent}.extensions[{i}]", f"bad extension {e!r} (write e.g. \"jpg\")")
            exts.add(e)
        return frozenset(exts)

    def categories(self, doc: dict[str, Any], parent: str) -> frozenset[str]:
        cats = set()
        for i, c in enumerate(self.str_list(doc, "categories", parent), 1):
            c = _CATEGORY_ALIASES.get(c.lower(), c.lower())
            if c not in CATEGORIES:
                raise self.fail(f"{parent}.categories[{i}]", f"unknown category {c!r} (known: {', '.join(CATEGORIES)})")
            cats.add(c)
        return frozenset(cats)

    def mime_types(self, doc: dict[str, Any], parent: str) -> tuple[str, ...]:
        mimes = []
        for i, m in enumerate(self.str_list(doc, "mime_types", parent), 1):
            m = m.lower()
            if not _MIME_RE.match(m):
                raise self.fail(f"{parent}.mime_types[{i}]",
                                f"bad MIME type {m!r} (write e.g. \"image/jpeg\" or \"video/*\")")
            mimes.append(m)
        return tuple(mimes)

    def times(self, doc: dict[str, Any], parent: str) -> tuple[str, ...]:
        if "windows" not in doc:
            raise self.fail(f"{parent}.times", "only meaningful with windows (add windows or remove times)")
        times: list[str] = []
        for i, t in enumerate(self.str_list(doc, "times", parent), 1):
            if t not in TIME_KINDS:
                raise self.fail(f"{parent}.times[{i}]", f"unknown time {t!r} (known: {', '.join(TIME_KINDS)})")
            if t not in times:
                times.append(t)
        return tuple(times)

    def exif_offset(self, value: Any, key: str) -> timezone:
        om = _OFFSET_RE.match(value) if isinstance(value, str) else None
        if not om:
            raise self.fail(key, f"bad UTC offset {value!r} (write e.g. \"+01:00\" or \"Z\")")
        if value == "Z":
            return UTC
        hours, minutes = int(om.group(2)), int(om.group(3))
        if hours > 14 or minutes > 59:
            raise self.fail(key, f"bad UTC offset {value!r}")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(delta if value[0] == "+" else -delta)

    def hashes(self, doc: dict[str, Any], parent: str, algo: str, digits: int) -> frozenset[str]:
        values = set()
        for i, h in enumerate(self.str_list(doc, algo, parent), 1):
            h = h.lower()
            if len(h) != digits or not set(h) <= _HEX:
                raise self.fail(f"{parent}.{algo}[{i}]",
                                f"bad hash {h!r}: a {algo.upper()} is {digits} hexadecimal digits")
            values.add(h)
        return frozenset(values)

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
                raise self.fail(wkey, f"ends ({show_time(end)}) before it starts ({show_time(start)})")
            out.append(Window(start, end))
        return tuple(out)

    def when(self, value: Any, key: str, *, end: bool) -> datetime:
        if isinstance(value, str):
            text = value.strip()
            try:
                value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
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
