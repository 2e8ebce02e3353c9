"""What a record-level (communications) scope did, for the custody log: the databases
read (path and hashes; not exported), the records taken per kind and the records left
behind per kind and rule (counts only), and, for a second run into the same OUT (a
widened scope), how many records it added to those earlier runs had taken."""
from __future__ import annotations

from typing import Any

from devicex.casedb import CaseDB

_ADDED = """
SELECT r.record_type, count(*) FROM records r JOIN files f ON f.id = r.file_id
WHERE f.run_id = ? AND NOT EXISTS (
  SELECT 1 FROM records r2 JOIN files f2 ON f2.id = r2.file_id
  WHERE f2.run_id < f.run_id AND f2.volume = f.volume AND f2.path = f.path AND r2.record_type = r.record_type
    AND r2.source_table IS r.source_table AND r2.source_rowid IS r.source_rowid AND r2.data = r.data)
GROUP BY r.record_type ORDER BY r.record_type"""


def details(db: CaseDB, run_id: int, scope: Any, left: dict[str, int], attachments: int,
            source_ids: list[int]) -> dict[str, Any]:
    """The ``record-scope`` custody entry's details for run ``run_id``."""
    db.flush()
    conn = db.conn
    sources = []
    for file_id in source_ids:
        row = conn.execute("SELECT path, volume, size, md5, sha1, sha256 FROM files WHERE id = ?",
                           (file_id,)).fetchone()
        if row is not None:
            sources.append({k: row[k] for k in ("path", "volume", "size", "md5", "sha1", "sha256")})
    taken = dict(conn.execute("SELECT r.record_type, count(*) FROM records r JOIN files f ON f.id = r.file_id "
                              "WHERE f.run_id = ? GROUP BY r.record_type ORDER BY r.record_type", (run_id,)))
    earlier = [r[0] for r in conn.execute("SELECT id FROM runs WHERE id < ? AND status = 'completed' ORDER BY id",
                                          (run_id,))]
    out: dict[str, Any] = {
        "selections": [s.as_dict() for s in scope.comms_selections],
        "databases_read_not_exported": sources, "records_taken": taken,
        "records_left": dict(sorted(left.items())), "attachments_exported": attachments,
        "note": "records left behind were never written to the output; only their number is recorded"}
    if earlier:
        added = dict(conn.execute(_ADDED, (run_id,)))
        out |= {"widens_earlier_runs": earlier, "records_added": added,
                "widening": f"run {run_id} adds {sum(added.values()):,} records to those taken by run(s) "
                            + ", ".join(map(str, earlier))}
    return out
