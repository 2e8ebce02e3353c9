"""Checks of what devicex does around the content: scope exclusion, the custody chain,
bundle sealing and verification, and tamper detection. Each is run on real extractions
of the shipped fixtures, with the truth recomputed independently (hashlib, openssl)."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from pipelines.validate.record import Finding, Tally
from pipelines.validate.truth import read_tsv

SCOPE = """scope_version = 1
[authorisation]
legal_basis = "validation"
reference = "VALIDATION"
authorised_by = "devicex validate"
purpose = "check that nothing outside the scope is taken"
user_agreement = false
less_intrusive_means = "not applicable (validation)"

[[select]]
paths = ["DCIM/**"]
categories = ["images"]
"""
SCOPE_SELECTS = "DCIM/"  # what the scope above takes of phone.img's manifest (every DCIM file is a JPEG)


def scope_exclusion(label: str, out: Path, manifest: Path, tally: Tally) -> None:
    """Files of the manifest (made from the source tree by fixtures/build.sh) are taken
    exactly when the scope selects them; nothing of a file left out (its name, or its
    marker text) is anywhere in OUT."""
    import sqlite3

    conn = sqlite3.connect(out / "data" / "case.db")
    taken = {r[0].lstrip("/") for r in conn.execute("SELECT path FROM files WHERE kind = 'file'")}
    blob = b"".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())
    conn.close()
    for row in read_tsv(manifest):
        path, marker = row["path"], row["marker"]
        want = path.startswith(SCOPE_SELECTS)
        leaked = [what for what, needle in (("name", Path(path).name.encode()), ("content marker", marker.encode()))
                  if needle in blob]
        if want and path in taken or not want and path not in taken and not leaked:
            tally.agree(label)
        else:
            got = "taken" if path in taken else "not taken"
            if leaked:
                got += "; found in OUT: " + ", ".join(leaked)
            tally.disagree(Finding(label, path, got, "taken" if want else "left in the image, nothing recorded"))


def custody_chain(label: str, log: Path, tally: Tally) -> None:
    """Each custody line holds the SHA-256 of the line before (64 zeros for the first) and
    its own sequence number, recomputed here with hashlib."""
    prev = "0" * 64
    for number, line in enumerate(log.read_bytes().splitlines(keepends=True), 1):
        entry = json.loads(line)
        if entry.get("prev_sha256") == prev and entry.get("seq") == number:
            tally.agree(label)
        else:
            tally.disagree(Finding(label, f"custody line {number}", f"prev_sha256 {entry.get('prev_sha256')}, "
                                   f"seq {entry.get('seq')}", f"prev_sha256 {prev}, seq {number}"))
        prev = hashlib.sha256(line.rstrip(b"\n")).hexdigest()  # the line without its end of line


def _openssl_verifies(bundle: Path) -> bool | None:
    """Ed25519 signature over seal-statement.json checked by openssl (None if openssl is absent)."""
    if shutil.which("openssl") is None:
        return None
    proc = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(bundle / "signing-key.pub.pem"),
                           "-rawin", "-in", str(bundle / "seal-statement.json"), "-sigfile",
                           str(bundle / "seal-signature.ed25519")], capture_output=True, check=False)
    return proc.returncode == 0


def _manifest_matches(bundle: Path) -> bool:
    for line in (bundle / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines():
        digest, rel = line.split("  ", 1)
        if hashlib.sha256((bundle / rel).read_bytes()).hexdigest() != digest:
            return False
    return True


def bundle_verification(label: str, bundle: Path, verify: Callable[[Path], list[str]], tally: Tally) -> None:
    """A sealed bundle passes `devicex verify`; openssl accepts its signature and every
    payload file has the SHA-256 its manifest lists (hashlib)."""
    codes = verify(bundle)
    for what, ok in (("devicex verify", not codes), ("openssl pkeyutl -verify (Ed25519)", _openssl_verifies(bundle)),
                     ("payload manifest recomputed with hashlib", _manifest_matches(bundle))):
        if ok is None:
            continue
        if ok:
            tally.agree(label)
        else:
            tally.disagree(Finding(label, what, "fails" + (f": {', '.join(codes)}" if codes else ""), "passes"))


def _first_export(bundle: Path) -> Path:
    return next(p for p in sorted((bundle / "data" / "files").rglob("*")) if p.is_file() and p.stat().st_size)


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_custody(bundle: Path) -> None:
    log = bundle / "custody.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"result":"ok"', b'"result":"OK"', 1)
    log.write_bytes(b"".join(lines))


TAMPERS: tuple[tuple[str, Callable[[Path], object]], ...] = (
    ("one bit of an exported file flipped", lambda b: _flip(_first_export(b))),
    ("an exported file deleted", lambda b: _first_export(b).unlink()),
    ("a file added to the payload", lambda b: (b / "data" / "added.txt").write_bytes(b"planted\n")),
    ("case.db changed", lambda b: _flip(b / "data" / "case.db")),
    ("a custody entry edited", _edit_custody),
    ("the last custody entry removed", lambda b: (b / "custody.jsonl").write_bytes(
        b"".join((b / "custody.jsonl").read_bytes().splitlines(keepends=True)[:-1]))),
    ("bag-info.txt edited", lambda b: (b / "bag-info.txt").write_bytes(
        (b / "bag-info.txt").read_bytes().replace(b"Examiner:", b"Examiner: X", 1))),
    ("the signature altered", lambda b: _flip(b / "seal-signature.ed25519")),
)


def tamper_detection(label: str, bundle: Path, verify: Callable[[Path], list[str]], tally: Tally) -> None:
    """Each kind of tampering, made on a copy of a sealed bundle, makes `devicex verify` fail."""
    for what, tamper in TAMPERS:
        with tempfile.TemporaryDirectory(prefix="devicex-tamper-") as tmp:
            copy = Path(tmp) / bundle.name
            shutil.copytree(bundle, copy)
            tamper(copy)
            codes = verify(copy)
            if codes:
                tally.agree(label)
            else:
                tally.disagree(Finding(label, what, "verify passes", "verify fails"))
