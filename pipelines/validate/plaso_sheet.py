"""The plaso authors' own test expectations as a second truth for the communications parsers.

``<folder>/upstream-expected/plaso-test-expectations.md`` (the corpus's ``plaso-sqlite/``;
a copy ships in ``fixtures/comms/plaso/truth/``) restates, per test database, what plaso's
tests expect: the plugin, how many records it makes (with sub-counts such as "5 sent,
4 received"), that it warns of nothing, and the values of one record. This module reads
that table; :mod:`pipelines.validate.plaso_compare` compares devicex's records with it.
Nothing here runs devicex.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SHEET_NAMES = ("upstream-expected/plaso-test-expectations.md", "truth/plaso-test-expectations.md")
MADE_BY = "the plaso authors (log2timeline/plaso tests/, restated in plaso-test-expectations.md)"
_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"
_QUOTED = re.compile(r"(?:(?P<label>[A-Za-z_]+) )?`(?P<value>[^`]*)`")
_TIMED = re.compile(rf"(?:(?P<label>start = end|last visited|start|end|visit)\s+)?(?P<time>{_TIME})")
_NUMBER = re.compile(r"\b(?P<label>visit_count|visit_type|transition|type|read receipt|read|duration) (?P<n>\d+)\b")
_BYTES = re.compile(r"\b(?P<n>\d+) bytes\b")
_SERVICE = re.compile(r"\bservice (?P<v>\w+)")
_LABELS = {"to": "target_path", "text": "body", "address": "address", "body": "body", "number": "number",
           "handle": "handle", "title": "title"}
_SUBCOUNT = re.compile(r"(?P<n>\d+) (?P<what>sent|received|visits?|downloads?)\b")


@dataclass(frozen=True)
class Expected:
    """One record the sheet describes: its kind ("download" or the plugin's own) and values by plaso's names."""

    kind: str
    values: tuple[tuple[str, object], ...]
    text: str  # the sheet's words for it

    def get(self, name: str) -> object:
        return next((v for k, v in self.values if k == name), None)

    @property
    def time(self) -> str | None:
        value = self.get("time")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Row:
    file: str
    plugin: str
    count: int
    subcounts: tuple[tuple[str, int], ...]
    warnings: int | None  # None: the sheet says nothing about warnings
    records_text: str
    expected: tuple[Expected, ...] = field(default_factory=tuple)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _values(part: str) -> list[tuple[str, object]]:
    """The values one record description states, named as plaso names them."""
    out: list[tuple[str, object]] = []
    for m in _QUOTED.finditer(part):
        label = (m.group("label") or "").lower()
        out.append((_LABELS.get(label, "url"), m.group("value")))  # an unlabelled (or "visit") value is the URL
    if re.search(r"\btitle none\b", part):
        out.append(("title", None))
    for m in _TIMED.finditer(part):
        label = m.group("label") or "time"
        if label == "start = end":
            out += [("time", m.group("time")), ("end", m.group("time"))]
        else:
            out.append(("end" if label == "end" else "time", m.group("time")))
    for m in _NUMBER.finditer(part):
        out.append((m.group("label").replace("read receipt", "read"), int(m.group("n"))))
    out += [("received_bytes", int(m.group("n"))) for m in _BYTES.finditer(part)]
    out += [("service", m.group("v")) for m in _SERVICE.finditer(part)]
    return out


def _expected(cell: str) -> tuple[Expected, ...]:
    out = []
    for part in (p.strip() for p in cell.split(";") if p.strip()):
        head = part.split("`", 1)[0]
        kind = "download" if "download" in head else "record"
        out.append(Expected(kind, tuple(_values(part)), part))
    return tuple(out)


def read_sheet(path: Path) -> list[Row]:
    """The table rows of the sheet (``ValueError`` naming the file if it has none)."""
    rows: list[Row] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = _cells(line) if line.startswith("|") else []
        if len(cells) != 4 or not re.match(r"\d+", cells[2]):
            continue  # the header, its rule, and anything that is not a database row
        name = cells[0].split()[0]
        warnings = re.search(r"(\d+) warnings?", cells[2])
        rows.append(Row(name, cells[1], int(re.match(r"\d+", cells[2]).group()),  # type: ignore[union-attr]
                        tuple((m.group("what").rstrip("s"), int(m.group("n")))
                              for m in _SUBCOUNT.finditer(cells[2])),
                        int(warnings.group(1)) if warnings else None, cells[2], _expected(cells[3])))
    if not rows:
        raise ValueError(f"{path}: no database rows in the plaso expectations table")
    return rows


def sheet_in(folder: Path) -> Path | None:
    """The expectations sheet of a folder of plaso test databases, if it has one."""
    return next((folder / n for n in SHEET_NAMES if (folder / n).is_file()), None)
