"""Typing against the `file` command over every stream of the fixtures, the shared corpus and a bench tree
(``make_tree.py``, fewer files): the category (devicex's category of the MIME type, and the MIME top-level
type) must be file(1)'s for every stream, the MIME type for at least 99% of them, and every MIME difference
is listed here and in README.md ("Performance and limits"): there is none on these sets. Streams typed by
the plain-prose path must also have file(1)'s description. Truth: ``file -b --mime-type`` and ``file -b``
run on each stream's leading 8 KiB (the bytes devicex types), never devicex."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devicex.filetype import HEAD_SIZE, category_for, identify, plain_prose
from devicex.sources import open_source
from tests.conftest import CORPUS, FIXTURES, REPO, needs_corpus

MAKE_TREE = REPO.parent / "shared" / "bench" / "make_tree.py"
FIXTURE_IMAGES = ["images/ntfs.img", "images/ext4.img", "images/ext4.E01", "images/fat16.img", "images/exfat.img",
                  "images/gpt.img", "images/mbr2.img", "images/names.img", "images/phone.img",
                  "images/split.raw.001", "comms/comms.img", "source-photos/ext4.img", "source-photos/ntfs.img",
                  "source-photos/fat16.img", "source-photos/exfat.img", "source-photos/phone.img"]
# MIME differences from file(1) expected on each set: (stream, devicex MIME, file(1) MIME). None.
KNOWN_MIME_DIFFERENCES: dict[str, list[tuple[str, str, str]]] = {"fixtures": [], "corpus": [], "bench tree": []}

Head = tuple[str, str, bytes]  # (where, extension, leading bytes)


def _image_heads(path: Path, label: str) -> list[Head]:
    """The leading bytes of every stream with content on the media (read through devicex's sources)."""
    heads: list[Head] = []
    src = open_source(path)
    try:
        for view in src.layout().filesystems:
            for entry, reader in view.entries(label):
                if entry is None or reader is None or not entry.has_content:
                    continue
                try:
                    head = reader.read(0, HEAD_SIZE)
                except OSError:  # unreadable (an orphan without data, a volume label): not typed
                    continue
                if head:
                    heads.append((f"{label}:{view.label}:{entry.full_path}", entry.extension, head))
    finally:
        src.close()
    return heads


def _file_heads(root: Path, label: str) -> list[Head]:
    heads = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        with open(path, "rb") as fh:
            head = fh.read(HEAD_SIZE)
        if head:
            heads.append((f"{label}:{path.relative_to(root).as_posix()}", path.suffix.lower().lstrip("."), head))
    return heads


def _file_command(heads: list[Head], work: Path) -> list[tuple[str, str]]:
    """``file -b --mime-type`` and ``file -b`` of each head, written to a file of its own."""
    work.mkdir(parents=True, exist_ok=True)
    names = []
    for n, (_, _, head) in enumerate(heads):
        (work / f"{n:06d}").write_bytes(head)
        names.append(str(work / f"{n:06d}"))
    listing = work / "list"
    listing.write_text("\n".join(names) + "\n")
    answers = []
    for option in (["--mime-type"], []):
        out = subprocess.run(["file", "-b", *option, "-f", str(listing)], capture_output=True, text=True, check=True)
        answers.append(out.stdout.split("\n")[:-1])
    assert len(answers[0]) == len(answers[1]) == len(heads)
    return list(zip(answers[0], answers[1], strict=True))


def _category(mime: str) -> tuple[str, str]:
    return category_for(mime), mime.split("/", 1)[0]


def _check(name: str, heads: list[Head], work: Path) -> int:
    """Compare every head with file(1); returns how many went by the plain-prose path."""
    assert heads
    mime_diffs, category_diffs, prose_desc_diffs = [], [], []
    prose = 0
    for (where, ext, head), (mime, desc) in zip(heads, _file_command(heads, work), strict=True):
        ours = identify(head, ext)
        if ours.mime != mime:
            mime_diffs.append((where, ours.mime, mime))
        if _category(ours.mime) != _category(mime) or ours.category != category_for(mime):
            category_diffs.append((where, ours.mime, mime))
        if plain_prose(head):
            prose += 1
            if ours.description != desc:
                prose_desc_diffs.append((where, ours.description, desc))
    assert category_diffs == [], name
    assert mime_diffs == KNOWN_MIME_DIFFERENCES[name]
    assert len(mime_diffs) <= len(heads) // 100
    assert prose_desc_diffs == [], name
    return prose


def test_fixtures_typed_as_the_file_command(tmp_path: Path) -> None:
    heads = [h for image in FIXTURE_IMAGES for h in _image_heads(FIXTURES / image, image)]
    heads += _file_heads(FIXTURES, "fixtures")
    assert len(heads) > 300
    assert _check("fixtures", heads, tmp_path / "heads") >= 20


@needs_corpus
def test_corpus_typed_as_the_file_command(tmp_path: Path, decoded_dir: Path) -> None:
    from pipelines.validate import unsupported
    from pipelines.validate.truth import load_dataset

    heads: list[Head] = []
    for media in load_dataset(CORPUS).media:
        if media.later_segment:
            continue
        path = media.path(decoded_dir)
        if unsupported(path):  # a stand-alone file (a photo) or media devicex does not open: typed as it is
            heads.append((media.label, path.suffix.lower().lstrip("."), path.read_bytes()[:HEAD_SIZE]))
        else:
            heads += _image_heads(path, media.label)
    assert len(heads) > 1000
    assert _check("corpus", heads, tmp_path / "heads") >= 500


@needs_corpus  # shared/ (the corpus and the bench generator beside it) absent
def test_bench_tree_typed_as_the_file_command(tmp_path: Path) -> None:
    """The bench tree's generator with fewer files (same kinds: notes, photos, databases, archives, blobs)."""
    assert MAKE_TREE.is_file(), f"the bench tree generator is missing: {MAKE_TREE}"
    tree = tmp_path / "tree" / "t"
    subprocess.run([sys.executable, str(MAKE_TREE), str(tree), "--files", "600", "--big-mb", "0", "--seed", "7"],
                   check=True, capture_output=True)
    heads = _file_heads(tree, "bench")
    assert len(heads) == 600
    assert _check("bench tree", heads, tmp_path / "heads") >= 100
