"""Finishing the record of runs that never finished.

A run killed outright (``kill -9``, a power cut, the OOM killer) leaves its
``runs`` row ``running`` and its source hashed at intake but never
re-verified, so the folder could never verify. The next run into the same
OUT (which holds the OUT lock, so no other run is alive there) closes such
runs before it starts:

* :func:`close_dead_runs` marks each ``interrupted`` in ``case.db`` and appends
  an ``extraction-interrupted`` custody entry saying what it had recorded
  (entries, exports and their listing digest, errors, its last entry).
* :func:`reverify_unfinished` runs after the new run's intake hash: that hash
  of the same source is the re-verification the unfinished runs never made.
  Each intake still open in the custody log for this source gets its
  ``source-reverify`` entry (marked as made after the interruption) and each
  unfinished run's ``sources`` row its verification hashes.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from devicex.bagit import sources_from_log
from devicex.casedb import CaseDB
from devicex.custody import Artefact, CustodyLog, read_chain
from devicex.evidence import export_listing
from devicex.timeutil import iso, now_utc

UNFINISHED = ("running", "interrupted", "failed")


def close_dead_runs(db: CaseDB, custody: CustodyLog, current_run: int) -> list[int]:
    """Mark every run still ``running`` (other than ``current_run``) as interrupted; returns their ids."""
    rows = db.conn.execute("SELECT id, started FROM runs WHERE status = 'running' AND id != ? ORDER BY id",
                           (current_run,)).fetchall()
    closed = []
    for run_id, started in rows:
        done = _what_it_did(db.conn, run_id)
        custody.append("extraction-interrupted", outputs=[export_listing(db.conn, run_id)], result="interrupted",
                       details={"run_id": run_id, "started": started, "cause": "the process ended without "
                                "closing its run (killed or power lost); found by the next run",
                                "found_by_run": current_run, **done})
        # when it died is unknown: "finished" is when its record was closed (the custody entry says by whom)
        db.update("runs", run_id, {"finished": iso(now_utc()), "status": "interrupted"})
        closed.append(run_id)
    return closed


def _what_it_did(conn: sqlite3.Connection, run_id: int) -> dict[str, Any]:
    files, exported, nbytes = conn.execute(
        "SELECT COUNT(*), COUNT(export_path), COALESCE(SUM(bytes_read), 0) FROM files WHERE run_id = ?",
        (run_id,)).fetchone()
    errors = conn.execute("SELECT COUNT(*) FROM errors WHERE run_id = ?", (run_id,)).fetchone()[0]
    last = conn.execute("SELECT volume, path FROM files WHERE run_id = ? ORDER BY id DESC LIMIT 1",
                        (run_id,)).fetchone()
    intake = conn.execute("SELECT COUNT(*) FROM sources WHERE run_id = ? AND sha256 IS NOT NULL",
                          (run_id,)).fetchone()[0]
    return {"entries_recorded": files, "files_exported": exported, "bytes_read": nbytes, "problems_recorded": errors,
            "last_entry_recorded": f"{last[0]}:{last[1]}" if last else None, "intake_done": bool(intake)}


def reverify_unfinished(db: CaseDB, custody: CustodyLog, source: Path, size: int, hashes: dict[str, str],
                        current_run: int) -> int:
    """Close open intakes of ``source`` with the hashes just taken; returns how many were closed."""
    report = read_chain(custody.path)
    here = source.resolve()
    closed = 0
    for src in sources_from_log(e.entry for e in report.entries):
        if src.reverify is not None or Path(src.ref).resolve() != here:
            continue
        same = all(src.intake.get(k) == hashes[k] for k in ("md5", "sha1", "sha256"))
        custody.append("source-reverify", inputs=[Artefact("source", src.ref, hashes["sha256"], size)],
                       result="ok" if same else "mismatch",
                       details={**hashes, "intake_sha256": src.intake.get("sha256"),
                                "verdict": "match" if same else "mismatch", "after_interruption": True,
                                "hashed_by_run": current_run})
        closed += 1
    placeholders = ", ".join("?" for _ in UNFINISHED)
    rows = db.conn.execute(
        f"SELECT s.id, s.md5, s.sha1, s.sha256 FROM sources s JOIN runs r ON r.id = s.run_id WHERE r.id != ? AND "
        f"r.status IN ({placeholders}) AND s.verified = 'not-run' AND s.sha256 IS NOT NULL AND s.path = ?",
        (current_run, *UNFINISHED, str(here))).fetchall()
    for sid, md5, sha1, sha256 in rows:
        verdict = "match" if (md5, sha1, sha256) == (hashes["md5"], hashes["sha1"], hashes["sha256"]) else "mismatch"
        db.conn.execute("UPDATE sources SET verify_md5 = ?, verify_sha1 = ?, verify_sha256 = ?, verified = ? "
                        "WHERE id = ?", (hashes["md5"], hashes["sha1"], hashes["sha256"], verdict, sid))
    db.conn.commit()
    return closed
