"""The state of one extraction: what the examiner asked for (:class:`ExtractOptions`), what it has done so
far (:class:`Summary`), and what its stages read and record into (:class:`Run`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devicex.casedb import CaseDB, ErrorRow
from devicex.custody import CustodyLog
from devicex.sources import Source
from pipelines.events import Reporter
from pipelines.select import FullSelector, Selector


@dataclass
class ExtractOptions:
    source: Path
    out: Path
    case_ref: str | None = None
    exhibit_ref: str | None = None
    examiner: str = "unknown examiner"
    examiner_id: str | None = None
    organisation: str | None = None
    workers: int = 2
    export: bool = True
    parse: bool = True
    selector: Selector = field(default_factory=FullSelector)
    scope_text: str | None = None
    full_reason: str | None = None
    dry_run: bool = False
    validation: dict[str, Any] | None = None  # the validation record this run is under (see pipelines.validate)
    region: str = "GB"  # where national phone numbers in parsed records are read
    timezone: str | None = None  # the device's IANA time zone, given by the examiner
    reverify: str = "sha256"  # hashing of the media after extraction: "sha256", "all" or "none"
    one_read: bool = True  # disk images: content and intake hashes from one sequential read (pipelines.oneread)


@dataclass
class Summary:
    run_id: int = 0
    files: int = 0
    streams_read: int = 0
    bytes_read: int = 0
    deleted: int = 0
    recovered: int = 0
    guessed: int = 0  # deleted entries read in full whose content is a guess (not counted as recovered)
    exported: int = 0
    records: int = 0
    warnings: int = 0
    errors: int = 0
    excluded: int = 0
    excluded_bytes: int = 0
    exports_reused: int = 0  # identical content already exported by an earlier run into OUT: not rewritten
    filesystems: int = 0
    volumes: int = 0
    source_verified: str = "not-run"
    stored_check: str = "none"
    fatal: str | None = None
    nothing_extracted: bool = False  # file systems opened, but no entry of them could be read
    by_category: dict[str, int] = field(default_factory=dict)
    #: bytes read from the media by the whole run (all processes: walk, content, media hashes), for the
    #: bytes-read ratio; not in the custody log (worker processes' caches make it vary from run to run)
    media_bytes_read: int = 0
    media_size: int = 0  # the size of the media (what the intake hash covers)


@dataclass
class Run:
    """One extraction in progress: what its stages read and record into."""

    opts: ExtractOptions
    src: Source
    db: CaseDB
    custody: CustodyLog
    run_id: int
    reporter: Reporter
    summary: Summary
    source_id: int | None = None

    def problem(self, stage: str, message: str, *, severity: str = "error", volume: str | None = None,
                path: str | None = None, shown: str | None = None) -> None:
        """A problem of the source or of a volume: in ``errors``, and on screen as ``shown`` if given."""
        if shown is not None:
            self.reporter.problem(severity, shown)
        self.db.add_error(ErrorRow(self.run_id, self.source_id, volume, None, path, stage, severity, message))
