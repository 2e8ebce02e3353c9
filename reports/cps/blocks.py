"""The few kinds of block the CPS documents are made of (one document model, two writers)."""
from __future__ import annotations

from dataclasses import dataclass

SUPPLY = "[{} TO SUPPLY: {}]"
EXAMINER, DISCLOSURE_OFFICER = "EXAMINER", "DISCLOSURE OFFICER"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Para:
    text: str
    style: str = "normal"   # normal | small | flag | supply


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...] = ()   # centimetres; empty: equal


@dataclass(frozen=True)
class Document:
    title: str          # form title shown in the header box ("MG11", ...)
    subtitle: str       # e.g. "WITNESS STATEMENT"
    notice: str         # the small print under the title
    blocks: tuple[Heading | Para | Table, ...]


def supply(what: str, who: str = EXAMINER) -> Para:
    """What ``who`` (the examiner, or the disclosure officer on the schedules) must still give."""
    return Para(SUPPLY.format(who, what), "supply")


def text_of(doc: Document) -> str:
    """Every word of the document, for the opinion check and the tests."""
    parts = [doc.title, doc.subtitle, doc.notice]
    for b in doc.blocks:
        if isinstance(b, Table):
            parts += [" | ".join(b.header)] + [" | ".join(r) for r in b.rows]
        else:
            parts.append(b.text)
    return "\n".join(parts)
