"""The one error a scope file can raise."""
from __future__ import annotations


class ScopeError(ValueError):
    """A scope file that cannot be used: one line naming file, key and problem."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + problem)
        self.source, self.key, self.problem = source, key, problem
