"""Make a finished case folder whose timeline has about N rows (default
1,000,000), for measuring the report at scale without a real image:
N/4 files with four distinct file-system times each (modified, accessed,
changed, born) over three years with a weekday/daytime rhythm, a burst of
pictures one night and a quiet gap, plus a few thousand records of a
communications kind with their own times. Deterministic.

    python3 bench/big_case.py OUT [--rows 1000000]
"""
from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devicex.casedb import FILE_COLUMNS, CaseDB  # noqa: E402

START_EPOCH = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp())
DAYS = 3 * 365
GAP = (400, 430)                      # days with no activity (a wiped phone, say)
BURST_EPOCH = int(datetime(2022, 6, 18, 2, 0, tzinfo=UTC).timestamp())
BURST_N = 600                         # pictures taken 7 s apart from 02:00 that night


def make(out: Path, rows: int) -> Path:
    """The case folder; rows are made by SQLite itself (a few seconds for a million)."""
    data = out / "data"
    data.mkdir(parents=True, exist_ok=False)
    db = CaseDB(data / "case.db")
    run = db.insert("runs", {"started": "2024-05-01T10:00:00Z", "finished": "2024-05-01T11:00:00Z",
                             "tool": "devicex", "tool_version": "bench", "case_ref": "BENCH-1M",
                             "exhibit_ref": "GEN-1", "examiner": "bench", "params": "{}",
                             "settings_sha256": "0" * 64, "full_extraction_reason": "benchmark",
                             "status": "completed"})
    src = db.insert("sources", {"run_id": run, "path": "/generated", "name": "generated", "container": "raw",
                                "segments": "[]", "size": 0, "verified": "not-run"})
    vol = db.insert("volumes", {"source_id": src, "label": "whole", "tbl": "none", "start": 0, "length": 0,
                                "sector_size": 512, "allocated": 1, "past_end": 0})
    fs = db.insert("filesystems", {"volume_id": vol, "label": "whole", "offset": 0, "fs_type": "ext4",
                                   "forced": 0})
    files, pictures = rows // 4, rows // 40
    # day d of DAYS (skipping the gap), hour around mid-afternoon, all from i by integer hashing
    base = (f"CASE WHEN i <= {BURST_N} THEN {BURST_EPOCH} + i * 7 ELSE {START_EPOCH} + "
            f"(((i * 7919) % {DAYS - (GAP[1] - GAP[0])}) + (CASE WHEN ((i * 7919) % {DAYS - (GAP[1] - GAP[0])}) "
            f">= {GAP[0]} THEN {GAP[1] - GAP[0]} ELSE 0 END)) * 86400 + (8 + (i * 31) % 6 + (i * 17) % 8) * 3600 "
            "+ (i * 97) % 3600 END")

    def t(offset: str) -> str:
        return f"strftime('%Y-%m-%dT%H:%M:%SZ', {base} + {offset}, 'unixepoch')"

    cols = [c for c in FILE_COLUMNS]
    values = {c: "NULL" for c in cols}
    values.update(id="i", run_id=str(run), source_id=str(src), fs_id=str(fs), volume="'whole'",
                  path=(f"CASE WHEN i <= {pictures} THEN '/DCIM/Camera/IMG_' || printf('%07d', i) || '.jpg' "
                        "ELSE '/data/d' || printf('%03d', i % 500) || '/file' || printf('%07d', i) || '.dat' END"),
                  name=(f"CASE WHEN i <= {pictures} THEN 'IMG_' || printf('%07d', i) || '.jpg' "
                        "ELSE 'file' || printf('%07d', i) || '.dat' END"),
                  address="CAST(i + 11 AS TEXT)", inode="i + 11", kind="'file'", alloc="'allocated'", realloc="0",
                  size="1000", mtime=t("0"), atime=t("3600 + (i * 13) % 86400"), ctime=t("1"), crtime=t("-60"),
                  category=f"CASE WHEN i <= {pictures} THEN 'image' ELSE 'data' END", recovered="0", status="'ok'")
    with db.conn:
        db.conn.execute(f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {files}) "
                        f"INSERT INTO files ({', '.join(cols)}) SELECT {', '.join(values[c] for c in cols)} FROM n")
        db.conn.execute("INSERT INTO records (file_id, parser, parser_version, record_type, timestamp, data) "
                        "SELECT id, 'exif', '1.0', 'exif', mtime, json_object('taken_utc', mtime, 'make', 'Gen', "
                        f"'model', 'Cam') FROM files WHERE id <= {pictures}")
        db.conn.execute("INSERT INTO records (file_id, parser, parser_version, record_type, timestamp, data) "
                        "SELECT id, 'sms', '1.0', 'sms', ctime, json_object('sent_utc', ctime) FROM files "
                        f"WHERE id > {pictures} AND id % 50 = 0")
    db.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    make(args.out, args.rows)
    print(args.out)


if __name__ == "__main__":
    main()
