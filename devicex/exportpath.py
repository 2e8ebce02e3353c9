"""Safe export names: nothing from evidence can escape the export root.

Paths come as recorded (:func:`devicex.entries.path_component`: a ``/``
inside a name is ``\\x2f``, so a name is always one component). Each name is
sanitised on its own (so ``/`` or ``..`` inside a name cannot traverse), characters that are unsafe on common
file systems (and ``%``, which BagIt manifests treat as an escape, and ``^``,
our own escape) are written as ``^HH`` per UTF-8 byte (reversibly), Windows reserved names are
prefixed, over-long names are shortened with a hash, and names that differ
only by case (or collide after sanitising) get a ``~N`` suffix so nothing is
overwritten on case-insensitive file systems. The original names stay in the
case database.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

from devicex.entries import component_name

MAX_COMPONENT_BYTES = 200
_UNSAFE = set('<>:"/\\|?*%^')
_ENCODED = frozenset({"Cc", "Cs", "Cf", "Zl", "Zp"})  # categories written as ^HH (every character below 0x20, 0x7F: Cc)
# in plain ASCII the characters written as ^HH are exactly these: the unsafe ones and the controls (category
# Cc); no ASCII character is Cs, Cf, Zl or Zp
_ASCII_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*%^]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def _encode_char(ch: str) -> str:
    return "".join(f"^{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))


def sanitize_component(name: str) -> str:
    """Turn one name from the evidence into a safe single path component."""
    if name.isascii() and _ASCII_UNSAFE.search(name) is None:
        safe = name  # nothing to write as ^HH (most names): no per-character look
    else:
        safe = "".join(_encode_char(ch) if ch in _UNSAFE or unicodedata.category(ch) in _ENCODED else ch
                       for ch in name)
    if safe in ("", ".", ".."):
        safe = safe.replace(".", "^2E") or "^00empty"
    if safe.endswith((" ", ".")):
        safe = safe[:-1] + _encode_char(safe[-1])
    if safe.split(".", 1)[0].lower().rstrip() in _RESERVED:
        safe = "_" + safe
    encoded = safe.encode("utf-8", "surrogatepass")
    if len(encoded) > MAX_COMPONENT_BYTES:
        digest = hashlib.sha1(encoded).hexdigest()[:12]
        stem, dot, ext = safe.rpartition(".")
        ext = ext if dot and len(ext.encode()) <= 16 else ""
        keep = (stem if ext else safe).encode("utf-8", "surrogatepass")[: MAX_COMPONENT_BYTES - 32]
        safe = keep.decode("utf-8", "ignore") + "~" + digest + ("." + ext if ext else "")
    return safe


def _with_suffix(name: str, n: int) -> str:
    stem, dot, ext = name.rpartition(".")
    if dot and stem:
        return f"{stem}~{n}.{ext}"
    return f"{name}~{n}"


class ExportNamer:
    """Assigns unique, safe relative export paths in walk order (deterministic)."""

    def __init__(self) -> None:
        self._dirs: dict[tuple[str, str], str] = {}
        self._used: dict[str, set[str]] = {}

    def _unique(self, parent: str, name: str) -> str:
        used = self._used.setdefault(parent, set())
        candidate, n = name, 1
        while candidate.casefold() in used:
            n += 1
            candidate = _with_suffix(name, n)
        used.add(candidate.casefold())
        return f"{parent}/{candidate}" if parent else candidate

    def parent_of(self, volume: str, path: str) -> str:
        parent = path.rsplit("/", 1)[0]
        if not parent:
            return sanitize_component(volume)
        known = self._dirs.get((volume, parent))
        if known is None:  # parent never seen (should not happen in a walk): build it
            known = self.assign_dir(volume, parent)
        return known

    def assign_dir(self, volume: str, path: str) -> str:
        key = (volume, path)
        if key not in self._dirs:
            name = component_name(path.rsplit("/", 1)[1])
            self._dirs[key] = self._unique(self.parent_of(volume, path), sanitize_component(name))
        return self._dirs[key]

    def assign_file(self, volume: str, path: str, stream: str | None) -> str:
        name = component_name(path.rsplit("/", 1)[1])
        if stream:
            name = f"{name}:{stream}"
        return self._unique(self.parent_of(volume, path), sanitize_component(name))
