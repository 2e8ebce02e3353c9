"""The one-read engine against the per-entry engine on the bench tree (``make_tree.py``, the generator of the
benchmark images, with fewer files): as ext4 made by ``mke2fs -d`` and as NTFS made by ``mkntfs`` and
``ntfscp``, the same entries, hashes, types, exports, records and problems with ``--workers 1`` and ``2``."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, needs_corpus
from tests.pipelines.test_one_read import _extract

MAKE_TREE = REPO.parent / "shared" / "bench" / "make_tree.py"
NTFS_FILES = 400  # ntfscp copies one file per call


@pytest.fixture(scope="module")
def bench_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert MAKE_TREE.is_file(), f"the bench tree generator is missing: {MAKE_TREE}"
    tree = tmp_path_factory.mktemp("bench") / "t"
    subprocess.run([sys.executable, str(MAKE_TREE), str(tree), "--files", "1500", "--big-mb", "8", "--seed", "7"],
                   check=True, capture_output=True)
    return tree


def _ext4(tree: Path, image: Path) -> int:
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", str(tree), str(image), "96M"], check=True)
    return sum(1 for p in tree.rglob("*") if p.is_file())


def _ntfs(tree: Path, image: Path) -> int:
    """NTFS with the first files of the tree, each copied by ntfscp into the root under its flattened path
    (ntfscp makes no folders)."""
    with open(image, "wb") as fh:
        fh.truncate(64 << 20)
    subprocess.run(["mkntfs", "-F", "-q", "-Q", str(image)], check=True, capture_output=True)
    files = sorted(p for p in tree.rglob("*") if p.is_file())[:NTFS_FILES]
    for path in files:
        name = path.relative_to(tree).as_posix().replace("/", "_")
        subprocess.run(["ntfscp", "-f", str(image), str(path), f"/{name}"], check=True, capture_output=True)
    return len(files)


@needs_corpus  # shared/ (the corpus and the bench generator beside it) absent
@pytest.mark.parametrize("fs", ["ext4", "ntfs"])
def test_bench_tree_outputs_equal_the_per_entry_engine(tmp_path: Path, bench_tree: Path, fs: str) -> None:
    image = tmp_path / f"bench.{fs}"
    files = (_ext4 if fs == "ext4" else _ntfs)(bench_tree, image)
    before = _extract(image, tmp_path / "per-entry", one_read=False, workers=2)
    exported = before["exports"]
    assert isinstance(exported, dict) and len(exported) >= files
    for workers in (1, 2):
        after = _extract(image, tmp_path / f"one-read-{workers}", one_read=True, workers=workers)
        for key in before:
            assert after[key] == before[key], (fs, workers, key)
