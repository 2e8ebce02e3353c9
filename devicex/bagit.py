"""The sealed bundle's format: BagIt (RFC 8493, v1.0) plus devicex's signed
seal statement. Names, manifests, bag-info, which files are payload and which
are tag files, and what the custody log says that bag-info repeats. Sealing is
:mod:`devicex.bundle`, checking :mod:`devicex.verify`.

Layout of a sealed bundle::

    bagit.txt                 BagIt declaration                    (tag file)
    bag-info.txt              case, exhibit, examiner, tool, sources, custody head (tag file)
    manifest-sha256.txt       SHA-256 of every payload file        (tag file)
    custody.jsonl             the hash-chained custody log         (tag file)
    signing-key.pub.pem       the examiner's Ed25519 public key    (tag file)
    payload-sizes.txt         size in bytes of every payload file  (tag file; checked before any hashing)
    tagmanifest-sha256.txt    SHA-256 of every tag file above
    seal-statement.json       what is signed: tag-manifest SHA-256, custody head and count, key fingerprint
    seal-signature.ed25519    64-byte Ed25519 signature over the exact bytes of seal-statement.json
    data/                     payload: case.db, files/, report/, export/

Nothing else may sit outside ``data/`` (a foreign file there is refused,
never swept in as a tag file), and everything under ``data/files`` must be an
export that an extraction recorded (:mod:`devicex.seal_checks`).

The statement and signature sit outside the tag manifest (the tag manifest's
hash is inside the statement).

Manifest paths are written literally (``<sha256>  data/<path>``), as
``sha256sum -c`` and the ``bagit`` package read them; payload names with a
line break are refused (devicex export names never contain one).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.errors import DevicexError

BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
PUBLIC_KEY = "signing-key.pub.pem"
SIZES = "payload-sizes.txt"
STATEMENT = "seal-statement.json"
SIGNATURE = "seal-signature.ed25519"
UNSIGNED = (TAGMANIFEST, STATEMENT, SIGNATURE)  # outside the tag manifest
REQUIRED_TAGS = (BAGIT_TXT, BAG_INFO, MANIFEST, CUSTODY_FILE, PUBLIC_KEY, SIZES)
EXPORT_ROOT = "data/files"  # exported content: only what an extraction recorded may be there
PAYLOAD = "data"
STATEMENT_FORMAT = "devicex-seal/1"
BAGIT_DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
SEAL_ACTIONS = ("seal", "handover")
_MANIFEST_LINE = re.compile(r"([0-9A-Fa-f]{64})[ \t]+\*?(.+)")
_SIZES_LINE = re.compile(r"(0|[1-9][0-9]{0,18})  (.+)")


class BundleError(DevicexError):
    """The folder cannot be sealed (or handed over) as it is."""


@dataclass(frozen=True)
class SourceRecord:
    """What the custody log says about one evidence source."""

    ref: str
    size: int | None
    intake: dict[str, str]
    stored_check: str
    reverify: dict[str, str] | None
    reverify_result: str | None


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


def format_sizes(sizes: dict[str, int]) -> bytes:
    return "".join(f"{sizes[p]}  {p}\n" for p in sorted(sizes)).encode("utf-8")


def parse_sizes(data: bytes) -> tuple[dict[str, int], list[str]]:
    """(path -> size in bytes, problems) from ``payload-sizes.txt``."""
    sizes: dict[str, int] = {}
    problems: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {}, ["not UTF-8"]
    for number, line in enumerate(text.split("\n"), 1):
        m = _SIZES_LINE.fullmatch(line)
        if m is None:
            if line:
                problems.append(f"line {number} is not '<size>  <path>'")
        elif m.group(2) in sizes:
            problems.append(f"line {number}: {m.group(2)} listed twice")
        else:
            sizes[m.group(2)] = int(m.group(1))
    return sizes, problems


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


# What the custody log says (bag-info repeats it; verify checks it).

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
            algos = d.get("algorithms", ["md5", "sha1", "sha256"])  # a log from before the choice: all three
            records[i] = SourceRecord(records[i].ref, records[i].size, records[i].intake, records[i].stored_check,
                                      {k: str(d.get(k)) for k in algos if k in ("md5", "sha1", "sha256")},
                                      e["result"])
    return records


NOT_REVERIFIED = "skipped"  # the source-reverify result when the examiner chose not to re-verify


def reverify_verdict(src: SourceRecord) -> str:
    """``not-run``, ``not-reverified`` (the examiner's choice), ``match`` (every hash re-computed equals the
    intake's) or ``mismatch``."""
    if src.reverify is None:
        return "not-run"
    if src.reverify_result == NOT_REVERIFIED and not src.reverify:
        return "not-reverified"
    same = bool(src.reverify) and all(src.intake.get(k) == v for k, v in src.reverify.items())
    return "match" if same and src.reverify_result == "ok" else "mismatch"


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


def payload_files(bundle: Path) -> list[str]:
    """Relative paths (``data/...``) of every payload file, sorted; refuses links, special files, empty
    folders (BagIt records files only, so an empty folder would pass unseen) and folders it cannot read."""
    root = bundle / PAYLOAD
    if root.is_symlink() or not root.is_dir():
        raise BundleError(f"{bundle}: no {PAYLOAD}/ folder: not an extraction output")
    found: list[str] = []

    def unreadable(exc: OSError) -> None:
        raise BundleError(f"{exc.filename}: cannot be read ({exc.strerror}); nothing can be sealed unread")

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        if not dirnames and not filenames and Path(dirpath) != root:
            raise BundleError(f"{Path(dirpath).relative_to(bundle).as_posix()}: an empty folder cannot be sealed "
                              "(no extraction writes one); remove it")
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


KNOWN_TAGS = frozenset(REQUIRED_TAGS)


def tag_files(bundle: Path) -> list[str]:
    """The tag files (outside ``data/``; not the tag manifest, statement or signature). Anything else
    outside ``data/`` is foreign to an extraction output and refused: sealing never sweeps it in."""
    found: list[str] = []
    for entry in sorted(os.listdir(bundle)):
        if entry == PAYLOAD or entry in UNSIGNED:
            continue
        if entry not in KNOWN_TAGS:
            raise BundleError(f"{bundle / entry}: not part of an extraction output (only {PAYLOAD}/ and the "
                              "bundle's own files belong in OUT); move it out before sealing")
        if (bundle / entry).is_symlink() or not (bundle / entry).is_file():
            raise BundleError(f"{bundle / entry}: links and special files cannot be sealed")
        found.append(entry)
    return found
