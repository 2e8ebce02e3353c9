"""Shared test helpers: where the corpus and fixtures live, and a cached
decoder for the corpus's compressed images (decoded with Python's own gzip /
zipfile / tarfile, independent of devicex)."""
from __future__ import annotations

import gzip
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
FIXTURES = REPO / "fixtures"
IMAGES = FIXTURES / "images"
TRUTH = FIXTURES / "truth"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not present at {CORPUS}")


@pytest.fixture(scope="session")
def decoded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("decoded")


def decode(stored: Path, member: str | None, into: Path) -> Path:
    """The raw media of a stored corpus file (gz, zip member, tar member, or as is)."""
    name = stored.name
    if member is None and not name.endswith((".gz", ".tgz", ".zip")):
        return stored
    target = into / (f"{name}--{Path(member).name}" if member else name.rsplit(".", 1)[0])
    if target.exists():
        return target
    tmp = target.with_suffix(target.suffix + ".part")
    if name.endswith(".zip"):
        with zipfile.ZipFile(stored) as zf:
            wanted = next(n for n in zf.namelist() if n == member or n.endswith("/" + str(member)))
            with zf.open(wanted) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    elif name.endswith(".tgz"):
        with tarfile.open(stored) as tf:
            first = next(m for m in tf.getmembers() if m.isfile())
            with tf.extractfile(first) as src, open(tmp, "wb") as dst:  # type: ignore[union-attr]
                shutil.copyfileobj(src, dst, 1 << 20)
    else:
        with gzip.open(stored) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    tmp.rename(target)
    return target
