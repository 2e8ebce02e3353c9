"""An entry with a value in every field, for tests of what entries become when they are stored or sent (the
plan's spool, the transfer to the worker processes): times at the edges of the range, a name with non-ASCII
bytes, notes and UTC offsets."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devicex.entries import Entry

WHEN = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)


def sample_entry(n: int, **extra: object) -> Entry:
    """Entry number ``n`` (fields vary with it), with ``extra`` fields set as given."""
    values: dict[str, object] = dict(
        source="img", volume="p1", fs_offset=1048576, fs_type="ntfs", inode=n, attr_type=128, attr_id=n % 3,
        stream="ads" if n % 2 else None, path=f"/dir/f{n}", name=f"f{n}", name_raw=f"f{n}\xe9".encode(),
        kind="file", size=1000 + n, alloc="allocated", realloc=bool(n % 2), meta_seq=n, mtime=WHEN,
        atime=None, ctime=WHEN + timedelta(days=n), crtime=datetime(1601, 1, 1, tzinfo=UTC),
        fn_mtime=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), uid=0, gid=None, mode=0o100644,
        notes=("duplicate name",), utc_offsets=(("mtime", 60), ("atime", -330)))
    values.update(extra)
    return Entry(**values)  # type: ignore[arg-type]
