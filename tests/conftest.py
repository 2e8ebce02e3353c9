"""Shared test helpers: where the corpus and fixtures live, and the decoder for the corpus's compressed
images (``pipelines.validate.truth.decode``: Python's own gzip / zipfile / tarfile, independent of the
source layer)."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.validate.truth import decode as decode  # one corpus decoder, shared with devicex validate

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
FIXTURES = REPO / "fixtures"
IMAGES = FIXTURES / "images"
TRUTH = FIXTURES / "truth"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not present at {CORPUS}")


@pytest.fixture(scope="session")
def decoded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("decoded")
