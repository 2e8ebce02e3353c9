"""The ways evidence enters and leaves a case, each leaving a custody entry.

* :func:`open_evidence` is how an extraction opens a source: the opening (or
  the failure to open) is logged before anything is read.
* :func:`export_listing` binds every exported file to the custody log: the
  extraction's closing entry carries the SHA-256 of the sorted listing
  ``<sha256>  <path>`` of the files that run exported, so no file can be
  added, removed or changed under ``data/files`` without breaking either the
  listing digest or the bundle manifest that seals it.

``devicex info`` and ``devicex ls`` only look at a source and write nothing,
so they use :func:`devicex.sources.open_source` directly.
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from devicex.custody import Artefact, CustodyLog
from devicex.errors import SourceError
from devicex.sources import Source, open_source


def open_evidence(path: Path, custody: CustodyLog) -> Source:
    """Open a source read-only for a case; logs ``source-open`` either way."""
    try:
        src = open_source(path)
    except SourceError as exc:
        custody.append("source-open", inputs=[Artefact("source", str(path))], result="failed",
                       details={"error": str(exc)})
        raise
    custody.append("source-open", inputs=[Artefact("source", str(src.path), None, src.size)],
                   details={"container": src.container, "segments": [p.name for p in src.segments],
                            "read_only": True})
    return src


def export_listing(db: sqlite3.Connection, run_id: int) -> Artefact:
    """The files one run exported, as a custody artefact (digest of the listing)."""
    rows = db.execute("SELECT export_path, sha256, bytes_read FROM files WHERE run_id = ? AND export_path IS NOT "
                      "NULL ORDER BY export_path", (run_id,)).fetchall()
    listing = "".join(f"{sha}  data/{path}\n" for path, sha, _ in rows).encode("utf-8")
    total = sum(int(n or 0) for _, _, n in rows)
    return Artefact(f"exported-files ({len(rows)} files, {total} bytes)", "data/files",
                    hashlib.sha256(listing).hexdigest(), len(listing))
