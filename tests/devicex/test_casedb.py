"""devicex.casedb.CaseDB: ``files`` rows added ahead of their turn (``hold_ahead``) go into the table in the
order of their ids: the same rows, laid out the same, as rows added in that order; a run that stops part way
leaves an unbroken run of rows; the scratch database goes with ``end_hold``."""
from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from devicex.casedb import CaseDB


def _row(file_id: int) -> tuple[object, ...]:
    """A files row of plausible values (sizes vary, so rows fill pages unevenly)."""
    rng = random.Random(file_id)
    name = f"IMG_{file_id:05d}{'x' * rng.randrange(60)}.jpg"
    return (file_id, 1, 1, 1, "p1", f"/DCIM/{name}", name, None, None, f"{file_id + 64}-128-1", file_id + 64, "file",
            "allocated", 0, rng.randrange(1 << 20), *["2023-08-12T10:00:00Z"] * 4, *[None] * 4, None, None, None,
            None, f"{file_id:032x}", f"{file_id:040x}", f"{file_id:064x}", 100, "image/jpeg", "JPEG image data",
            "image", "jpg", 0, 0, "ok", f"files/p1/DCIM/{name}", None, None, f"{file_id + 64}", None, None, None,
            None)


def _arrivals(n: int, seed: int) -> list[int]:
    """File ids 1..n in the order their results come back: in runs from anywhere on the media (NTFS: most wait)
    or, for odd seeds, in order but for a few that come back far later (ext4: a handful wait, long)."""
    rng = random.Random(seed)
    if seed % 2:
        late = set(rng.sample(range(1, n + 1), n // 150))
        order = [i for i in range(1, n + 1) if i not in late]
        for i in sorted(late):
            order.insert(min(len(order), order.index(i - 1) + 1 + rng.randrange(300, 900)) if i > 1 else 500, i)
        return order
    cuts = sorted(rng.sample(range(2, n + 1), n // 20))
    runs = [list(range(a, b)) for a, b in zip([1, *cuts], [*cuts, n + 1], strict=True)]
    rng.shuffle(runs)
    return [i for run in runs for i in run]


def _pages(path: Path) -> list[bytes]:
    data = path.read_bytes()
    size = int.from_bytes(data[16:18], "big")
    pages = [data[i:i + size] for i in range(0, len(data), size)]
    # the header's change counters count transactions, not content
    pages[0] = pages[0][:24] + pages[0][28:92] + pages[0][96:]
    return pages


def _held_run(path: Path, arrivals: list[int], n: int, batch: int, stop: int | None = None) -> CaseDB:
    """Rows added as they come back (``add_file_ahead``) and settled in walk order (the InOrder frontier)."""
    db = CaseDB(path, batch=batch)
    db.hold_ahead(path.parent / "held.sqlite")
    came: set[int] = set()
    frontier = 1
    for count, file_id in enumerate(arrivals):
        if stop is not None and count == stop:
            return db
        db.add_file_ahead(_row(file_id))
        came.add(file_id)
        while frontier in came:
            db.settle(frontier)
            frontier += 1
    db.end_hold()
    return db


@pytest.mark.parametrize("batch", [3, 64, 2000])
@pytest.mark.parametrize("seed", range(4))
def test_rows_held_ahead_are_laid_out_as_rows_in_order(tmp_path: Path, batch: int, seed: int) -> None:
    n = 3000
    (tmp_path / "in-order").mkdir()
    (tmp_path / "held").mkdir()
    plain = CaseDB(tmp_path / "in-order" / "case.db", batch=batch)
    for file_id in range(1, n + 1):
        plain.add_file(_row(file_id))
    plain.close()
    held = _held_run(tmp_path / "held" / "case.db", _arrivals(n, seed), n, batch)
    held.close()
    assert not (tmp_path / "held" / "held.sqlite").exists()
    with sqlite3.connect(tmp_path / "held" / "case.db") as conn:
        assert [r[0] for r in conn.execute("SELECT * FROM files")] == list(range(1, n + 1))
        assert conn.execute("SELECT * FROM files ORDER BY id").fetchall() == [_row(i) for i in range(1, n + 1)]
    assert _pages(tmp_path / "held" / "case.db") == _pages(tmp_path / "in-order" / "case.db")


def test_a_run_stopped_part_way_leaves_an_unbroken_run_of_rows(tmp_path: Path) -> None:
    """Rows ahead of the frontier are never in ``files`` (they are in the scratch database): what a killed run
    leaves is every entry up to its last row."""
    n = 3000
    arrivals = _arrivals(n, 5)
    db = _held_run(tmp_path / "case.db", arrivals, n, batch=50, stop=2000)
    db.conn.close()  # killed: nothing more is written
    with sqlite3.connect(tmp_path / "case.db") as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM files ORDER BY id")]
    frontier = 1
    while frontier in set(arrivals[:2000]):
        frontier += 1
    assert ids and ids == list(range(1, len(ids) + 1))
    assert len(ids) < frontier  # nothing past the frontier; what was settled at the last batch is in
    assert len(set(arrivals[:2000])) > frontier  # (rows were written ahead: the frontier is far behind)


def test_without_hold_rows_go_in_as_added(tmp_path: Path) -> None:
    """Another engine adding rows in its own order (no hold): inserted as they come, nothing held."""
    db = CaseDB(tmp_path / "case.db", batch=2)
    for file_id in (3, 1, 2, 5, 4):
        db.add_file(_row(file_id))
    db.close()
    with sqlite3.connect(tmp_path / "case.db") as conn:
        assert [r[0] for r in conn.execute("SELECT id FROM files")] == [1, 2, 3, 4, 5]
        assert conn.execute("SELECT count(*) FROM files").fetchone() == (5,)
    assert not (tmp_path / "held.sqlite").exists()


def test_rows_dropped_when_the_output_cannot_take_them_are_held_ones_too(tmp_path: Path) -> None:
    """After ``drop_pending`` (a failed output) nothing held is written again: closing writes nothing more."""
    db = _held_run(tmp_path / "case.db", [2, 3, 1, 5], 5, batch=2, stop=3)  # 2 and 3 held, 1 pending
    db.drop_pending()
    db.add_file(_row(9))
    db.close()
    with sqlite3.connect(tmp_path / "case.db") as conn:
        assert [r[0] for r in conn.execute("SELECT id FROM files")] == [9]


def test_ending_the_hold_of_a_run_stopped_early_writes_what_is_settled_only(tmp_path: Path) -> None:
    """A run cancelled part way (its staging folder, where the scratch database would go, already removed):
    the settled rows are written, the rows ahead of their turn dropped, nothing attached."""
    scratch = tmp_path / "staging" / "held.sqlite"
    scratch.parent.mkdir()
    db = CaseDB(tmp_path / "case.db", batch=100)
    db.hold_ahead(scratch)
    for file_id in (2, 3, 1, 7, 6):
        db.add_file_ahead(_row(file_id))
    for file_id in (1, 2, 3):
        db.settle(file_id)
    scratch.parent.rmdir()
    db.end_hold()
    db.add_file(_row(4))
    db.close()
    with sqlite3.connect(tmp_path / "case.db") as conn:
        assert [r[0] for r in conn.execute("SELECT id FROM files")] == [1, 2, 3, 4]
