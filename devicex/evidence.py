"""How the files an extraction exported are bound to the custody log.

:func:`export_listing`: the extraction's closing entry carries the SHA-256 of
the sorted listing ``<sha256>  <path>`` of the files that run exported, so no
file can be added, removed or changed under ``data/files`` without breaking
either the listing digest or the bundle manifest that seals it.

How a source is opened for a case (logged before anything is read) is
:func:`pipelines.intake.open_evidence`; this module imports no source library,
so ``devicex verify`` can use it without them.
"""
from __future__ import annotations

import hashlib
import sqlite3

from devicex.custody import Artefact


def export_listing(db: sqlite3.Connection, run_id: int) -> Artefact:
    """The files one run exported, as a custody artefact (digest of the listing)."""
    rows = db.execute("SELECT export_path, sha256, bytes_read FROM files WHERE run_id = ? AND export_path IS NOT "
                      "NULL ORDER BY export_path", (run_id,)).fetchall()
    listing = "".join(f"{sha}  data/{path}\n" for path, sha, _ in rows).encode("utf-8")
    total = sum(int(n or 0) for _, _, n in rows)
    return Artefact(f"exported-files ({len(rows)} files, {total} bytes)", "data/files",
                    hashlib.sha256(listing).hexdigest(), len(listing))
