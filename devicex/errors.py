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


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (whitespace runs folded), or its type's name if it has none."""
    return " ".join(str(exc).split()) or type(exc).__name__


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


class OutputError(DevicexError):
    """The output folder cannot be written (disk full, read-only, no permission) or is in use by another run.
    Fatal for the run: one line, its own exit code."""


class OutputBusy(OutputError):
    """Another run holds the output folder."""


_OUTPUT_ERRNOS = {28: "no space left on the output file system (disk full)",  # ENOSPC
                  122: "disk quota exceeded on the output file system",  # EDQUOT
                  30: "the output file system is read-only",  # EROFS
                  13: "permission denied", 1: "operation not permitted",  # EACCES, EPERM
                  27: "file too large for the output file system"}  # EFBIG
_SQLITE_OUTPUT = {"database or disk is full": "no space left on the output file system (disk full)",
                  "attempt to write a readonly database": "the output file system is read-only",
                  "unable to open database file": "the case database cannot be created or opened",
                  "disk i/o error": "I/O error writing the case database"}


def output_problem(exc: BaseException) -> str | None:
    """What is wrong with the output, if ``exc`` (an OSError or sqlite3 error raised while writing under OUT)
    says the output cannot be written; None for any other error."""
    if isinstance(exc, OutputError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in _OUTPUT_ERRNOS:
        where = f" ({exc.filename})" if exc.filename else ""
        return _OUTPUT_ERRNOS[exc.errno] + where
    if type(exc).__module__ == "sqlite3" and exc.args:
        text = str(exc.args[0]).lower()
        return next((v for k, v in _SQLITE_OUTPUT.items() if k in text), None)
    return None
