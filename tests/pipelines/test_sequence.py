"""pipelines.sequence.InOrder: items put in any order come out in walk order, spooled or not."""
from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

import pipelines.sequence as sequence
from pipelines.sequence import InOrder


def _run(order: list[int], tmp_path: Path, limit: int, late: bool = False, budget: int = 0
         ) -> tuple[list[int], InOrder]:
    out: list[int] = []
    seq = InOrder(out.append, tmp_path / "waiting.sqlite", limit=limit, budget=budget,
                  freeze=lambda item: b"frozen %d" % item, thaw=lambda blob: int(blob.split()[1]))
    if late:  # numbered as they are walked, put when done: the walk runs ahead of what is put
        for _ in order:
            seq.number()
        for n in order:
            seq.put(n, n)
    else:
        for n in order:
            while seq._numbered <= n:  # noqa: SLF001 - number up to n, as the walk would before putting n
                seq.number()
            seq.put(n, n)
    return out, seq


@pytest.mark.parametrize("fetch", [1, 3, 256])
@pytest.mark.parametrize("limit", [1, 5, 1000])
@pytest.mark.parametrize("budget", [0, 100, 1 << 20])
@pytest.mark.parametrize("seed", range(6))
def test_any_order_comes_out_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fetch: int, limit: int,
                                      budget: int, seed: int) -> None:
    monkeypatch.setattr(sequence, "FETCH", fetch)
    rng = random.Random(seed)
    n = 700
    order = list(range(n))
    rng.shuffle(order)
    out, seq = _run(order, tmp_path, limit, late=seed % 2 == 0, budget=budget)
    assert out == list(range(n))
    assert seq.released == n and seq.waiting == 0
    seq.close()
    assert not (tmp_path / "waiting.sqlite").exists()


def test_spooled_items_come_back_in_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first item arrives last: everything else waits, most of it spooled; it all comes back, in order,
    with one query per FETCH items and nothing left in the spool."""
    monkeypatch.setattr(sequence, "FETCH", 10)
    queries: list[str] = []
    real_connect = sqlite3.connect

    def traced(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)  # type: ignore[arg-type]
        conn.set_trace_callback(queries.append)
        return conn

    monkeypatch.setattr(sequence.sqlite3, "connect", traced)
    n = 100
    out, seq = _run(list(range(1, n)) + [0], tmp_path, limit=4, late=True)
    assert out == list(range(n))
    spool = real_connect(tmp_path / "waiting.sqlite")
    assert spool.execute("SELECT count(*) FROM waiting").fetchone() == (0,)
    spool.close()
    selects = [q for q in queries if q.startswith("SELECT")]
    assert 0 < len(selects) <= n // 10 + 2
    seq.close()


def test_item_spooled_inside_a_range_already_taken_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Items taken back, then an earlier gap filled late and spooled again: nothing is lost or repeated."""
    monkeypatch.setattr(sequence, "FETCH", 4)
    out: list[int] = []
    seq = InOrder(out.append, tmp_path / "w.sqlite", limit=2, budget=0)
    for _ in range(12):
        seq.number()
    for n in (1, 2, 3, 5, 6, 7, 9, 10, 11):  # spooled (limit 2), waiting for 0, 4 and 8
        seq.put(n, n)
    seq.put(0, 0)  # 0..3 out; 5, 6, 7 taken back with them, waiting for 4
    assert out == [0, 1, 2, 3]
    seq.put(8, 8)
    seq.put(4, 4)
    assert out == list(range(12))
    seq.close()


def test_frozen_items_stay_in_memory_within_the_budget(tmp_path: Path) -> None:
    """Past ``limit`` the waiting items are frozen; within ``budget`` bytes of them nothing is spooled, and past it
    they are; frozen or spooled, each comes back thawed, once, in order."""
    frozen: list[int] = []

    def freeze(item: int) -> bytes:
        frozen.append(item)
        return b"%08d" % item

    out: list[int] = []
    seq = InOrder(out.append, tmp_path / "w.sqlite", limit=3, budget=8 * 20, freeze=freeze, thaw=int)
    for _ in range(50):
        seq.number()
    for n in range(1, 21):  # all wait for 0: frozen 4 at a time (past the limit), 20 of 8 bytes fit the budget
        seq.put(n, n)
    assert sorted(frozen) == list(range(1, 21)) and not (tmp_path / "w.sqlite").exists()
    for n in range(21, 50):
        seq.put(n, n)
    assert (tmp_path / "w.sqlite").exists()
    seq.put(0, 0)
    assert out == list(range(50)) and seq.waiting == 0
    seq.close()
    assert not (tmp_path / "w.sqlite").exists()
