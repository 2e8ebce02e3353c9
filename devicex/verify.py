"""Offline verification of a sealed bundle (a folder, or the zip ``seal --zip``
writes). Strictly read-only: nothing in the bundle is written, not even a
custody entry; SQLite is opened immutable (or from memory for a zip).

Every finding has a stable code (see :data:`CODES`) and says where it is.
The bundle passes only when there is no finding at all.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devicex import __version__
from devicex.bagit import (
    BAG_INFO,
    BAGIT_DECLARATION,
    BAGIT_TXT,
    EXPORT_ROOT,
    MANIFEST,
    PAYLOAD,
    PUBLIC_KEY,
    REQUIRED_TAGS,
    SEAL_ACTIONS,
    SIGNATURE,
    SIZES,
    STATEMENT,
    STATEMENT_FORMAT,
    TAGMANIFEST,
    UNSIGNED,
    parse_bag_info,
    parse_manifest,
    parse_sizes,
    refs_from_log,
    reverify_verdict,
    sources_from_log,
)
from devicex.bundle_reader import MAX_WHOLE, BundleReader, open_reader
from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import ChainReport, canonical, check_chain
from devicex.keys import (
    KeyFileError,
    fingerprint,
    load_public_pem,
    normalize_fingerprint,
    signature_valid,
)
from devicex.seal_checks import signing_keys
from devicex.verify_evidence import EvidenceChecks

CHECKS: dict[str, str] = {
    "structure": "BagIt declaration present and exact; no links, special files or empty folders; nothing unreadable",
    "signature": "Ed25519 signature over the seal statement; statement matches the tag manifest and key",
    "key-fingerprint": "signing key fingerprint equals the one given with --key-fingerprint",
    "payload": "every payload file's size (checked first) and SHA-256 as sealed; none missing, none added; "
               "Payload-Oxum",
    "tag-files": "every tag file's SHA-256 equals tagmanifest-sha256.txt; none missing, none added",
    "bag-info": "bag-info.txt agrees with the custody log, key and sources",
    "custody": "custody chain intact (no edit, gap, reorder, duplicate, truncation); its head is this seal; "
               "every change of signing key was made by a seal that pinned the previous key",
    "sources": "source hashes at intake equal the hashes re-verified after extraction (log and case.db)",
    "exports": "every exported file equals the listing its extraction logged (custody digest, case.db, manifest); "
               "nothing under data/files that no extraction recorded",
}
_CODES_BY_CHECK: dict[str, tuple[str, ...]] = {
    "structure": ("bagit-declaration", "special-file", "empty-folder", "unreadable", "manifest-missing",
                  "manifest-malformed"),
    "signature": ("signature-missing", "signature-malformed", "signature-invalid", "key-missing", "key-invalid",
                  "key-mismatch", "statement-mismatch"),
    "key-fingerprint": ("key-fingerprint-mismatch",),
    "payload": ("payload-missing", "payload-modified", "payload-unlisted", "payload-oxum"),
    "tag-files": ("tag-missing", "tag-modified", "tag-unlisted", "tag-too-large"),
    "bag-info": ("bag-info-missing", "bag-info-malformed", "bag-info-mismatch"),
    "custody": ("custody-missing", "custody-empty", "custody-malformed", "custody-not-canonical", "custody-duplicate",
                "custody-reordered", "custody-gap", "custody-edited", "custody-truncated", "custody-appended",
                "custody-seal-mismatch", "custody-output-mismatch", "custody-key-change"),
    "sources": ("source-hash-mismatch", "source-not-reverified", "source-record-mismatch"),
    "exports": ("export-listing-mismatch", "payload-unrecorded"),
}
CODES: dict[str, str] = {code: check for check, codes in _CODES_BY_CHECK.items() for code in codes}
_STATEMENT_FIELDS = ("format", "algorithm", "key_fingerprint_sha256", "tagmanifest_sha256",
                     "payload_manifest_sha256", "payload_oxum", "custody_entries", "custody_head_sha256")



@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "check": CODES[self.code], "message": self.message, "path": self.path}


@dataclass
class VerifyResult:
    bundle: str
    failures: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    key_fingerprint: str | None = None
    pinned_fingerprint: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    custody: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def codes(self) -> set[str]:
        return {f.code for f in self.failures}

    def checks(self) -> list[dict[str, Any]]:
        out = []
        for name, description in CHECKS.items():
            if name == "key-fingerprint" and self.pinned_fingerprint is None:
                out.append({"check": name, "status": "not-requested", "description": description, "failures": 0})
                continue
            n = sum(1 for f in self.failures if CODES[f.code] == name)
            out.append({"check": name, "status": "fail" if n else "pass", "description": description, "failures": n})
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "result": "pass" if self.ok else "fail", "ok": self.ok,
                "verifier": f"devicex {__version__}", "checks": self.checks(),
                "failures": [f.as_dict() for f in self.failures], "warnings": self.warnings,
                "key": {"fingerprint_sha256": self.key_fingerprint, "pinned": self.pinned_fingerprint,
                        "matches_pinned": (self.pinned_fingerprint == self.key_fingerprint
                                           if self.pinned_fingerprint else None)},
                "info": self.info, "custody": self.custody}


# --------------------------------------------------------------------------- the checks

def verify_bundle(path: Path, key_fingerprint: str | None = None) -> VerifyResult:
    """Verify ``path``; ``key_fingerprint`` (if given) must be a valid
    fingerprint (see :func:`devicex.keys.normalize_fingerprint`)."""
    pinned = normalize_fingerprint(key_fingerprint) if key_fingerprint else None
    reader = open_reader(path)
    try:
        return _Verifier(reader, str(path), pinned).run()
    finally:
        reader.close()


def _sha(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


class _Verifier(EvidenceChecks):
    def __init__(self, reader: BundleReader, name: str, pinned: str | None) -> None:
        self.r = reader
        self.res = VerifyResult(name, pinned_fingerprint=pinned)
        self.manifest: dict[str, str] = {}
        self.statement: dict[str, Any] | None = None
        self.fp: str | None = None
        self.chain = ChainReport()

    def fail(self, code: str, message: str, path: str | None = None) -> None:
        self.res.failures.append(Finding(code, message, path))

    def run(self) -> VerifyResult:
        for rel in self.r.specials:
            self.fail("special-file", "a link, special file, duplicate zip entry or zip folder entry holding data "
                      "is not allowed in a bundle", rel)
        for rel, why in self.r.unreadable:
            self.fail("unreadable", f"{why}: what cannot be read cannot be verified", rel)
        for rel in self.r.empty_dirs:
            self.fail("empty-folder", "an empty folder: no manifest can cover it (planted?)", rel)
        for rel, size in sorted(self.r.files.items()):
            if not rel.startswith(PAYLOAD + "/") and size > MAX_WHOLE:
                self.fail("tag-too-large", f"{size} bytes: no tag file of a bundle is that big (not read)", rel)
        if self.r.read(BAGIT_TXT) != BAGIT_DECLARATION:
            self.fail("bagit-declaration", "missing" if BAGIT_TXT not in self.r.files else
                      "not the BagIt 1.0 / UTF-8 declaration", BAGIT_TXT)
        self._payload()
        self._tags()
        self._signature()
        self._custody()
        self._bag_info()
        self._case_db()
        return self.res

    def _oxum(self) -> str:
        sizes = [n for rel, n in self.r.files.items() if rel.startswith(PAYLOAD + "/")]
        return f"{sum(sizes)}.{len(sizes)}"

    def _parsed_manifest(self, name: str) -> dict[str, str]:
        data = self.r.read(name)
        if data is None:
            self.fail("manifest-missing", "missing", name)
            return {}
        hashes, problems = parse_manifest(data)
        for problem in problems:
            self.fail("manifest-malformed", problem, name)
        return hashes

    def _sealed_sizes(self) -> dict[str, int]:
        data = self.r.read(SIZES)
        if data is None:
            return {}  # reported as a missing (or too large) tag file
        sizes, problems = parse_sizes(data)
        for problem in problems:
            self.fail("manifest-malformed", problem, SIZES)
        return sizes

    def _payload(self) -> None:
        self.manifest = self._parsed_manifest(MANIFEST)
        sizes = self._sealed_sizes()
        for rel, expected in sorted(self.manifest.items()):
            if not rel.startswith(PAYLOAD + "/"):
                self.fail("manifest-malformed", f"{rel} is not under {PAYLOAD}/", MANIFEST)
            elif rel not in self.r.files:
                self.fail("payload-missing", "listed in the manifest but not in the bundle", rel)
            elif sizes.get(rel) != self.r.files[rel]:  # compared before reading a byte of it
                self.fail("payload-modified", f"{self.r.files[rel]} bytes, sealed "
                          f"{sizes.get(rel, '(no size recorded)')}: not hashed", rel)
            elif (actual := self.r.sha256(rel)) != expected:
                self.fail("payload-modified", f"SHA-256 is {actual}, manifest says {expected}", rel)
        for rel in sorted(self.r.files):
            if rel.startswith(PAYLOAD + "/") and rel not in self.manifest:
                self.fail("payload-unlisted", "in the bundle but not in the manifest (added)", rel)
        files = [n for rel, n in self.r.files.items() if rel.startswith(PAYLOAD + "/")]
        self.res.info.update(payload_files=len(files), payload_bytes=sum(files))

    def _tags(self) -> None:
        tags = self._parsed_manifest(TAGMANIFEST)
        for rel, expected in sorted(tags.items()):
            if rel.startswith(PAYLOAD + "/") or rel in UNSIGNED:
                self.fail("manifest-malformed", f"{rel} must not be in the tag manifest", TAGMANIFEST)
            elif rel not in self.r.files:
                self.fail("tag-missing", "listed in the tag manifest but not in the bundle", rel)
            elif self.r.files[rel] > MAX_WHOLE:
                continue  # reported as too large, never read
            elif (actual := self.r.sha256(rel)) != expected:
                self.fail("tag-modified", f"SHA-256 is {actual}, tag manifest says {expected}", rel)
        for rel in sorted(self.r.files):
            if not rel.startswith(PAYLOAD + "/") and rel not in UNSIGNED and rel not in tags:
                self.fail("tag-unlisted", "a tag file not covered by the tag manifest", rel)
        for rel in REQUIRED_TAGS:
            if rel not in tags and rel not in self.r.files:
                self.fail("tag-missing", "required tag file missing", rel)

    def _signature(self) -> None:
        raw, sig, pem = self.r.read(STATEMENT), self.r.read(SIGNATURE), self.r.read(PUBLIC_KEY)
        for name, data, code in ((STATEMENT, raw, "signature-missing"), (SIGNATURE, sig, "signature-missing"),
                                 (PUBLIC_KEY, pem, "key-missing")):
            if data is None:
                self.fail(code, "missing", name)
        key = None
        if pem is not None:
            try:
                key = load_public_pem(pem)
                self.fp = self.res.key_fingerprint = fingerprint(key)
            except KeyFileError as exc:
                self.fail("key-invalid", str(exc), PUBLIC_KEY)
        pinned = self.res.pinned_fingerprint
        if pinned and self.fp != pinned:
            self.fail("key-fingerprint-mismatch", f"the bundle was signed with key {self.fp or '(none readable)'}, "
                      f"not with the expected key {pinned}", PUBLIC_KEY)
        if raw is not None:
            try:
                parsed = json.loads(raw)
                if not isinstance(parsed, dict) or any(k not in parsed for k in _STATEMENT_FIELDS):
                    raise ValueError("fields missing")
                if canonical(parsed) + b"\n" != raw or parsed["format"] != STATEMENT_FORMAT:
                    raise ValueError("not a canonical devicex-seal/1 statement")
                self.statement = parsed
            except (ValueError, TypeError) as exc:
                self.fail("signature-malformed", f"unreadable seal statement: {exc}", STATEMENT)
        if sig is not None and len(sig) != 64:
            self.fail("signature-malformed", f"{len(sig)} bytes, an Ed25519 signature has 64", SIGNATURE)
        elif key is not None and sig is not None and raw is not None and not signature_valid(key, sig, raw):
            self.fail("signature-invalid", "the signature does not verify with the bundle's public key",
                      SIGNATURE)
        st = self.statement
        if st is None:
            return
        if self.fp is not None and st["key_fingerprint_sha256"] != self.fp:
            self.fail("key-mismatch", "the public key in the bundle is not the key named in the seal statement",
                      PUBLIC_KEY)
        if st["tagmanifest_sha256"] != _sha(self.r.read(TAGMANIFEST)):
            self.fail("statement-mismatch", "the tag manifest is not the one that was signed", TAGMANIFEST)
        if st["payload_manifest_sha256"] != _sha(self.r.read(MANIFEST)):
            self.fail("statement-mismatch", "the payload manifest is not the one that was signed", MANIFEST)
        if st["payload_oxum"] != self._oxum():
            self.fail("payload-oxum", f"payload is {self._oxum()} (bytes.files), signed {st['payload_oxum']}",
                      STATEMENT)
        self.res.info.update({k: st.get(k) for k in ("sealed_at", "case_ref", "exhibit_ref", "examiner", "action")})

    def _custody(self) -> None:
        data = self.r.read(CUSTODY_FILE)
        if data is None:
            self.fail("custody-missing", "missing", CUSTODY_FILE)
            return
        st = self.statement
        count, head = (int(st["custody_entries"]), str(st["custody_head_sha256"])) if st else (None, None)
        self.chain = chain = check_chain(data, count, head)
        for issue in chain.issues:
            self.fail(issue.code, issue.message, CUSTODY_FILE)
        self.res.warnings += [f"custody: {w}" for w in chain.warnings]
        self.res.info.update(custody_entries=chain.lines, custody_head_sha256=chain.head)
        entries = [e.entry for e in chain.entries]
        self.res.custody = [{"seq": e["seq"], "time": e["time"], "action": e["action"], "result": e["result"],
                             "actor": e["actor"].get("name"), **{k: e["details"][k] for k in ("from", "to", "reason")
                                                                 if k in e["details"]}} for e in entries]
        if not entries:
            self.fail("custody-empty", "the custody log has no entries", CUSTODY_FILE)
            return
        last = entries[-1]
        seal = last["details"].get("seal") if isinstance(last["details"].get("seal"), dict) else {}
        if last["action"] not in SEAL_ACTIONS or not seal:
            self.fail("custody-seal-mismatch", f"the last entry (seq {last['seq']}, {last['action']}) is not the "
                      "seal", CUSTODY_FILE)
        else:
            for key, actual in (("key_fingerprint_sha256", self.fp), ("payload_oxum", self._oxum()),
                                ("payload_manifest_sha256", _sha(self.r.read(MANIFEST)))):
                if seal.get(key) != actual:
                    self.fail("custody-seal-mismatch", f"seal entry seq {last['seq']} records {key} "
                              f"{seal.get(key)}, the bundle has {actual}", CUSTODY_FILE)
        latest: dict[str, tuple[int, str]] = {}
        for e in entries:
            for out in e["outputs"]:
                ref = out.get("ref") if isinstance(out, dict) else None
                if isinstance(ref, str) and ref == EXPORT_ROOT:
                    continue  # an export listing, checked against case.db in _case_db
                if isinstance(ref, str) and ref.startswith(PAYLOAD + "/") and out.get("sha256"):
                    latest[ref] = (e["seq"], out["sha256"])
        for ref, (seq, sha) in sorted(latest.items()):
            if self.manifest.get(ref, sha) != sha or ref not in self.r.files:
                self.fail("custody-output-mismatch", f"custody seq {seq} recorded SHA-256 {sha}; the bundle's "
                          f"file differs or is missing", ref)
        self._signing_keys(entries)
        self._sources(entries)

    def _signing_keys(self, entries: list[dict[str, Any]]) -> None:
        """Every change of signing key in the chain is shown; one the new signer did not pin fails."""
        keys = signing_keys(entries)
        self.res.info["signing_keys"] = keys
        for before, after in zip(keys, keys[1:], strict=False):
            if after["fingerprint"] == before["fingerprint"]:
                continue
            change = (f"signing key changed at custody seq {after['seq']} ({after['action']} by {after['actor']}): "
                      f"{before['fingerprint']} -> {after['fingerprint']}")
            if after["previous_pinned"] == before["fingerprint"]:
                self.res.warnings.append(f"{change}; the new signer pinned the previous key")
            else:
                self.fail("custody-key-change", f"{change}, without pinning the previous key", CUSTODY_FILE)

    def _sources(self, entries: list[dict[str, Any]]) -> None:
        sources = sources_from_log(entries)
        if not sources:
            self.res.warnings.append("no source intake with hashes is recorded in the custody log")
        for src in sources:
            verdict = reverify_verdict(src)
            if src.reverify is None:
                self.fail("source-not-reverified", "hashed at intake but never re-verified", src.ref)
            elif verdict == "not-reverified":
                self.res.warnings.append(f"{src.ref}: not re-verified, by the examiner's choice")
            elif verdict != "match":
                diff = [k for k, v in src.reverify.items() if v != src.intake.get(k)]
                self.fail("source-hash-mismatch", f"re-verification differs from intake ({', '.join(diff) or 'result'}"
                          f": {src.reverify_result})", src.ref)
            if src.stored_check == "fail":
                self.res.warnings.append(f"{src.ref}: hashes stored in the E01 did not match its content at intake")
        self.res.info["sources"] = [{"path": s.ref, "size": s.size, **s.intake, "reverified": reverify_verdict(s)}
                                    for s in sources]

    def _bag_info(self) -> None:
        data = self.r.read(BAG_INFO)
        if data is None:
            self.fail("bag-info-missing", "missing", BAG_INFO)
            return
        fields, problems = parse_bag_info(data)
        for problem in problems:
            self.fail("bag-info-malformed", problem, BAG_INFO)
        multi: dict[str, list[str]] = {}
        for label, value in fields:
            multi.setdefault(label, []).append(value)
        one = {k: v[0] for k, v in multi.items()}
        if one.get("Payload-Oxum") != self._oxum():
            self.fail("payload-oxum", f"Payload-Oxum is {one.get('Payload-Oxum')}, the payload is {self._oxum()}",
                      BAG_INFO)
        entries = [e.entry for e in self.chain.entries]
        case_ref, exhibit_ref = refs_from_log(entries)
        sources = sources_from_log(entries)
        expect: dict[str, list[str]] = {
            "Custody-Log-Entries": [str(self.chain.lines)], "Custody-Log-Head-SHA256": [self.chain.head],
            "Signing-Key-Fingerprint-SHA256": [str(self.fp)], "Case-Reference": [case_ref] if case_ref else [],
            "Exhibit-Reference": [exhibit_ref] if exhibit_ref else [],
            **{f"Source-{a.upper()}": [s.intake[a] for s in sources] for a in ("md5", "sha1", "sha256")}}
        for label, values in expect.items():
            if multi.get(label, []) != values:
                self.fail("bag-info-mismatch", f"{label} is {', '.join(multi.get(label, [])) or '(absent)'}; "
                          f"expected {', '.join(values) or '(absent)'}", BAG_INFO)
        date = one.get("Bagging-Date", "")
        if len(date) != 10 or date[4] != "-" or date[7] != "-" or not date.replace("-", "").isdigit():
            self.fail("bag-info-malformed", f"Bagging-Date {date!r} is not YYYY-MM-DD", BAG_INFO)
