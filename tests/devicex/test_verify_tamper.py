"""Tampering with a real sealed bundle: every change fails verification, with the right reason."""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from devicex.bagit import BundleError  # noqa: E402
from devicex.bundle import seal  # noqa: E402
from devicex.custody import Actor, CustodyLog, canonical  # noqa: E402
from devicex.keys import fingerprint, public_pem, sign  # noqa: E402
from devicex.verify import CODES, verify_bundle  # noqa: E402
from tests.sealing_support import EXAMINER, bundle, bundle_files, other_key, signing_key, snapshot, work_root  # noqa: E402,F401

# file -> (expected code when changed, expected code when deleted); payload files: see _expected
TAG_CODES = {
    "bagit.txt": ("tag-modified", "tag-missing"),
    "bag-info.txt": ("tag-modified", "tag-missing"),
    "manifest-sha256.txt": ("tag-modified", "tag-missing"),
    "custody.jsonl": ("tag-modified", "tag-missing"),
    "signing-key.pub.pem": ("tag-modified", "tag-missing"),
    "payload-sizes.txt": ("tag-modified", "tag-missing"),
    "tagmanifest-sha256.txt": ("statement-mismatch", "manifest-missing"),
    "seal-statement.json": ("signature-invalid", "signature-missing"),
    "seal-signature.ed25519": ("signature-invalid", "signature-missing"),
}
EXTRA = {  # a second reason each change must also give
    "custody.jsonl": "custody-", "signing-key.pub.pem": "key-", "bagit.txt": "bagit-declaration",
}


def _expected(rel: str, op: str) -> str:
    changed, deleted = TAG_CODES.get(rel, ("payload-modified", "payload-missing"))
    if op == "truncate" and rel == "seal-signature.ed25519":
        return "signature-malformed"
    return deleted if op == "delete" else changed


def _check(b: Path, rel: str, op: str, problems: list[str]) -> None:
    result = verify_bundle(b)
    codes = result.codes()
    want = _expected(rel, op)
    if result.ok or want not in codes:
        problems.append(f"{op} {rel}: expected {want}, got {sorted(codes) or 'PASS'}")
    extra = EXTRA.get(rel)
    if extra and op != "delete" and not any(c.startswith(extra) for c in codes):
        problems.append(f"{op} {rel}: expected also {extra}*, got {sorted(codes)}")
    assert all(c in CODES for c in codes)


@pytest.mark.parametrize("op", ["flip", "truncate", "delete"])
def test_every_file_flipped_truncated_deleted(bundle: Path, op: str) -> None:  # noqa: F811
    assert verify_bundle(bundle).ok
    problems: list[str] = []
    tried = 0
    for rel in bundle_files(bundle):
        path = bundle / rel
        original = path.read_bytes()
        if op != "delete" and not original:
            continue  # an empty file has no byte to flip or cut (its deletion is tested)
        if op == "flip":
            data = bytearray(original)
            data[len(data) // 2] ^= 0x01
            path.write_bytes(bytes(data))
        elif op == "truncate":
            path.write_bytes(original[: len(original) // 2])
        else:
            path.unlink()
        tried += 1
        _check(bundle, rel, op, problems)
        path.write_bytes(original)
    assert tried >= 10 and not problems, "\n".join(problems)
    assert verify_bundle(bundle).ok


def test_added_files_and_links(bundle: Path) -> None:  # noqa: F811
    extra = bundle / "data" / "files" / "planted.jpg"
    extra.write_bytes(b"\xff\xd8planted")
    assert verify_bundle(bundle).codes() >= {"payload-unlisted", "payload-oxum"}
    extra.unlink()
    (bundle / "notes.txt").write_text("added later", "utf-8")
    assert "tag-unlisted" in verify_bundle(bundle).codes()
    (bundle / "notes.txt").unlink()
    os.symlink("/etc/hostname", bundle / "data" / "link")
    assert "special-file" in verify_bundle(bundle).codes()
    (bundle / "data" / "link").unlink()
    assert verify_bundle(bundle).ok


def _lines(b: Path) -> list[bytes]:
    return (b / "custody.jsonl").read_bytes().split(b"\n")[:-1]


def _write_lines(b: Path, lines: list[bytes]) -> None:
    (b / "custody.jsonl").write_bytes(b"".join(ln + b"\n" for ln in lines))


def _edit(lines: list[bytes], i: int) -> list[bytes]:
    entry = json.loads(lines[i])
    entry["result"] = "edited"
    return lines[:i] + [canonical(entry)] + lines[i + 1:]


CUSTODY_CASES = {
    "edit": (lambda ls: _edit(ls, 1), "custody-edited"),
    "edit-last": (lambda ls: _edit(ls, len(ls) - 1), "custody-edited"),
    "delete": (lambda ls: ls[:1] + ls[2:], "custody-gap"),
    "delete-first": (lambda ls: ls[1:], "custody-gap"),
    "reorder": (lambda ls: ls[:1] + [ls[2], ls[1]] + ls[3:], "custody-reordered"),
    "duplicate": (lambda ls: ls[:2] + [ls[1]] + ls[2:], "custody-duplicate"),
    "truncate": (lambda ls: ls[:-1], "custody-truncated"),
    "truncate-mid-line": (lambda ls: ls[:-1] + [ls[-1][:40]], "custody-truncated"),
}


@pytest.mark.parametrize("case", sorted(CUSTODY_CASES))
def test_custody_tampering(bundle: Path, case: str) -> None:  # noqa: F811
    change, code = CUSTODY_CASES[case]
    lines = _lines(bundle)
    new = change(lines)
    data = b"".join(ln + b"\n" for ln in new)
    if case == "truncate-mid-line":
        data = data[:-1]
    (bundle / "custody.jsonl").write_bytes(data)
    codes = verify_bundle(bundle).codes()
    assert {code, "tag-modified"} <= codes, codes


def test_custody_entry_appended_after_sealing(bundle: Path) -> None:  # noqa: F811
    CustodyLog(bundle / "custody.jsonl", Actor("z", "Someone"), None, None).append("note", details={"x": "y"})
    assert {"custody-appended", "custody-seal-mismatch", "tag-modified"} <= verify_bundle(bundle).codes()


def test_forger_rewrites_every_manifest_but_cannot_sign(bundle: Path) -> None:  # noqa: F811
    """Edit the log and fix up bag-info and the tag manifest consistently: only the signature stops it."""
    from devicex.bagit import format_manifest, tag_files
    from devicex.hashing import sha256_file
    _write_lines(bundle, _edit(_lines(bundle), 2))
    tags = {rel: sha256_file(str(bundle / rel))[0] for rel in tag_files(bundle)}
    (bundle / "tagmanifest-sha256.txt").write_bytes(format_manifest(tags))
    codes = verify_bundle(bundle).codes()
    assert "statement-mismatch" in codes and "custody-edited" in codes and "tag-modified" not in codes


def test_swapped_key(bundle: Path) -> None:  # noqa: F811
    intruder = other_key()
    (bundle / "signing-key.pub.pem").write_bytes(public_pem(intruder.public_key()))
    assert {"key-mismatch", "signature-invalid", "tag-modified"} <= verify_bundle(bundle).codes()
    # the intruder also re-signs the statement with their key: still the wrong key for the tag manifest
    statement = (bundle / "seal-statement.json").read_bytes()
    (bundle / "seal-signature.ed25519").write_bytes(sign(intruder, statement))
    assert {"key-mismatch", "tag-modified"} <= verify_bundle(bundle).codes()


def test_full_reseal_by_another_key_is_caught_by_the_fingerprint(bundle: Path, signing_key) -> None:  # noqa: F811
    original_fp = fingerprint(signing_key.public_key())
    victim = bundle / "data" / "case.db"
    victim.write_bytes(victim.read_bytes() + b"\0")
    with pytest.raises(BundleError, match="last sealed with key"):  # devicex will not re-seal a stranger's bundle
        seal(bundle, other_key(), Actor("evil", "Forger"), accept_changes="cover-up")
    # a forger can claim to have pinned the original key: the chain is self-consistent ...
    seal(bundle, other_key(), Actor("evil", "Forger"), accept_changes="cover-up", previous_fingerprint=original_fp)
    result = verify_bundle(bundle)
    assert result.ok and any("signing key changed" in w for w in result.warnings)  # ... but the change is shown
    result = verify_bundle(bundle, original_fp)
    assert result.codes() == {"key-fingerprint-mismatch"}


def test_bag_info_changes(bundle: Path) -> None:  # noqa: F811
    info = bundle / "bag-info.txt"
    original = info.read_bytes()
    info.write_bytes(original.replace(b"Case-Reference: OP-TEST-001", b"Case-Reference: OP-OTHER-002"))
    assert {"tag-modified", "bag-info-mismatch"} <= verify_bundle(bundle).codes()
    info.write_bytes(original.replace(b"Payload-Oxum: ", b"Payload-Oxum: 1"))
    assert {"tag-modified", "payload-oxum"} <= verify_bundle(bundle).codes()
    info.write_bytes(original + b"Extra-Field: added\n")
    assert "tag-modified" in verify_bundle(bundle).codes()


def test_random_byte_flips_are_all_detected(bundle: Path) -> None:  # noqa: F811
    rng = random.Random(20240115)
    files = [rel for rel in bundle_files(bundle) if (bundle / rel).stat().st_size]
    before = snapshot(bundle)
    missed: list[str] = []
    wrong: list[str] = []
    for _ in range(300):
        rel = rng.choice(files)
        path = bundle / rel
        original = path.read_bytes()
        data = bytearray(original)
        offset = rng.randrange(len(data))
        data[offset] ^= rng.randrange(1, 256)
        path.write_bytes(bytes(data))
        result = verify_bundle(bundle)
        if result.ok:
            missed.append(f"{rel}@{offset}")
        elif _expected(rel, "flip") not in result.codes():
            wrong.append(f"{rel}@{offset}: {sorted(result.codes())}")
        path.write_bytes(original)
    assert not missed and not wrong, (missed, wrong)
    assert verify_bundle(bundle).ok
    assert {k: v[0] for k, v in snapshot(bundle).items()} == {k: v[0] for k, v in before.items()}


def test_exported_file_swapped_and_resealed_is_caught(bundle: Path, signing_key) -> None:  # noqa: F811
    """Even a signed re-seal (--accept-changes) cannot launder a changed export: the
    extraction's custody entry holds the digest of what it exported."""
    victim = sorted(p for p in (bundle / "data" / "files").rglob("*") if p.is_file() and p.stat().st_size)[0]
    victim.write_bytes(b"planted content")
    seal(bundle, signing_key, EXAMINER, accept_changes="test: simulate a laundering re-seal")
    result = verify_bundle(bundle)
    codes = {f.code for f in result.failures}
    assert not result.ok and codes == {"export-listing-mismatch"}, result.failures
    assert any(f.path == "data/" + victim.relative_to(bundle / "data").as_posix() for f in result.failures)
