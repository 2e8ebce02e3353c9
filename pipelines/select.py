"""Selection: which entries an extraction takes. Without a scope, everything
(a full extraction, recorded with its reason)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from devicex.entries import Entry


@dataclass(frozen=True)
class Decision:
    include: bool
    reason: str  # the rule that decided (recorded per run as an exclusion count)


class Selector(Protocol):
    def decide(self, entry: Entry) -> Decision | None:
        """Decide on metadata alone, or ``None`` if content is needed."""
        ...

    def decide_content(self, entry: Entry, text: bytes) -> Decision:
        """Decide with the stream's content (only called after ``decide`` returned None)."""
        ...

    def describe(self) -> dict[str, object]: ...


INCLUDE_ALL = Decision(True, "full extraction")


class FullSelector:
    """Takes everything."""

    def decide(self, entry: Entry) -> Decision | None:
        return INCLUDE_ALL

    def decide_content(self, entry: Entry, text: bytes) -> Decision:
        return INCLUDE_ALL

    def describe(self) -> dict[str, object]:
        return {"mode": "full"}
