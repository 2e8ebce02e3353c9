"""The validated scope: selections, windows, authorisation and the scope itself."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from devicex.scope.comms import Communications
from devicex.scope.constants import DEFAULT_TIMES, UTC
from devicex.scope.globs import Glob
from devicex.timeutil import iso


def show_time(when: datetime) -> str:
    """A time as scope messages show it: ``2023-08-12 00:00:00 UTC``."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def show_offset(off: timedelta | None) -> str:
    """A UTC offset as ``+01:00`` (empty for none or zero)."""
    if not off:
        return ""
    total = int(off.total_seconds()) // 60
    sign = "+" if total >= 0 else "-"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime  # inclusive

    def contains(self, when: datetime) -> bool:
        return self.start <= when <= self.end

    def text(self) -> str:
        return f"{show_time(self.start)} to {show_time(self.end)}"


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
    comms: Communications | None = None  # a communications selection: records, not files

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

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable summary of the selection."""
        return {
            "index": self.index, "label": self.label, "paths": [g.pattern for g in self.paths],
            "extensions": sorted(self.extensions), "name_keywords": list(self.name_keywords),
            "name_patterns": [p.pattern for p in self.name_patterns], "categories": sorted(self.categories),
            "mime_types": list(self.mime_types),
            "windows": [{"start": iso(w.start), "end": iso(w.end)} for w in self.windows],
            "times": list(self.times), "exif_offset": show_offset(self.exif_offset.utcoffset(None)) or "+00:00",
            "content_keywords": list(self.content_keywords),
            "content_patterns": [p.pattern.decode("utf-8", "replace") for p in self.content_patterns],
            "sha256": sorted(self.sha256), "md5": sorted(self.md5), "reads": self.needs(),
        } | ({"communications": self.comms.as_dict()} if self.comms else {})


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

    @property
    def file_selections(self) -> tuple[Selection, ...]:
        """The selections that take files."""
        return tuple(s for s in self.selections if s.comms is None)

    @property
    def comms_selections(self) -> tuple[Selection, ...]:
        """The selections that take communications records."""
        return tuple(s for s in self.selections if s.comms is not None)

    def needs(self) -> str:
        order = ("metadata", "head", "content")
        return max((s.needs() for s in self.selections), key=order.index)

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable summary (run parameters, custody details)."""
        return {
            "mode": "scoped", "scope_file": self.name, "scope_sha256": self.sha256, "title": self.title,
            "authorisation": self.authorisation.as_dict(),
            "selections": [s.as_dict() for s in self.selections],
            "exclude_paths": [g.pattern for g in self.exclude_paths],
            "list_excluded_metadata": self.list_excluded_metadata, "reads": self.needs(),
        }
