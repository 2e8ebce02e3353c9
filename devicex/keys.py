"""Examiner signing keys: Ed25519 via the ``cryptography`` package.

* The private key is a PKCS#8 PEM file, mode 0600, optionally encrypted with a
  passphrase (``cryptography``'s best available PKCS#8 encryption).
* The public key is a SubjectPublicKeyInfo PEM file next to it
  (``NAME.pem`` -> ``NAME.pub.pem``); a copy goes into every sealed bundle.
* The fingerprint is the SHA-256 of the 32-byte raw public key, as 64 lower-case
  hex digits; examiners quote it in their statements and recipients pass it to
  ``devicex verify --key-fingerprint`` (spaces, colons and a ``SHA256:`` prefix
  are accepted there).
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from devicex.errors import DevicexError
from devicex.fsutil import write_atomic

KEY_ENV = "DEVICEX_KEY"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class KeyFileError(DevicexError):
    """A key file is missing, unreadable, of the wrong type, or locked."""


class PassphraseNeeded(KeyFileError):
    """The private key is encrypted and no passphrase was given."""


@dataclass(frozen=True)
class KeyPair:
    private_path: Path
    public_path: Path
    fingerprint: str
    encrypted: bool


def default_key_path() -> Path:
    """``$DEVICEX_KEY``, else ``$XDG_CONFIG_HOME/devicex/signing-key.pem``
    (``~/.config/devicex/signing-key.pem``)."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "devicex" / "signing-key.pem"


def public_path_for(private_path: Path) -> Path:
    name = private_path.name
    if name.endswith(".pem"):
        return private_path.with_name(name[:-4] + ".pub.pem")
    return private_path.with_name(name + ".pub.pem")


def fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def format_fingerprint(fp: str) -> str:
    """Groups of four hex digits, for reading aloud or quoting in a statement."""
    return " ".join(fp[i:i + 4] for i in range(0, len(fp), 4))


def normalize_fingerprint(text: str) -> str:
    """Accepts ``SHA256:`` prefixes, spaces, colons and upper case; raises
    ValueError unless 64 hex digits remain."""
    value = text.strip()
    if value.lower().startswith("sha256:"):
        value = value[7:]
    value = re.sub(r"[\s:]", "", value).lower()
    if not _HEX64.fullmatch(value):
        raise ValueError(f"not a SHA-256 key fingerprint (64 hex digits): {text!r}")
    return value


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_pem(data: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"public key is {type(key).__name__}, not Ed25519")
    return key


def init_keys(private_path: Path, passphrase: bytes | None = None, *, force: bool = False) -> KeyPair:
    """Create a new key pair. Refuses to overwrite an existing private key
    unless ``force`` is set (an overwritten key cannot be recovered)."""
    public_path = public_path_for(private_path)
    private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if private_path.exists() and not force:
        raise KeyFileError(f"{private_path}: a key already exists (use --force to replace it)")
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    write_atomic(private_path, pem, private=True)
    public_path.write_bytes(public_pem(key.public_key()))
    os.chmod(public_path, 0o644)
    return KeyPair(private_path, public_path, fingerprint(key.public_key()), bool(passphrase))


def is_encrypted(private_path: Path) -> bool:
    try:
        return b"ENCRYPTED PRIVATE KEY" in private_path.read_bytes()[:200]
    except OSError as exc:
        raise KeyFileError(f"{private_path}: cannot read key: {exc.strerror}") from None


def insecure_permissions(private_path: Path) -> bool:
    """True when group or others may read the private key file."""
    return bool(private_path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def load_private_key(private_path: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    try:
        data = private_path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{private_path}: no signing key (create one with 'devicex keys init')") from None
    except OSError as exc:
        raise KeyFileError(f"{private_path}: cannot read key: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError:
        if passphrase:
            raise KeyFileError(f"{private_path}: the key is not encrypted but a passphrase was given") from None
        raise PassphraseNeeded(f"{private_path}: the key is passphrase-protected and no passphrase was given") \
            from None
    except ValueError:
        raise KeyFileError(f"{private_path}: wrong passphrase, or not a PEM private key") from None
    except UnsupportedAlgorithm as exc:
        raise KeyFileError(f"{private_path}: unsupported key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{private_path}: key is {type(key).__name__}, not Ed25519")
    return key


def sign(private_key: Ed25519PrivateKey, message: bytes) -> bytes:
    return private_key.sign(message)


def signature_valid(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
