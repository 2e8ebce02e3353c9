"""What a (re-)seal must establish before it signs anything, and what verify
checks the same way: who sealed before (the previous seal's own signature and
its signer), and that everything under ``data/files`` is an export that an
extraction recorded (in ``case.db`` and, by digest, in the custody log)."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devicex.bagit import (
    EXPORT_ROOT,
    MANIFEST,
    PAYLOAD,
    PUBLIC_KEY,
    SEAL_ACTIONS,
    SIGNATURE,
    STATEMENT,
    BundleError,
)
from devicex.custody import ChainReport
from devicex.evidence import export_listing
from devicex.keys import KeyFileError, fingerprint, load_public_pem, signature_valid

_SMALL = 1 << 20  # statement, signature and public key are a few hundred bytes


@dataclass(frozen=True)
class PreviousSeal:
    fingerprint: str
    custody_entries: int


def _small(path: Path) -> bytes:
    if path.is_symlink() or not path.is_file() or path.stat().st_size > _SMALL:
        raise BundleError(f"{path}: missing, a link or too large; the previous seal cannot be checked "
                          "(run 'devicex verify')")
    return path.read_bytes()


def previous_seal(bundle: Path, chain: ChainReport, own_fp: str, previous_fp: str | None) -> PreviousSeal | None:
    """The previous seal (None if never sealed), refused unless its signature verifies, its signer is
    ``own_fp`` or ``previous_fp``, its payload manifest is the one it signed and the custody log still
    holds the log it sealed, unchanged. A log that records a seal while the statement is gone is refused
    (deleting the statement must not turn a re-seal into a first seal that checks nothing)."""
    if not (bundle / STATEMENT).exists() and not (bundle / STATEMENT).is_symlink():
        sealed = [e.seq for e in chain.entries if e.entry["action"] in SEAL_ACTIONS]
        if sealed:
            raise BundleError(f"{bundle}: the custody log records a seal (seq {sealed[-1]}) but {STATEMENT} is "
                              "missing; it cannot be re-sealed (run 'devicex verify')")
        return None
    chain_hashes = {e.seq: e.sha256 for e in chain.entries}
    raw, sig, pem = (_small(bundle / n) for n in (STATEMENT, SIGNATURE, PUBLIC_KEY))
    try:
        key = load_public_pem(pem)
        st = json.loads(raw)
        count, head = int(st["custody_entries"]), str(st["custody_head_sha256"])
        signed_fp, signed_manifest = str(st["key_fingerprint_sha256"]), str(st["payload_manifest_sha256"])
    except (KeyFileError, ValueError, KeyError, TypeError):
        raise BundleError(f"{bundle / STATEMENT}: the previous seal is unreadable; verify the bundle") from None
    fp = fingerprint(key)
    if signed_fp != fp or not signature_valid(key, sig, raw):
        raise BundleError(f"{bundle}: the previous seal's signature does not verify; it cannot be re-sealed "
                          "(run 'devicex verify')")
    if fp not in (own_fp, previous_fp):
        raise BundleError(f"{bundle}: last sealed with key {fp}, not with yours ({own_fp}); to re-seal or hand "
                          "over another examiner's bundle give their fingerprint, as stated by them, with "
                          "--previous-key-fingerprint")
    manifest = bundle / MANIFEST
    if manifest.is_symlink() or not manifest.is_file() or \
            hashlib.sha256(manifest.read_bytes()).hexdigest() != signed_manifest:
        raise BundleError(f"{manifest}: not the payload manifest that was sealed; it cannot be re-sealed "
                          "(run 'devicex verify')")
    if chain_hashes.get(count) != head:
        raise BundleError(f"{bundle}: the custody log no longer contains the log sealed before (seq {count} "
                          "changed or missing); it cannot be re-sealed")
    return PreviousSeal(fp, count)


def listed_runs(entries: Iterable[dict[str, Any]]) -> dict[int, tuple[int, str | None]]:
    """run id -> (custody seq, logged digest) of every entry that logged a run's exported-files listing."""
    runs: dict[int, tuple[int, str | None]] = {}
    for e in entries:
        run_id = e.get("details", {}).get("run_id")
        for out in e.get("outputs", ()):
            if isinstance(out, dict) and out.get("ref") == EXPORT_ROOT and isinstance(run_id, int) \
                    and not isinstance(run_id, bool):
                runs[run_id] = (int(e["seq"]), out.get("sha256"))
    return runs


def recorded_exports(conn: sqlite3.Connection, runs: Iterable[int]) -> set[str]:
    """``data/<export_path>`` of every file the given runs exported, as case.db records them."""
    found: set[str] = set()
    for run_id in runs:
        found.update(f"{PAYLOAD}/{p}" for (p,) in conn.execute(
            "SELECT export_path FROM files WHERE run_id = ? AND export_path IS NOT NULL", (run_id,)))
    return found


def listing_matches(conn: sqlite3.Connection, run_id: int, digest: str | None) -> bool:
    return export_listing(conn, run_id).sha256 == digest


def check_exports(bundle: Path, chain: ChainReport, payload: Iterable[str]) -> None:
    """Refuses any file under ``data/files`` that no logged extraction listing accounts for."""
    under = sorted(p for p in payload if p.startswith(EXPORT_ROOT + "/"))
    if not under:
        return
    runs = listed_runs(e.entry for e in chain.entries)
    db = bundle / PAYLOAD / "case.db"
    try:
        uri = "file:" + urllib.parse.quote(str(db.resolve())) + "?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True)
        try:
            known = recorded_exports(conn, [r for r, (_, d) in runs.items() if listing_matches(conn, r, d)])
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BundleError(f"{db}: cannot be read to check the exported files: {exc}") from None
    foreign = [p for p in under if p not in known]
    if foreign:
        raise BundleError(f"{bundle / foreign[0]}: under {EXPORT_ROOT}/ but not exported by any extraction "
                          f"recorded in case.db and the custody log ({len(foreign)} such file(s)); "
                          "planted or left-over files cannot be sealed")


def signing_keys(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every seal and hand-over in the log: seq, action, actor, key fingerprint and the previous key the
    sealer pinned (None for a first seal, or for a re-seal written before pinning was recorded)."""
    found = []
    for e in entries:
        seal = e.get("details", {}).get("seal")
        if e.get("action") in ("seal", "handover") and isinstance(seal, dict):
            found.append({"seq": e["seq"], "action": e["action"], "actor": e.get("actor", {}).get("name"),
                          "fingerprint": seal.get("key_fingerprint_sha256"),
                          "previous_pinned": seal.get("previous_key_fingerprint_sha256")})
    return found
