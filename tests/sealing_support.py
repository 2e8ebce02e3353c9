"""Real extractions and sealed bundles for the custody/keys/bundle/verify tests.

Each image is extracted once per session (by the real pipeline) and sealed once
with a session test key; tests get their own copy (``shutil.copytree``), so
tamper tests never interfere. Fixture images are preferred; the sleuthkit
corpus image (read from ../shared, never copied into the repo) is the fallback.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devicex.bundle import seal
from devicex.custody import Actor
from devicex.keys import init_keys, load_private_key
from pipelines.extract import ExtractOptions, run

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
IMAGES = REPO / "fixtures" / "images"
CORPUS_IMAGE = CORPUS / "sleuthkit" / "image.dd"
EXAMINER = Actor("T-1001", "Test Examiner")
CASE, EXHIBIT = "OP-TEST-001", "EX-7"

_cache: dict[str, Path] = {}


def image(name: str) -> Path:
    """A fixture image by name, or the corpus image for "corpus" (skipped only where the corpus is absent)."""
    path = CORPUS_IMAGE if name == "corpus" else IMAGES / name
    if name == "corpus" and not CORPUS_IMAGE.parents[2].is_dir():
        pytest.skip(f"corpus not present at {CORPUS_IMAGE.parents[2]}")
    assert path.is_file(), f"test image missing: {path}"
    return path


def primary_image() -> Path:
    """ext4 with hostile names in an E01 (stored hashes checked) if present, else the corpus image."""
    for name in ("ext4.E01", "ext4.img"):
        if (IMAGES / name).is_file():
            return IMAGES / name
    return image("corpus")


def extracted(root: Path, src: Path) -> Path:
    """OUT of a real extraction of ``src`` (cached per session)."""
    key = f"out:{src}"
    if key not in _cache:
        out = root / f"out-{src.name}"
        summary = run(ExtractOptions(source=src, out=out, case_ref=CASE, exhibit_ref=EXHIBIT,
                                     examiner=EXAMINER.name, examiner_id=EXAMINER.id, workers=2))
        assert summary.files > 0 and summary.source_verified == "match", summary
        _cache[key] = out
    return _cache[key]


def session_key(root: Path) -> tuple[Ed25519PrivateKey, Path]:
    if "key" not in _cache:
        _cache["key"] = init_keys(root / "keys" / "examiner.pem").private_path
    return load_private_key(_cache["key"]), _cache["key"]


def sealed(root: Path, src: Path) -> Path:
    """A sealed bundle of ``src`` (cached per session; copy it before changing it)."""
    key = f"sealed:{src}"
    if key not in _cache:
        bundle = root / f"sealed-{src.name}"
        shutil.copytree(extracted(root, src), bundle)
        seal(bundle, session_key(root)[0], EXAMINER, organisation="Test Digital Forensics Unit")
        _cache[key] = bundle
    return _cache[key]


def copy_of(bundle: Path, dest: Path) -> Path:
    target = dest / bundle.name
    shutil.copytree(bundle, target)
    return target


def other_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def bundle_files(bundle: Path) -> list[str]:
    return sorted(Path(d, f).relative_to(bundle).as_posix() for d, _, fs in os.walk(bundle) for f in fs)


def snapshot(bundle: Path) -> dict[str, tuple[str, int]]:
    """Content hash and mtime of every file, to prove a command wrote nothing."""
    out = {}
    for rel in bundle_files(bundle):
        p = bundle / rel
        out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out


@pytest.fixture(scope="session")
def work_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sealing")


@pytest.fixture()
def bundle(work_root: Path, tmp_path: Path) -> Path:
    """A private copy of the sealed bundle of the primary image."""
    return copy_of(sealed(work_root, primary_image()), tmp_path)


@pytest.fixture()
def out_dir(work_root: Path, tmp_path: Path) -> Path:
    """A private copy of the (unsealed) extraction of the primary image."""
    return copy_of(extracted(work_root, primary_image()), tmp_path)


@pytest.fixture()
def signing_key(work_root: Path) -> Ed25519PrivateKey:
    return session_key(work_root)[0]
