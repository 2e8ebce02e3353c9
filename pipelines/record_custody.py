"""What a record-level (communications) scope did, for the custody log: the databases
read (path and hashes; not exported), the records taken per kind and the records left
behind per kind and rule (counts only), and, for a second run into the same OUT (a
widened scope), how many records it added to those earlier runs had taken."""
from __future__ import annotations

from typing import Any

from devicex.casedb import CaseDB
from devicex.scope import Scope
from pipelines.store import ResultWriter


def details(db: CaseDB, run_id: int, scope: Scope, writer: ResultWriter) -> dict[str, Any]:
    """The ``record-scope`` custody entry's details for run ``run_id``."""
    db.flush()
    conn = db.conn
    sources = []
    left = writer.left
    for file_id in writer.record_sources:
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
        "records_left": dict(sorted(left.items())), "attachments_exported": writer.attachments_taken,
        "note": "records left behind were never written to the output; only their number is recorded"}
    if earlier:  # a second run into the same OUT (a widened scope): what it added
        out |= {"widens_earlier_runs": earlier, "records_added": taken,
                "records_already_taken": dict(sorted(writer.already.items())),
                "widening": f"run {run_id} adds {sum(taken.values()):,} records to those taken by run(s) "
                            + ", ".join(map(str, earlier)) + f"; {sum(writer.already.values()):,} it selected "
                            "were already in the case and were not written again"}
    return out
