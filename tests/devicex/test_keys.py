"""Examiner keys: creation, protection, fingerprints, signatures (checked with openssl too)."""
from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from devicex.keys import (
    KeyFileError,
    PassphraseNeeded,
    fingerprint,
    init_keys,
    is_encrypted,
    load_private_key,
    load_public_pem,
    normalize_fingerprint,
    sign,
    signature_valid,
)

OPENSSL = shutil.which("openssl")


def _spki_fingerprint(pub_pem: Path) -> str:
    """Independent fingerprint: SHA-256 of the last 32 bytes of the DER SubjectPublicKeyInfo (openssl)."""
    der = subprocess.run([OPENSSL or "openssl", "pkey", "-pubin", "-in", str(pub_pem), "-outform", "DER"],
                         check=True, capture_output=True).stdout
    assert len(der) == 44  # Ed25519 SPKI: 12-byte header + 32-byte key
    return hashlib.sha256(der[-32:]).hexdigest()


def test_init_unprotected_key(tmp_path: Path) -> None:
    pair = init_keys(tmp_path / "k" / "examiner.pem")
    assert stat.S_IMODE(pair.private_path.stat().st_mode) == 0o600
    assert pair.public_path.name == "examiner.pub.pem" and not pair.encrypted
    key = load_private_key(pair.private_path)
    assert fingerprint(key.public_key()) == pair.fingerprint
    assert fingerprint(load_public_pem(pair.public_path.read_bytes())) == pair.fingerprint
    if OPENSSL:
        assert _spki_fingerprint(pair.public_path) == pair.fingerprint


def test_passphrase_protected_key(tmp_path: Path) -> None:
    pair = init_keys(tmp_path / "examiner.pem", b"correct horse")
    assert pair.encrypted and is_encrypted(pair.private_path)
    assert b"ENCRYPTED PRIVATE KEY" in pair.private_path.read_bytes()
    with pytest.raises(PassphraseNeeded):
        load_private_key(pair.private_path)
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_private_key(pair.private_path, b"wrong")
    assert fingerprint(load_private_key(pair.private_path, b"correct horse").public_key()) == pair.fingerprint


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    first = init_keys(tmp_path / "examiner.pem")
    with pytest.raises(KeyFileError, match="already exists"):
        init_keys(tmp_path / "examiner.pem")
    second = init_keys(tmp_path / "examiner.pem", force=True)
    assert second.fingerprint != first.fingerprint


def test_missing_and_foreign_keys(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="keys init"):
        load_private_key(tmp_path / "nope.pem")
    (tmp_path / "junk.pem").write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(KeyFileError):
        load_public_pem((tmp_path / "junk.pem").read_bytes())


def test_fingerprint_forms() -> None:
    fp = "ab" * 32
    assert normalize_fingerprint(fp.upper()) == fp
    assert normalize_fingerprint("SHA256:" + ":".join(fp[i:i + 2] for i in range(0, 64, 2))) == fp
    assert normalize_fingerprint(" ".join(fp[i:i + 4] for i in range(0, 64, 4))) == fp
    for bad in ("", "abc", "zz" * 32, fp + "00"):
        with pytest.raises(ValueError):
            normalize_fingerprint(bad)


def test_signatures_and_openssl_agrees(tmp_path: Path) -> None:
    pair = init_keys(tmp_path / "examiner.pem")
    key = load_private_key(pair.private_path)
    message = b'{"statement":"example"}\n'
    sig = sign(key, message)
    assert len(sig) == 64 and signature_valid(key.public_key(), sig, message)
    assert not signature_valid(key.public_key(), sig, message + b" ")
    if OPENSSL:
        (tmp_path / "msg").write_bytes(message)
        (tmp_path / "sig").write_bytes(sig)
        done = subprocess.run([OPENSSL, "pkeyutl", "-verify", "-pubin", "-inkey", str(pair.public_path), "-rawin",
                               "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig")], capture_output=True)
        assert done.returncode == 0, done.stderr


def test_cli_keys_init(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "cli" / "mykey.pem"
    res = runner.invoke(main, ["keys", "init", "--key", str(target), "--passphrase-env", "DVX_PASS"],
                        env={"DVX_PASS": "s3cret phrase"})
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and is_encrypted(target)
    fp = fingerprint(load_private_key(target, b"s3cret phrase").public_key())
    assert f"SHA-256 fingerprint: {fp}" in res.output
    res = runner.invoke(main, ["keys", "fingerprint", str(target.with_name("mykey.pub.pem"))])
    assert res.exit_code == 0 and res.output.strip() == fp
    res = runner.invoke(main, ["keys", "init", "--key", str(target), "--no-passphrase"])
    assert res.exit_code == 2 and "already exists" in res.output
    res = runner.invoke(main, ["keys", "init", "--key", str(tmp_path / "b.pem"), "--passphrase-env", "UNSET_VAR"],
                        env={"UNSET_VAR": ""})
    assert res.exit_code == 2 and "UNSET_VAR" in res.output and "Traceback" not in res.output
    res = runner.invoke(main, ["keys", "init", "--key", str(tmp_path / "c.pem")], input="pw\npw\n")
    assert res.exit_code == 0 and is_encrypted(tmp_path / "c.pem")
    res = runner.invoke(main, ["keys", "init", "--key", str(tmp_path / "d.pem"), "--no-passphrase"])
    assert res.exit_code == 0 and not is_encrypted(tmp_path / "d.pem") and "NOT passphrase-protected" in res.output
