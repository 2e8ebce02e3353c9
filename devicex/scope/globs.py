"""Path globs of a scope (``paths`` and ``[exclude] paths``)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from devicex.scope.errors import ScopeError


@dataclass(frozen=True)
class Glob:
    """A path glob anchored at the file-system root: ``*`` and ``?`` stay within
    one name, ``**`` (a whole component) spans any number of folders, ``[..]``
    is a character class; matching ignores case (phones' shared storage does)."""

    pattern: str
    regex: re.Pattern[str] = field(compare=False)

    def matches(self, path: str) -> bool:
        return self.regex.fullmatch(path.lstrip("/")) is not None


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
