"""Intake and re-verification of an evidence source: open read-only, hash the
whole media stream (MD5/SHA-1/SHA-256) and check hashes stored in an E01."""
from __future__ import annotations

from dataclasses import dataclass

from devicex.hashing import Digests, hash_reader
from devicex.sources import Source
from pipelines.events import Reporter

MEDIA_CHUNK = 4 << 20


@dataclass(frozen=True)
class StoredCheck:
    verdict: str  # "pass", "fail" or "none" (no hash stored)
    details: dict[str, str]


def hash_media(src: Source, reporter: Reporter, label: str,
               bad: list[tuple[int, int, str]] | None = None) -> Digests:
    """Hash the whole media; unreadable ranges are zero-filled and listed in ``bad``."""
    reporter.stage(label, total_bytes=src.size)
    bad = [] if bad is None else bad
    return hash_reader(src.read, src.size, MEDIA_CHUNK, progress=lambda n: reporter.advance(nbytes=n), bad=bad)


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
