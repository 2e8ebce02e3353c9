"""Sealing an extraction folder into a signed BagIt bundle (the format is
:mod:`devicex.bagit`), and writing the bundle as one deterministic zip.

Sealing appends a ``seal`` custody entry (a hand-over, :mod:`devicex.handover`,
appends a ``handover`` entry that records the re-seal) *before* the tag
manifest is written, so the signed head of the log is always the entry
describing the seal itself.
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devicex import TOOL_NAME, __version__
from devicex.bagit import (
    BAG_INFO,
    BAGIT_DECLARATION,
    BAGIT_TXT,
    MANIFEST,
    PUBLIC_KEY,
    SIGNATURE,
    SIZES,
    STATEMENT,
    STATEMENT_FORMAT,
    TAGMANIFEST,
    UNSIGNED,
    BundleError,
    format_bag_info,
    format_manifest,
    format_sizes,
    parse_manifest,
    payload_files,
    refs_from_log,
    reverify_verdict,
    sources_from_log,
    tag_files,
    tool_version_from_log,
)
from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import Actor, Artefact, CustodyLog, canonical, read_chain
from devicex.fsutil import TMP_PREFIX, write_atomic
from devicex.hashing import CHUNK, sha256_file
from devicex.keys import fingerprint, public_pem, sign
from devicex.seal_checks import check_exports, previous_seal

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class SealResult:
    bundle: Path
    fingerprint: str
    payload_files: int
    payload_bytes: int
    custody_entries: int
    custody_head: str
    tagmanifest_sha256: str
    changes: dict[str, list[str]] = field(default_factory=dict)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _diff(old: dict[str, str], new: dict[str, str]) -> dict[str, list[str]]:
    return {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new)),
            "changed": sorted(p for p in set(old) & set(new) if old[p] != new[p])}


def seal(bundle: Path, key: Ed25519PrivateKey, actor: Actor, *, organisation: str | None = None,
         accept_changes: str | None = None, action: str = "seal", action_details: dict[str, Any] | None = None,
         reuse_manifest: bool = False, previous_fingerprint: str | None = None) -> SealResult:
    """Seal (or re-seal) ``bundle`` in place. A re-seal needs the previous seal to verify with a key that
    is ours or ``previous_fingerprint``; every payload file added, changed or removed since then is refused
    unless ``accept_changes`` gives the reason, which is logged with the list of changes."""
    for leftover in bundle.glob(TMP_PREFIX + "*"):
        leftover.unlink()
    tag_files(bundle)  # refuses foreign files before anything is written
    log_path = bundle / CUSTODY_FILE
    if log_path.is_symlink() or not log_path.is_file():
        raise BundleError(f"{bundle}: no {CUSTODY_FILE}: not an extraction output")
    chain = read_chain(log_path)
    if not chain.ok:
        raise BundleError(f"{log_path}: custody log damaged: {chain.issues[0].message}")
    fp = fingerprint(key.public_key())
    prev = previous_seal(bundle, chain, fp, previous_fingerprint)
    entries = [e.entry for e in chain.entries]
    old, _ = parse_manifest((bundle / MANIFEST).read_bytes()) if prev else ({}, [])
    hashes, sizes = _payload(bundle, old if reuse_manifest else None)
    check_exports(bundle, chain, hashes)
    changes = _diff(old, hashes) if prev else {}
    changed = _refuse_unaccepted(bundle, changes, accept_changes)
    manifest = format_manifest(hashes)
    write_atomic(bundle / MANIFEST, manifest)
    write_atomic(bundle / SIZES, format_sizes(sizes))
    pub = key.public_key()
    write_atomic(bundle / PUBLIC_KEY, public_pem(pub))
    oxum = f"{sum(sizes.values())}.{len(hashes)}"
    case_ref, exhibit_ref = refs_from_log(entries)
    seal_details: dict[str, Any] = {
        "key_fingerprint_sha256": fp, "payload_manifest_sha256": _sha(manifest), "payload_oxum": oxum,
        "payload_files": len(hashes), "payload_bytes": sum(sizes.values()), "tool": TOOL_NAME,
        "tool_version": __version__}
    if prev:
        seal_details["previous_key_fingerprint_sha256"] = prev.fingerprint
    if changes:
        seal_details["changes_since_previous_seal"] = changes
    if changed:
        seal_details["accepted_changes"] = {"reason": accept_changes, "files": changed}
    changed_outputs = [Artefact("payload-changed", p, hashes[p], sizes[p]) for p in changed if p in hashes]
    CustodyLog(log_path, actor, case_ref, exhibit_ref).append(
        action, inputs=[Artefact("payload-manifest", MANIFEST, _sha(manifest), len(manifest))],
        outputs=[Artefact("public-key", PUBLIC_KEY, _sha(public_pem(pub)), len(public_pem(pub))), *changed_outputs],
        details={**(action_details or {}), "seal": seal_details})
    return _write_seal(bundle, key, actor, organisation, action, manifest, oxum, len(hashes), sum(sizes.values()),
                       changes)


def _payload(bundle: Path, listed: dict[str, str] | None) -> tuple[dict[str, str], dict[str, int]]:
    """SHA-256 and size of every payload file; with ``listed`` (a manifest reused as it is), only the sizes
    are read."""
    if listed is not None:
        return listed, {p: (bundle / p).stat().st_size for p in listed}
    hashes: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for rel in payload_files(bundle):
        hashes[rel], sizes[rel] = sha256_file(str(bundle / rel))
    return hashes, sizes


def _refuse_unaccepted(bundle: Path, changes: dict[str, list[str]], accept_changes: str | None) -> list[str]:
    """The payload files changed since the previous seal; refused unless the examiner gave a reason."""
    changed = sorted(p for kind in ("added", "changed", "removed") for p in changes.get(kind, []))
    if changed and not accept_changes:
        raise BundleError(f"{bundle}: payload changed since it was sealed ({len(changed)} file(s): "
                          f"{', '.join(changed[:5])}); re-seal only with --accept-changes REASON "
                          "(custody entries written since the seal cannot approve changes)")
    return changed


def _write_seal(bundle: Path, key: Ed25519PrivateKey, actor: Actor, organisation: str | None, action: str,
                manifest: bytes, oxum: str, files: int, nbytes: int, changes: dict[str, list[str]]) -> SealResult:
    """After the seal's custody entry: the BagIt tag files, the tag manifest and the signed statement."""
    fp = fingerprint(key.public_key())
    chain = read_chain(bundle / CUSTODY_FILE)
    entries = [e.entry for e in chain.entries]
    case_ref, exhibit_ref = refs_from_log(entries)
    sealed_at = entries[-1]["time"]
    write_atomic(bundle / BAGIT_TXT, BAGIT_DECLARATION)
    write_atomic(bundle / BAG_INFO, format_bag_info(bag_info_fields(
        entries, actor, organisation, sealed_at, oxum, chain.lines, chain.head, fp)))
    tags = {rel: sha256_file(str(bundle / rel))[0] for rel in tag_files(bundle)}
    tagmanifest = format_manifest(tags)
    write_atomic(bundle / TAGMANIFEST, tagmanifest)
    statement = {
        "format": STATEMENT_FORMAT, "algorithm": "Ed25519", "key_fingerprint_sha256": fp,
        "tagmanifest_sha256": _sha(tagmanifest), "payload_manifest_sha256": _sha(manifest),
        "payload_oxum": oxum, "custody_entries": chain.lines, "custody_head_sha256": chain.head,
        "sealed_at": sealed_at, "action": action, "case_ref": case_ref, "exhibit_ref": exhibit_ref,
        "examiner": actor.as_dict()}
    statement_bytes = canonical(statement) + b"\n"
    write_atomic(bundle / STATEMENT, statement_bytes)
    write_atomic(bundle / SIGNATURE, sign(key, statement_bytes))
    return SealResult(bundle, fp, files, nbytes, chain.lines, chain.head, _sha(tagmanifest), changes)


def bag_info_fields(entries: list[dict[str, Any]], actor: Actor, organisation: str | None, sealed_at: str,
                    oxum: str, count: int, head: str, fp: str) -> list[tuple[str, object]]:
    case_ref, exhibit_ref = refs_from_log(entries)
    fields: list[tuple[str, object]] = [
        ("Source-Organization", organisation), ("Contact-Name", actor.name),
        ("External-Identifier", " / ".join(x for x in (case_ref, exhibit_ref) if x)),
        ("Bagging-Date", sealed_at[:10]), ("Bag-Software-Agent", f"{TOOL_NAME} {__version__}"),
        ("Payload-Oxum", oxum), ("Case-Reference", case_ref), ("Exhibit-Reference", exhibit_ref),
        ("Examiner", actor.name), ("Examiner-ID", actor.id), ("Examiner-Role", actor.role),
        ("Organisation", organisation), ("Tool", TOOL_NAME), ("Tool-Version", __version__),
        ("Extraction-Tool-Version", tool_version_from_log(entries)), ("Sealed-At", sealed_at)]
    for src in sources_from_log(entries):
        fields += [("Source-Path", src.ref), ("Source-Size", src.size), ("Source-MD5", src.intake["md5"]),
                   ("Source-SHA1", src.intake["sha1"]), ("Source-SHA256", src.intake["sha256"]),
                   ("Source-Stored-Hash-Check", src.stored_check),
                   ("Source-Reverified", reverify_verdict(src))]
    fields += [("Custody-Log-Entries", count), ("Custody-Log-Head-SHA256", head),
               ("Signing-Key-Fingerprint-SHA256", fp), ("Signing-Key-File", PUBLIC_KEY),
               ("Seal-Statement-File", STATEMENT), ("Seal-Signature-File", SIGNATURE)]
    return fields


def write_zip(bundle: Path, dest: Path | None = None) -> tuple[Path, str]:
    """One deterministic zip of the bundle (sorted names under ``<bundle name>/``,
    fixed times and modes, stored uncompressed): (path, SHA-256)."""
    dest = dest or bundle.with_name(bundle.name + ".zip")
    names = sorted(payload_files(bundle) + tag_files(bundle) + [n for n in UNSIGNED if (bundle / n).is_file()])
    tmp = dest.with_name(TMP_PREFIX + dest.name)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for rel in names:
            info = zipfile.ZipInfo(f"{bundle.name}/{rel}", ZIP_TIME)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = (bundle / rel).stat().st_size
            with open(bundle / rel, "rb") as src, zf.open(info, "w") as out:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
    os.replace(tmp, dest)
    return dest, sha256_file(str(dest))[0]
