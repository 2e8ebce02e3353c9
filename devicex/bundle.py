"""Sealing an extraction folder into a signed BagIt (RFC 8493, v1.0) bundle.

Layout of a sealed bundle::

    bagit.txt                 BagIt declaration                    (tag file)
    bag-info.txt              case, exhibit, examiner, tool, sources, custody head (tag file)
    manifest-sha256.txt       SHA-256 of every payload file        (tag file)
    custody.jsonl             the hash-chained custody log         (tag file)
    signing-key.pub.pem       the examiner's Ed25519 public key    (tag file)
    tagmanifest-sha256.txt    SHA-256 of every tag file above (and any other file outside data/)
    seal-statement.json       what is signed: tag-manifest SHA-256, custody head and count, key fingerprint
    seal-signature.ed25519    64-byte Ed25519 signature over the exact bytes of seal-statement.json
    data/                     payload: case.db, files/, report/, export/

The statement and signature sit outside the tag manifest (the tag manifest's
hash is inside the statement). Sealing appends a ``seal`` custody entry (a
hand-over appends a ``handover`` entry that records the re-seal) *before* the
tag manifest is written, so the signed head of the log is always the entry
describing the seal itself.

Manifest paths are written literally (``<sha256>  data/<path>``), as
``sha256sum -c`` and the ``bagit`` package read them; payload names with a
line break are refused (devicex export names never contain one).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devicex import TOOL_NAME, __version__
from devicex.custody import FILENAME as CUSTODY_FILE, Actor, Artefact, CustodyLog, canonical, read_chain
from devicex.errors import DevicexError
from devicex.hashing import sha256_file
from devicex.keys import fingerprint, public_pem, sign

BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
PUBLIC_KEY = "signing-key.pub.pem"
STATEMENT = "seal-statement.json"
SIGNATURE = "seal-signature.ed25519"
UNSIGNED = (TAGMANIFEST, STATEMENT, SIGNATURE)  # outside the tag manifest
REQUIRED_TAGS = (BAGIT_TXT, BAG_INFO, MANIFEST, CUSTODY_FILE, PUBLIC_KEY)
PAYLOAD = "data"
STATEMENT_FORMAT = "devicex-seal/1"
BAGIT_DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
SEAL_ACTIONS = ("seal", "handover")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_TMP = ".devicex-tmp-"
_MANIFEST_LINE = re.compile(r"([0-9A-Fa-f]{64})[ \t]+\*?(.+)")


class BundleError(DevicexError):
    """The folder cannot be sealed (or handed over) as it is."""


class NotVerified(BundleError):
    """A hand-over was refused because the bundle fails verification."""


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


@dataclass(frozen=True)
class SourceRecord:
    """What the custody log says about one evidence source."""

    ref: str
    size: int | None
    intake: dict[str, str]
    stored_check: str
    reverify: dict[str, str] | None
    reverify_result: str | None


# --------------------------------------------------------------------------- manifests and tag files

def format_manifest(hashes: dict[str, str]) -> bytes:
    return "".join(f"{hashes[p]}  {p}\n" for p in sorted(hashes)).encode("utf-8")


def parse_manifest(data: bytes) -> tuple[dict[str, str], list[str]]:
    """(path -> lower-case SHA-256, problems). Paths must be relative, normalised, unique."""
    hashes: dict[str, str] = {}
    problems: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {}, ["not UTF-8"]
    if data and not text.endswith("\n"):
        problems.append("last line has no end of line")
    for number, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        m = _MANIFEST_LINE.fullmatch(line)
        if m is None:
            problems.append(f"line {number} is not '<sha256>  <path>'")
            continue
        path = m.group(2)
        parts = path.split("/")
        if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\r" in path:
            problems.append(f"line {number}: unsafe or unnormalised path {path!r}")
        elif path in hashes:
            problems.append(f"line {number}: {path} listed twice")
        else:
            hashes[path] = m.group(1).lower()
    return hashes, problems


def clean_value(value: object) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(value)).strip()


def format_bag_info(fields: list[tuple[str, object]]) -> bytes:
    return "".join(f"{k}: {clean_value(v)}\n" for k, v in fields if v is not None and v != "").encode("utf-8")


def parse_bag_info(data: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    fields: list[tuple[str, str]] = []
    problems: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], ["not UTF-8"]
    for number, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line[0] in " \t" and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + " " + line.strip())
        elif ":" in line and line.split(":", 1)[0].strip():
            label, value = line.split(":", 1)
            fields.append((label.strip(), value.strip()))
        else:
            problems.append(f"line {number} is not 'Label: value'")
    return fields, problems


# --------------------------------------------------------------------------- what the custody log says

def sources_from_log(entries: Iterable[dict[str, Any]]) -> list[SourceRecord]:
    """Pairs every intake that hashed a source with the re-verification that followed it."""
    records: list[SourceRecord] = []
    open_intakes: dict[str, int] = {}
    for e in entries:
        ref = e["inputs"][0].get("ref") if e["inputs"] and isinstance(e["inputs"][0], dict) else None
        d = e["details"]
        if e["action"] == "intake" and isinstance(ref, str) and d.get("sha256"):
            open_intakes[ref] = len(records)
            records.append(SourceRecord(ref, e["inputs"][0].get("size"),
                                        {k: str(d.get(k)) for k in ("md5", "sha1", "sha256")},
                                        str(d.get("stored_hash_check", "none")), None, None))
        elif e["action"] == "source-reverify" and isinstance(ref, str) and ref in open_intakes:
            i = open_intakes.pop(ref)
            records[i] = SourceRecord(records[i].ref, records[i].size, records[i].intake, records[i].stored_check,
                                      {k: str(d.get(k)) for k in ("md5", "sha1", "sha256")}, e["result"])
    return records


def reverify_verdict(src: SourceRecord) -> str:
    if src.reverify is None:
        return "not-run"
    return "match" if src.reverify == src.intake and src.reverify_result == "ok" else "mismatch"


def refs_from_log(entries: Iterable[dict[str, Any]]) -> tuple[str | None, str | None]:
    case_ref = exhibit_ref = None
    for e in entries:
        case_ref = e.get("case_ref") or case_ref
        exhibit_ref = e.get("exhibit_ref") or exhibit_ref
    return case_ref, exhibit_ref


def tool_version_from_log(entries: Iterable[dict[str, Any]]) -> str | None:
    found = None
    for e in entries:
        if e["action"] == "extraction-start":
            found = e["details"].get("tool_version")
    return found


# --------------------------------------------------------------------------- sealing

def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(_TMP + path.name)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payload_files(bundle: Path) -> list[str]:
    """Relative paths (``data/...``) of every payload file, sorted; refuses links and special files."""
    root = bundle / PAYLOAD
    if not root.is_dir():
        raise BundleError(f"{bundle}: no {PAYLOAD}/ folder: not an extraction output")
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(bundle).as_posix()
            if full.is_symlink() or not (full.is_dir() or full.is_file()):
                raise BundleError(f"{rel}: links and special files cannot be sealed")
            if "\n" in rel or "\r" in rel:
                raise BundleError(f"{rel!r}: a payload name contains a line break")
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                raise BundleError(f"{rel!r}: a payload name is not valid UTF-8") from None
        found.extend((Path(dirpath) / n).relative_to(bundle).as_posix() for n in filenames)
    return sorted(found)


def tag_files(bundle: Path) -> list[str]:
    """Every file outside ``data/`` except the tag manifest, statement and signature."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(bundle):
        if Path(dirpath) == bundle:
            dirnames[:] = [d for d in dirnames if d != PAYLOAD]
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(bundle).as_posix()
            if "\n" in rel or "\r" in rel or (Path(dirpath) / name).is_symlink():
                raise BundleError(f"{rel!r}: links and names with line breaks cannot be sealed")
            if rel not in UNSIGNED:
                found.append(rel)
    return sorted(found)


def _diff(old: dict[str, str], new: dict[str, str]) -> dict[str, list[str]]:
    return {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new)),
            "changed": sorted(p for p in set(old) & set(new) if old[p] != new[p])}


def _previous_seal_count(bundle: Path, chain_entries: dict[int, str]) -> int:
    """Entries in the log when it was last sealed (0 if never); refuses a log
    that no longer contains the sealed one unchanged."""
    statement = bundle / STATEMENT
    if not statement.exists():
        return 0
    try:
        prev = json.loads(statement.read_bytes())
        count, head = int(prev["custody_entries"]), str(prev["custody_head_sha256"])
    except (ValueError, KeyError, TypeError):
        raise BundleError(f"{statement}: the previous seal statement is unreadable; verify the bundle") from None
    if chain_entries.get(count) != head:
        raise BundleError(f"{bundle / CUSTODY_FILE}: the custody log no longer contains the log sealed before "
                          f"(seq {count} changed or missing); it cannot be re-sealed")
    return count


def seal(bundle: Path, key: Ed25519PrivateKey, actor: Actor, *, organisation: str | None = None,
         accept_changes: str | None = None, action: str = "seal", action_details: dict[str, Any] | None = None,
         reuse_manifest: bool = False) -> SealResult:
    """Seal (or re-seal) ``bundle`` in place. On a re-seal, payload files
    changed or removed since the last seal are refused unless ``accept_changes``
    gives the reason, which is logged with the list of changes."""
    for leftover in bundle.glob(_TMP + "*"):
        leftover.unlink()
    for stale in list(bundle.glob("manifest-*.txt")) + list(bundle.glob("tagmanifest-*.txt")):
        if stale.name not in (MANIFEST, TAGMANIFEST):
            raise BundleError(f"{stale}: unexpected manifest in the bundle; remove it before sealing")
    log_path = bundle / CUSTODY_FILE
    if not log_path.is_file():
        raise BundleError(f"{bundle}: no {CUSTODY_FILE}: not an extraction output")
    chain = read_chain(log_path)
    if not chain.ok:
        raise BundleError(f"{log_path}: custody log damaged: {chain.issues[0].message}")
    sealed_count = _previous_seal_count(bundle, {e.seq: e.sha256 for e in chain.entries})
    entries = [e.entry for e in chain.entries]
    old, _ = parse_manifest((bundle / MANIFEST).read_bytes()) if (bundle / MANIFEST).exists() else ({}, [])
    if reuse_manifest:
        hashes = old
        sizes = {p: (bundle / p).stat().st_size for p in hashes}
    else:
        hashes, sizes = {}, {}
        for rel in payload_files(bundle):
            hashes[rel], sizes[rel] = sha256_file(str(bundle / rel))
    changes = _diff(old, hashes) if sealed_count else {}
    logged = {(a.get("ref"), a.get("sha256")) for e in entries if e["seq"] > sealed_count for a in e["outputs"]
              if isinstance(a, dict)}  # outputs of actions logged since the last seal (e.g. a second run)
    unexplained = [p for p in changes.get("changed", []) if (p, hashes[p]) not in logged] + changes.get("removed", [])
    if unexplained and not accept_changes:
        listed = ", ".join(unexplained[:5])
        raise BundleError(f"{bundle}: payload changed since it was sealed, and no custody entry accounts for it "
                          f"({listed}); re-seal only with --accept-changes REASON")
    manifest = format_manifest(hashes)
    _write(bundle / MANIFEST, manifest)
    pub = key.public_key()
    fp = fingerprint(pub)
    _write(bundle / PUBLIC_KEY, public_pem(pub))
    oxum = f"{sum(sizes.values())}.{len(hashes)}"
    case_ref, exhibit_ref = refs_from_log(entries)
    seal_details: dict[str, Any] = {
        "key_fingerprint_sha256": fp, "payload_manifest_sha256": _sha(manifest), "payload_oxum": oxum,
        "payload_files": len(hashes), "payload_bytes": sum(sizes.values()), "tool": TOOL_NAME,
        "tool_version": __version__}
    if changes:
        seal_details["changes_since_previous_seal"] = changes
    if accept_changes and unexplained:
        seal_details["accepted_changes"] = {"reason": accept_changes, "files": unexplained}
    changed_outputs = [Artefact("payload-changed", p, hashes[p], sizes[p]) for p in unexplained if p in hashes]
    CustodyLog(log_path, actor, case_ref, exhibit_ref).append(
        action, inputs=[Artefact("payload-manifest", MANIFEST, _sha(manifest), len(manifest))],
        outputs=[Artefact("public-key", PUBLIC_KEY, _sha(public_pem(pub)), len(public_pem(pub))), *changed_outputs],
        details={**(action_details or {}), "seal": seal_details})
    chain = read_chain(log_path)
    entries = [e.entry for e in chain.entries]
    sealed_at = entries[-1]["time"]
    _write(bundle / BAGIT_TXT, BAGIT_DECLARATION)
    _write(bundle / BAG_INFO, format_bag_info(bag_info_fields(
        entries, actor, organisation, sealed_at, oxum, chain.lines, chain.head, fp)))
    tags = {rel: sha256_file(str(bundle / rel))[0] for rel in tag_files(bundle)}
    tagmanifest = format_manifest(tags)
    _write(bundle / TAGMANIFEST, tagmanifest)
    statement = {
        "format": STATEMENT_FORMAT, "algorithm": "Ed25519", "key_fingerprint_sha256": fp,
        "tagmanifest_sha256": _sha(tagmanifest), "payload_manifest_sha256": _sha(manifest),
        "payload_oxum": oxum, "custody_entries": chain.lines, "custody_head_sha256": chain.head,
        "sealed_at": sealed_at, "action": action, "case_ref": case_ref, "exhibit_ref": exhibit_ref,
        "examiner": actor.as_dict()}
    statement_bytes = canonical(statement) + b"\n"
    _write(bundle / STATEMENT, statement_bytes)
    _write(bundle / SIGNATURE, sign(key, statement_bytes))
    return SealResult(bundle, fp, len(hashes), sum(sizes.values()), chain.lines, chain.head, _sha(tagmanifest),
                      changes)


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


def handover(bundle: Path, key: Ed25519PrivateKey, actor: Actor, to: str, reason: str, *,
             from_: str | None = None, organisation: str | None = None) -> SealResult:
    """Verify the bundle, append a ``handover`` entry (from, to, reason) and re-seal."""
    from devicex.verify import CHECKS, verify_bundle  # verify imports this module

    if not bundle.is_dir():
        raise BundleError(f"{bundle}: hand-over needs the bundle folder (not a zip)")
    result = verify_bundle(bundle)
    if not result.ok:
        first = result.failures[0]
        raise NotVerified(f"{bundle}: fails verification ({len(result.failures)} reasons, first: "
                          f"[{first.code}] {first.message}); it cannot be handed over")
    details = {"from": from_ or actor.name, "to": to, "reason": reason,
               # the verification done before handing over is part of the record
               "verification": {"result": "pass", "checks": sorted(CHECKS),
                                "warnings": list(result.warnings)}}
    return seal(bundle, key, actor, organisation=organisation, action="handover", action_details=details,
                reuse_manifest=True)


def write_zip(bundle: Path, dest: Path | None = None) -> tuple[Path, str]:
    """One deterministic zip of the bundle (sorted names under ``<bundle name>/``,
    fixed times and modes, stored uncompressed): (path, SHA-256)."""
    dest = dest or bundle.with_name(bundle.name + ".zip")
    names = sorted(payload_files(bundle) + tag_files(bundle) + [n for n in UNSIGNED if (bundle / n).is_file()])
    tmp = dest.with_name(_TMP + dest.name)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for rel in names:
            info = zipfile.ZipInfo(f"{bundle.name}/{rel}", ZIP_TIME)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = (bundle / rel).stat().st_size
            with open(bundle / rel, "rb") as src, zf.open(info, "w") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
    os.replace(tmp, dest)
    return dest, sha256_file(str(dest))[0]
