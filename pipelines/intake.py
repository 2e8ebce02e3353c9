"""Intake and re-verification of an evidence source: open read-only (logged in
the custody log before anything is read), hash the whole media stream
(MD5/SHA-1/SHA-256) and check hashes stored in an E01.

``devicex info`` and ``devicex ls`` only look at a source and write nothing,
so they use :func:`devicex.sources.open_source` directly.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devicex.casedb import CaseDB
from devicex.custody import Artefact, CustodyLog
from devicex.errors import SourceError
from devicex.hashing import Digests, ReadInto, hash_reader, sha256_reader
from devicex.records import canonical_json
from devicex.sources import Source, open_source
from pipelines.events import Reporter
from pipelines.recovery import reverify_unfinished

MEDIA_CHUNK = 4 << 20


@dataclass(frozen=True)
class StoredCheck:
    verdict: str  # "pass", "fail" or "none" (no hash stored)
    details: dict[str, str]


def open_evidence(path: Path, custody: CustodyLog) -> Source:
    """Open a source read-only for a case; logs ``source-open`` either way."""
    try:
        src = open_source(path)
    except SourceError as exc:
        custody.append("source-open", inputs=[Artefact("source", str(path))], result="failed",
                       details={"error": str(exc)})
        raise
    custody.append("source-open", inputs=[Artefact("source", str(src.path), None, src.size)],
                   details={"container": src.container, "segments": [p.name for p in src.segments],
                            "read_only": True})
    return src


def hash_media(src: Source, reporter: Reporter, label: str,
               bad: list[tuple[int, int, str]] | None = None) -> Digests:
    """Hash the whole media; unreadable ranges are zero-filled and listed in ``bad``."""
    reporter.stage(label, total_bytes=src.size)
    bad = [] if bad is None else bad
    return hash_reader(src.read_into, src.size, MEDIA_CHUNK, progress=lambda n: reporter.advance(nbytes=n), bad=bad)


REVERIFY_CHOICES = ("sha256", "all", "none")  # the first is the default
NOT_REVERIFIED = "not-reverified"  # the verdict when the examiner chose --reverify none
REVERIFY_STAGE = "re-verify hash"  # the progress display's name for it


@dataclass(frozen=True)
class Reverify:
    """The re-verification after extraction: the examiner's choice and the hashes it computed."""

    choice: str  # one of REVERIFY_CHOICES
    hashes: dict[str, str]  # algorithm -> hex digest, only those computed (none for "none")

    def verdict(self, intake: Digests) -> str:
        if self.choice == "none":
            return NOT_REVERIFIED
        same = all(getattr(intake, algo) == value for algo, value in self.hashes.items())
        return "match" if same else "mismatch"


def reverify_media(src: Source, reporter: Reporter, choice: str) -> Reverify:
    """Hash the media again after extraction as the examiner chose: SHA-256 only (one read), the three
    hashes of the intake, or not at all."""
    if choice != "none":
        reporter.stage(REVERIFY_STAGE, total_bytes=src.size)
    return reverify_hashes(src.read_into, src.size, choice, lambda n: reporter.advance(nbytes=n))


def reverify_hashes(read_into: ReadInto, size: int, choice: str, progress: Callable[[int], None]) -> Reverify:
    """The hashes ``choice`` asks for of ``size`` bytes read by ``read_into``; unreadable chunks are hashed
    as zeros, as at intake, so damage the intake saw gives the same digests again."""
    if choice == "none":
        return Reverify(choice, {})
    if choice == "all":
        digests = hash_reader(read_into, size, MEDIA_CHUNK, progress=progress, bad=[])
        return Reverify(choice, {"md5": digests.md5, "sha1": digests.sha1, "sha256": digests.sha256})
    if choice != "sha256":
        raise ValueError(f"unknown re-verification choice {choice!r}")
    digest, _ = sha256_reader(read_into, size, MEDIA_CHUNK, progress=progress)
    return Reverify(choice, {"sha256": digest})


def check_stored(src: Source, digests: Digests) -> StoredCheck:
    if not src.stored_hashes:
        return StoredCheck("none", {})
    details: dict[str, str] = {}
    ok = True
    for algo, stored in sorted(src.stored_hashes.items()):
        computed = getattr(digests, algo)
        match = computed == stored
        ok &= match
        details[algo] = f"stored {stored}, computed {computed}: {'match' if match else 'MISMATCH'}"
    if digests.size != src.size:
        ok = False
        details["size"] = f"read {digests.size} of {src.size} bytes"
    return StoredCheck("pass" if ok else "fail", details)


def insert_source(db: CaseDB, run_id: int, src: Source) -> int:
    """The ``sources`` row, its intake hashes to come (:func:`record_intake`)."""
    return db.insert("sources", {
        "run_id": run_id, "path": str(src.path.resolve()), "name": src.label, "container": src.container,
        "segments": canonical_json([p.name for p in src.segments]), "size": src.size,
        "stored_md5": src.stored_hashes.get("md5"), "stored_sha1": src.stored_hashes.get("sha1"),
        "stored_sha256": src.stored_hashes.get("sha256"),
        "ewf_headers": canonical_json(src.ewf_headers) if src.ewf_headers else None})


def record_intake(db: CaseDB, custody: CustodyLog, src: Source, ids: tuple[int, int], intake: Digests,
                  bad: list[tuple[int, int, str]], problem: Callable[..., None], during_extraction: bool) -> str:
    """The intake hashes into ``sources`` (row ``ids[1]`` of run ``ids[0]``) and the custody log (``intake``),
    hashes stored in the image checked, unfinished earlier runs re-verified with them, unreadable ranges and a
    stored-hash mismatch recorded through ``problem``; returns the stored-hash verdict."""
    run_id, source_id = ids
    stored = check_stored(src, intake)
    db.conn.execute("UPDATE sources SET md5 = ?, sha1 = ?, sha256 = ?, stored_check = ? WHERE id = ?",
                    (intake.md5, intake.sha1, intake.sha256, stored.verdict, source_id))
    reverify_unfinished(db, custody, src.path, src.size,
                        {"md5": intake.md5, "sha1": intake.sha1, "sha256": intake.sha256}, run_id)
    custody.append("intake", inputs=[Artefact("source", str(src.path), intake.sha256, src.size)],
                   result="ok" if stored.verdict != "fail" else "stored-hash-mismatch",
                   details={"container": src.container, "segments": [p.name for p in src.segments],
                            "md5": intake.md5, "sha1": intake.sha1, "sha256": intake.sha256,
                            "bytes_hashed": intake.size, "stored_hash_check": stored.verdict,
                            "stored_hash_details": stored.details}
                   | ({"hashed": "from the extraction's own read of the media"} if during_extraction else {}))
    for offset, length, error in bad:
        msg = f"media unreadable at bytes {offset}-{offset + length - 1} (hashed as zeros): {error}"
        problem("intake", msg, path=str(src.path), shown=f"{src.path}: {msg}")
    if stored.verdict == "fail":
        problem("intake", "; ".join(f"{k}: {v}" for k, v in stored.details.items()), path=str(src.path),
                shown=f"{src.path}: hashes stored in the image do not match its content")
    return stored.verdict


def log_reverify(custody: CustodyLog, src: Source, reverify: Reverify, intake: Digests, verdict: str) -> None:
    """The ``source-reverify`` custody entry: the examiner's choice, the hashes computed, the verdict."""
    result = {"match": "ok", "mismatch": "mismatch"}.get(verdict, "skipped")
    details: dict[str, Any] = {"reverify": reverify.choice, "algorithms": sorted(reverify.hashes), **reverify.hashes,
                               "intake_sha256": intake.sha256, "verdict": verdict}
    if reverify.choice == "none":
        details["reason"] = "not re-verified, by the examiner's choice"
    custody.append("source-reverify", inputs=[Artefact("source", str(src.path), reverify.hashes.get("sha256"),
                                                       src.size)], result=result, details=details)
