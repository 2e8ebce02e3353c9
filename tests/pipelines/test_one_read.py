"""The one-read engine (pipelines.oneread: one sequential read of the media gives the content and the intake
hashes) against reading each entry on its own (``one_read=False``, the engine before it): the same entries,
hashes, types, exports, records and problems on every fixture image and on the shared corpus, with
``--workers 1`` and ``--workers 2``; its bytes read from the media; and damaged media."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import sqlite3
import subprocess
from pathlib import Path

import pytest

from pipelines.extract import ExtractOptions, run
from tests.conftest import CORPUS, FIXTURES, needs_corpus

IMAGES = FIXTURES / "images"
FIXTURE_IMAGES = ["ntfs.img", "ext4.img", "ext4.E01", "fat16.img", "exfat.img", "gpt.img", "mbr2.img",
                  "names.img", "phone.img", "split.raw.001"]
_SKIP_COLS = {"files": (), "records": (), "errors": ("id",)}


def outputs(out: Path) -> dict[str, object]:
    """What an extraction wrote, as comparable values: every row of files, records, errors (their order
    aside from ids), parser_runs, exclusions, the intake hashes, and every file under data/files."""
    conn = sqlite3.connect(out / "data" / "case.db")
    found: dict[str, object] = {}
    for table in ("files", "records", "errors", "parser_runs", "exclusions"):
        cols = [c[1] for c in conn.execute(f"PRAGMA table_info({table})") if c[1] not in _SKIP_COLS.get(table, ())]
        rows = conn.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
        found[table] = sorted(json.dumps(r, default=str) for r in rows) if table == "errors" else rows
    found["intake"] = conn.execute("SELECT md5, sha1, sha256, stored_check FROM sources").fetchall()
    conn.close()
    exported = {}
    root = out / "data" / "files"
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            exported[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    found["exports"] = exported
    return found


def _extract(source: Path, out: Path, one_read: bool, workers: int) -> dict[str, object]:
    summary = run(ExtractOptions(source=source, out=out, full_reason="engines compared", workers=workers,
                                 one_read=one_read))
    assert summary.run_id
    return outputs(out)


@pytest.mark.parametrize("name", FIXTURE_IMAGES)
def test_fixture_outputs_equal_the_per_entry_engine(tmp_path: Path, name: str) -> None:
    before = _extract(IMAGES / name, tmp_path / "per-entry", one_read=False, workers=2)
    assert before["files"]
    for workers in (1, 2):
        after = _extract(IMAGES / name, tmp_path / f"one-read-{workers}", one_read=True, workers=workers)
        for key in before:
            assert after[key] == before[key], (name, workers, key)


@pytest.mark.parametrize("name", ["phone.img", "ntfs.img"])
def test_waiting_results_frozen_or_spooled_give_the_same_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  name: str) -> None:
    """Results waiting for an earlier entry, kept as they are, frozen in memory or spooled to disk, their files
    rows written ahead of their turn and held until it comes: the same outputs (with a limit of 1 and a budget
    of 16 bytes, every waiting result is frozen, most are spooled; with files rows written 3 at a time, rows are
    held)."""
    import devicex.casedb as casedb
    import pipelines.sequence as sequence

    before = _extract(IMAGES / name, tmp_path / "kept", one_read=True, workers=2)
    monkeypatch.setattr(sequence, "LIMIT", 1)
    monkeypatch.setattr(sequence, "BUDGET", 16)
    monkeypatch.setattr(casedb, "FILE_BATCH", 3)
    spooled: list[int] = []
    held: list[int] = []
    spool, hold = sequence.InOrder._spool, casedb.CaseDB._hold_rows

    def counted(self: sequence.InOrder) -> None:
        spooled.append(len(self._frozen))  # noqa: SLF001
        spool(self)

    def held_rows(self: casedb.CaseDB, rows: list[tuple[object, ...]]) -> None:
        held.append(len(rows))
        hold(self, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(sequence.InOrder, "_spool", counted)
    monkeypatch.setattr(casedb.CaseDB, "_hold_rows", held_rows)
    for workers in (1, 2):
        spooled.clear()
        held.clear()
        after = _extract(IMAGES / name, tmp_path / f"spooled-{workers}", one_read=True, workers=workers)
        assert after == before, (name, workers)
        assert sum(spooled) >= 5 and sum(held) >= 5, (name, workers, spooled, held)
        assert not list((tmp_path / f"spooled-{workers}").rglob("*.sqlite"))  # the scratch databases removed


class _Text(str):
    """A value marshal does not hold (a subclass of str)."""


def test_waiting_items_freeze_and_thaw_equal() -> None:
    """A written result's file id and parser outcomes frozen by marshal, anything else (a value marshal does not
    hold, another kind of item) pickled: each thaws equal, with its parsers."""
    import parsers
    from pipelines.oneread import _freeze, _thaw
    from pipelines.process import ParserOutcome

    spec = parsers.registry()[0]

    def outcome(row: tuple[object, ...]) -> ParserOutcome:
        return ParserOutcome(spec, [row], Path("/tmp/x.spool"), 7, {"kind": "{}"}, 1, False, {"kind: left": 2})

    for row in [("kind", 1, "{}", "t", 3), ("kind", None, _Text("{}"), None, None)]:
        blob = _freeze(("rows", 9, [outcome(row), outcome(row)]))
        assert (blob[:1] == pickle.PROTO) == (type(row[2]) is not str)  # marshal, or pickled when it must be
        back = _thaw(blob)
        assert back == ("rows", 9, [outcome(row), outcome(row)]) and type(back[2][0].rows[0][2]) is type(row[2])
        assert back[2][0].spec is spec
    assert _thaw(_freeze(("issue", "vol", "message"))) == ("issue", "vol", "message")
    assert _freeze(("rows", 3, []))[:1] != pickle.PROTO and _thaw(_freeze(("rows", 3, []))) == ("rows", 3, [])


@needs_corpus
def test_corpus_outputs_equal_the_per_entry_engine(tmp_path: Path, decoded_dir: Path) -> None:
    from pipelines.validate import unsupported
    from pipelines.validate.truth import load_dataset

    compared = 0
    for n, media in enumerate(load_dataset(CORPUS).media):
        path = media.path(decoded_dir)
        if media.later_segment or unsupported(path):
            continue
        before = _extract(path, tmp_path / f"{n}-per-entry", one_read=False, workers=2)
        after = _extract(path, tmp_path / f"{n}-one-read", one_read=True, workers=1)
        for key in before:
            assert after[key] == before[key], (path.name, key)
        compared += 1
    assert compared >= 50


def _tree_image(tmp_path: Path) -> Path:
    """An ext4 image made by mke2fs -d from 300 files (1 KiB to 2 MiB, one of 12 MiB): mostly content."""
    import random
    import subprocess

    rng = random.Random(14)
    tree = tmp_path / "tree"
    for i in range(300):
        folder = tree / f"d{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.bin").write_bytes(rng.randbytes(rng.randint(1 << 10, 2 << 20)))
    (tree / "big.bin").write_bytes(rng.randbytes(12 << 20))
    image = tmp_path / "tree.ext4"
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", str(tree), str(image), "400M"], check=True)
    return image


def test_bytes_read_from_the_media_per_media_byte(tmp_path: Path) -> None:
    image = _tree_image(tmp_path)
    size = image.stat().st_size
    ratios = {}
    for name, one_read, reverify in (("one-read, none", True, "none"), ("one-read, sha256", True, "sha256"),
                                     ("per entry, all", False, "all")):
        summary = run(ExtractOptions(source=image, out=tmp_path / name, full_reason="test", reverify=reverify,
                                     one_read=one_read))
        assert summary.media_size == size and summary.files > 300
        ratios[name] = summary.media_bytes_read / size
    # the media once: the metadata TSK reads for the walk (64 KiB at a time, about 8% of this small image) fits
    # the walk's block cache, and the pass takes those blocks from it (bench.ext4: 1.009, see bench/README.md)
    assert ratios["one-read, none"] == 1.0, ratios
    assert abs(ratios["one-read, sha256"] - ratios["one-read, none"] - 1.0) < 0.001, ratios  # one SHA-256 read
    assert ratios["per entry, all"] > 3.0, ratios  # intake, content, re-verification: the counter sees them all


def test_damaged_media_gives_the_same_outputs(tmp_path: Path) -> None:
    """An E01 with corrupted compressed chunks: what libewf returns for them (the content, the intake hashes
    that no longer match those stored in the E01) is the same through the pass as per entry. Damaged file
    system metadata is the fault-injection harness's (tests/faults), which runs the one-read engine."""
    image = tmp_path / "damaged.E01"
    data = bytearray((IMAGES / "ext4.E01").read_bytes())
    start = int(len(data) * 0.6)
    for at in range(start, start + 2000, 97):
        data[at] ^= 0x5A
    image.write_bytes(bytes(data))
    before = _extract(image, tmp_path / "per-entry", one_read=False, workers=2)
    after = _extract(image, tmp_path / "one-read", one_read=True, workers=2)
    for key in before:
        assert after[key] == before[key], key
    assert before["intake"][0][3] == "fail"  # type: ignore[index]


def _sqlite3_count(db: Path, table: str) -> int:
    return int(subprocess.run(["sqlite3", str(db), f"SELECT count(*) FROM {table}"], check=True, capture_output=True,
                              text=True).stdout)


def test_big_message_stores_are_parsed_apart_and_stored_while_parsed(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Message stores over the pass's gathering size are read and parsed by workers on their own (beside the
    pass, not holding it up in the main process), and their records are written while they are parsed, not
    after: the first in walk order straight into ``records``, the second staged until the first is done.
    Their bytes are read a second time, and every output is still the per-entry engine's and that of one
    worker (which reads nothing ahead)."""
    data = tmp_path / "root/data/data"
    stores = {data / "com.android.providers.telephony/databases/mmssms.db": ("mmssms", "sms"),
              data / "com.whatsapp/databases/msgstore.db": ("msgstore", "message")}
    for db, (kind, _table) in stores.items():
        db.parent.mkdir(parents=True)
        subprocess.run(["bash", str(FIXTURES / "comms" / "make_big.sh"), kind, "100000", str(db)], check=True,
                       capture_output=True)
        assert db.stat().st_size > 8 << 20
    image = tmp_path / "phone.img"
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d", str(tmp_path / "root"), str(image), "64M"], check=True,
                   env={"PATH": "/usr/sbin:/sbin:/usr/bin:/bin"})
    before = _extract(image, tmp_path / "per-entry", one_read=False, workers=2)
    from pipelines.recordtail import SpoolTail

    ahead: dict[str, list[int]] = {"write": [], "stage": []}

    def watch(name: str) -> None:
        call = getattr(SpoolTail, name)

        def watched(tails: SpoolTail, file_id: int) -> None:
            call(tails, file_id)
            ahead[name].append(tails._read[file_id][1] if file_id in tails._read else 0)  # frames read ahead

        monkeypatch.setattr(SpoolTail, name, watched)

    for name in ahead:
        watch(name)
    summary = run(ExtractOptions(source=image, out=tmp_path / "one-read", full_reason="test", reverify="none",
                                 workers=2))
    monkeypatch.undo()
    assert max(ahead["write"], default=0) > 0 and max(ahead["stage"], default=0) > 0
    assert outputs(tmp_path / "one-read") == before
    assert _extract(image, tmp_path / "one-worker", one_read=True, workers=1) == before
    with sqlite3.connect(tmp_path / "one-read" / "data" / "case.db") as case:
        stored = case.execute("SELECT count(*) FROM records WHERE record_type = 'message'").fetchone()[0]
    assert stored == sum(_sqlite3_count(db, table) for db, (_kind, table) in stores.items())
    assert summary.media_bytes_read >= image.stat().st_size + sum(db.stat().st_size for db in stores)
    assert not (tmp_path / "one-read" / "data" / ".staging").exists()


def test_ntfs_image_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ntfs.img (8 MiB): no byte of the media is read twice with ``--reverify none``. TSK's metadata reads (64 KiB
    at a time, for 1 KiB MFT records and 4 KiB index blocks) go through the walk's block cache, which this
    small image's metadata fits, and the pass takes those blocks from it; the streams no pass serves (resident
    data, empty streams, $BadClus:$Bad) come from the walk, so worker processes read nothing (1 and 2 workers
    alike). Before: 1.533 bytes read per media byte with 1 worker, 2.568 with 2; the re-verification reads the
    media once more."""
    from devicex.sources.image import RawImgInfo

    reads: list[tuple[int, int]] = []
    read_media, read_media_into = RawImgInfo.read_media, RawImgInfo.read_media_into

    def traced(self: RawImgInfo, offset: int, size: int) -> bytes:
        data: bytes = read_media(self, offset, size)
        reads.append((offset, len(data)))
        return data

    def traced_into(self: RawImgInfo, offset: int, view: memoryview) -> int:
        count = read_media_into(self, offset, view)
        reads.append((offset, count))
        return count

    monkeypatch.setattr(RawImgInfo, "read_media", traced)
    monkeypatch.setattr(RawImgInfo, "read_media_into", traced_into)
    image = IMAGES / "ntfs.img"
    size = image.stat().st_size
    for workers in (1, 2):
        reads.clear()
        summary = run(ExtractOptions(source=image, out=tmp_path / f"w{workers}", full_reason="test",
                                     reverify="none", workers=workers))
        ranges = sorted(reads)
        overlap = [(a, b) for a, b in zip(ranges, ranges[1:], strict=False) if a[0] + a[1] > b[0]]
        assert not overlap, f"media bytes read twice: {overlap[:3]}"
        assert summary.media_bytes_read == sum(n for _, n in reads) == size, workers
    summary = run(ExtractOptions(source=image, out=tmp_path / "sha256", full_reason="test", reverify="sha256"))
    assert summary.media_bytes_read == 2 * size
