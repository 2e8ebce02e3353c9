"""How each item of a case was obtained (allocated, deleted and read from its own blocks, read as if contiguous,
found by an inode scan, on a partition found again, a database row read only from the write-ahead log...), in
plain words for the SFR1, and the same counted over the whole case for its limitations.

Everything comes from ``case.db`` columns: a file's ``alloc``, ``recovered``, ``content_guess``, ``realloc``,
``status`` and its volume's ``recovery``; a record's ``deleted`` field (what its parser says about the row)."""
from __future__ import annotations

import json
from typing import Any

from reports.model import Case

SCAN_DIR = "/$InodeScan"
ORPHAN_DIR = "/$OrphanFiles"
LIVE = "allocated (a live file)"
METHODS = {
    "live": LIVE,
    "recovered": "deleted; its content read from its own blocks, which the file system still records",
    "no-cluster-chain": "deleted; its cluster chain is gone, so its content was read as if contiguous and may not be "
                        "its own",
    "reallocated": "deleted name whose metadata now belongs to another file: the content shown is not its own",
    "name-only": "deleted; listed from its name and metadata only, its content was not recovered",
    "inode-scan": "found by a scan of the file system's metadata (no folder names it any more)",
    "orphan": "orphan file (no folder names it any more), listed by The Sleuth Kit under $OrphanFiles",
}
NOT_SHOWN = ("A recovered item does not show when it was deleted, by whom, or whether the device's user ever "
             "saw it; unallocated space was not carved.")

_FILE_METHOD_SQL = (
    "CASE WHEN alloc = 'allocated' THEN 'live' "
    "WHEN path LIKE '/$InodeScan/%' THEN 'inode-scan' "
    "WHEN path LIKE '%/$OrphanFiles/%' OR path LIKE '/$OrphanFiles/%' THEN 'orphan' "
    "WHEN content_guess = 'reallocated' OR realloc = 1 THEN 'reallocated' "
    "WHEN content_guess = 'no-cluster-chain' THEN 'no-cluster-chain' "
    "WHEN recovered = 1 THEN 'recovered' ELSE 'name-only' END")


def _volume_note(case: Case, volume: str) -> str:
    rows = case.rows("SELECT recovery FROM volumes WHERE label = ? AND recovery IS NOT NULL LIMIT 1", (volume,))
    return f"; on a partition found again by {rows[0]['recovery']} (the partition table did not list it)" \
        if rows else ""


def file_method(case: Case, file_id: int) -> str:
    """How file ``file_id`` was obtained, in one phrase."""
    rows = case.rows(f"SELECT {_FILE_METHOD_SQL} AS m, volume FROM files WHERE id = ?", (file_id,))
    if not rows:
        return "not in this case"
    return METHODS[rows[0]["m"]] + _volume_note(case, rows[0]["volume"])


def record_method(case: Case, record_id: int) -> str:
    """How record ``record_id`` was obtained: the row's own state, then its file's."""
    rows = case.rows("SELECT data, source_table, source_rowid, file_id FROM records WHERE id = ?", (record_id,))
    if not rows:
        return "not in this case"
    r = rows[0]
    try:
        deleted = json.loads(r["data"]).get("deleted")
    except (TypeError, ValueError, AttributeError):
        deleted = None
    where = f"row {r['source_rowid']} of table {r['source_table']}" if r["source_table"] else "a record"
    row = f"{where}, {deleted}" if deleted else f"{where}, a live row"
    return f"{row}; in a file {file_method(case, r['file_id'])}"


def method(case: Case, tag: dict[str, Any]) -> str:
    return file_method(case, tag["item_id"]) if tag["item_kind"] == "file" else record_method(case, tag["item_id"])


def file_counts(case: Case) -> dict[str, int]:
    """Entries (not folders) by how they were obtained."""
    return {r["m"]: r["n"] for r in case.rows(f"SELECT {_FILE_METHOD_SQL} AS m, count(*) AS n FROM files "
                                             "WHERE kind NOT IN ('dir', 'virtual-dir') GROUP BY 1 ORDER BY 1")}


def record_counts(case: Case) -> dict[str, int]:
    """Records whose parser says the row is not a live one, by what it says."""
    return {r["d"]: r["n"] for r in case.rows(
        "SELECT json_extract(data, '$.deleted') AS d, count(*) AS n FROM records WHERE json_valid(data) AND "
        "json_type(data, '$.deleted') = 'text' GROUP BY 1 ORDER BY 1")}


COUNTED = {
    "recovered": "deleted, their content read from their own blocks (recovered)",
    "no-cluster-chain": "deleted, their content read as if contiguous (may not be their own; not counted as "
                        "recovered)",
    "reallocated": "deleted names whose metadata now belongs to another file (content not their own)",
    "name-only": "deleted, listed by name and metadata only (content not recovered)",
    "inode-scan": "found by a scan of the file system's metadata (no folder names them)",
    "orphan": "orphan files listed under $OrphanFiles (no folder names them)",
}


def summary(case: Case) -> str:
    """The deleted-items limitation: every way an item was obtained other than live, counted."""
    files = [f"{n} {COUNTED[m]}" for m, n in file_counts(case).items() if m != "live"]
    rows = [f"{n} {d}" for d, n in record_counts(case).items()]
    return (f"Files: {'; '.join(files) or 'none deleted or orphaned'}. Database rows the parsers show although "
            f"the app no longer holds them as live rows: {'; '.join(rows) or 'none'}. Deleted rows were read only "
            f"where the database or its write-ahead log still holds them; free pages of databases were not carved. "
            f"{NOT_SHOWN}")
