"""Gathering small planned streams from the pass's blocks (pipelines.onepass._Gather): a stream in one piece of
one block is handed on as a view of it, any other is put together from its pieces; the bytes are the stream's
either way."""
from __future__ import annotations

from pipelines.onepass import Planned, _Gather

MEDIA = bytes(range(256)) * 64  # 16 KiB of media, blocks of 4 KiB below


def _gather(runs: list[tuple[int, int]], block: int = 4096) -> tuple[_Gather, bool]:
    gather = _Gather(Planned(0, None, 1, None, None, runs, None))  # type: ignore[arg-type]
    view = memoryview(MEDIA)
    done = False
    for start in range(0, len(MEDIA), block):
        if start + block <= runs[0][0]:
            continue
        done = gather.feed(start, view[start:start + block], False)
        if done:
            break
    return gather, done


def _expected(runs: list[tuple[int, int]]) -> bytes:
    return b"".join(MEDIA[off:off + length] for off, length in runs)


def test_a_stream_in_one_block_is_a_view_of_it() -> None:
    gather, done = _gather([(5000, 300)])
    assert done and isinstance(gather.data, memoryview) and bytes(gather.data) == _expected([(5000, 300)])


def test_a_stream_across_blocks_or_in_several_runs_is_put_together() -> None:
    for runs in ([(4000, 200)], [(100, 50), (9000, 70)], [(8100, 10), (8200, 4000)]):
        gather, done = _gather(runs)
        assert done and isinstance(gather.data, bytearray) and bytes(gather.data) == _expected(runs), runs


def test_a_stream_not_yet_complete_says_so() -> None:
    gather = _Gather(Planned(0, None, 1, None, None, [(4000, 200)], None))  # type: ignore[arg-type]
    assert not gather.feed(0, memoryview(MEDIA)[:4096], False)
    assert gather.feed(4096, memoryview(MEDIA)[4096:8192], True) and gather.tainted  # a bad block taints it
