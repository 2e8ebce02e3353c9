"""The three tiers of errors devicex distinguishes.

* :class:`NotMyFormat` -- a parser or opener was handed data it does not
  handle. Callers skip silently (it is not a fault of the evidence).
* :class:`Damage` -- recoverable damage: the data is recognisably the right
  format but corrupt or truncated. Callers warn, mark the item corrupted and
  carry on with what they have.
* Anything else raised while processing one file is recorded as a failure for
  that file (see ``pipelines``), and the run goes on.

:class:`SourceError` is raised when a whole evidence source cannot be opened;
its message is one line naming the file and the problem.
"""
from __future__ import annotations


class DevicexError(Exception):
    """Base class of devicex's own errors."""


class NotMyFormat(DevicexError):
    """The input is not in the format this component handles: skip."""


class Damage(DevicexError):
    """Recoverable damage: warn, mark corrupted, go on."""


class SourceError(DevicexError):
    """An evidence source (or one of its segments) cannot be opened or read."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class ReadError(DevicexError):
    """Content of an entry could not be read from the image."""
