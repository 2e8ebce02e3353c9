"""The re-verification begun once the media has been read for the last time (``pipelines.reverify``): its
hashes are the media's (truth: hashlib over the image file), it is done again when anything read the source
after it began, and the extraction takes the early read on real images (raw, split raw, E01; one and two
workers), so the check that nothing else read the source holds on them."""
from __future__ import annotations

import hashlib
import shutil
import threading
import time
from pathlib import Path

import pytest

import pipelines.extract as extract_module
from devicex.sources import open_source
from devicex.sources.base import MediaReads
from pipelines.events import SilentReporter
from pipelines.extract import ExtractOptions, run
from pipelines.reverify import EarlyReverify
from tests.conftest import FIXTURES

IMAGES = FIXTURES / "images"


def _media_truth(paths: list[Path]) -> dict[str, str]:
    hashes = {name: hashlib.new(name) for name in ("md5", "sha1", "sha256")}
    for path in paths:
        data = path.read_bytes()
        for h in hashes.values():
            h.update(data)
    return {name: h.hexdigest() for name, h in hashes.items()}


@pytest.mark.parametrize("choice", ["sha256", "all"])
def test_early_hashes_are_the_media(choice: str) -> None:
    src = open_source(IMAGES / "ntfs.img")
    early = EarlyReverify(src, choice, MediaReads.total)
    early.start()
    result = early.result(SilentReporter())
    truth = _media_truth([IMAGES / "ntfs.img"])
    assert result.choice == choice
    assert result.hashes == {k: truth[k] for k in (["sha256"] if choice == "sha256" else ["md5", "sha1", "sha256"])}
    assert not early.repeated


def test_none_reads_nothing() -> None:
    src = open_source(IMAGES / "ntfs.img")
    before = MediaReads.total()
    early = EarlyReverify(src, "none", MediaReads.total)
    early.start()
    assert early.result(SilentReporter()).hashes == {}
    assert MediaReads.total() == before


def test_a_read_after_it_began_makes_it_read_again_after(tmp_path: Path) -> None:
    """The source changed and read again after the early read hashed it: the hashes given are those of the
    read made after the last read, so the change shows (the run reports a mismatch)."""
    image = tmp_path / "copy.img"
    shutil.copyfile(IMAGES / "ntfs.img", image)
    before = _media_truth([image])["sha256"]
    src = open_source(image)
    early = EarlyReverify(src, "sha256", MediaReads.total)
    early.start()
    assert early._thread is not None
    early._thread.join()  # the early read is done: it saw the media unchanged
    with open(image, "r+b") as fh:
        fh.seek(8192)
        old = fh.read(1)
        fh.seek(8192)
        fh.write(bytes([old[0] ^ 0xFF]))
    buffer = bytearray(4096)
    assert src.read_into(0, memoryview(buffer)) == 4096  # a read of the source after the re-verification began
    result = early.result(SilentReporter())
    assert early.repeated
    assert result.hashes["sha256"] == _media_truth([image])["sha256"] != before


class _Gated:
    """A source whose reads wait for a gate (so the test knows where the early read is)."""

    def __init__(self, path: Path) -> None:
        self.src = open_source(path)
        self.size = self.src.size
        self.gate = threading.Event()
        self.reads = 0

    def read_into(self, offset: int, view: memoryview) -> int:
        self.reads += 1
        self.gate.wait()
        return self.src.read_into(offset, view)


def test_cancel_stops_the_read() -> None:
    gated = _Gated(IMAGES / "ntfs.img")  # 8 MiB: two reads of 4 MiB
    early = EarlyReverify(gated, "sha256", MediaReads.total)  # type: ignore[arg-type]
    early.start()
    cancelling = threading.Thread(target=early.cancel)
    cancelling.start()
    while not early._stop:
        cancelling.join(0.01)
    gated.gate.set()  # the first read ends; the second is never made
    cancelling.join()
    assert early._thread is not None and not early._thread.is_alive()
    assert gated.reads == 1 and early._outcome is None and early._error is not None


class _Recording(EarlyReverify):
    made: list[EarlyReverify] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        _Recording.made.append(self)


def test_a_read_by_others_stops_it_and_it_is_done_again() -> None:
    """Another read while the early read is under way: it stops at its next chunk instead of reading on for
    nothing, and is done again after."""
    gated = _Gated(IMAGES / "ntfs.img")
    early = EarlyReverify(gated, "sha256", MediaReads.total)  # type: ignore[arg-type]
    early.start()
    while gated.reads == 0:  # the early read is at its first chunk (waiting at the gate), not yet about to begin
        time.sleep(0.001)
    assert gated.src.read_into(0, memoryview(bytearray(512))) == 512  # something else reads the source
    gated.gate.set()
    result = early.result(SilentReporter())
    assert gated.reads == 1 + 2 and early.repeated  # the early read stopped after one chunk; 8 MiB read again
    assert result.hashes["sha256"] == _media_truth([IMAGES / "ntfs.img"])["sha256"]


@pytest.mark.parametrize("image", ["ntfs.img", "ext4.img", "ext4.E01", "split.raw.001", "phone.img"])
@pytest.mark.parametrize("workers", [1, 2])
def test_extraction_reverifies_early(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, image: str,
                                     workers: int) -> None:
    """On real images the re-verification begins once the media has been read for the last time; where a
    parser reads a sibling file after that (phone.img's databases) it may be done again."""
    _Recording.made.clear()
    monkeypatch.setattr(extract_module, "EarlyReverify", _Recording)
    source = IMAGES / image
    summary = run(ExtractOptions(source=source, out=tmp_path / "out", full_reason="test", workers=workers),
                  SilentReporter())
    assert summary.source_verified == "match"
    [early] = _Recording.made
    assert early._thread is not None
    if image != "phone.img":
        assert not early.repeated
