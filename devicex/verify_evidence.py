"""The checks verify makes against the case database: the sources it records
were re-verified and are the ones the custody log hashed, each logged listing of
exported files equals the files case.db lists for that run, each of those files
is in the bundle as listed, and nothing under ``data/files`` is outside every
logged listing. A mixin of :class:`devicex.verify._Verifier` (which supplies the
reader, the manifest, the custody chain and ``fail``)."""
from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from typing import Any

from devicex.bagit import EXPORT_ROOT, PAYLOAD, sources_from_log
from devicex.bundle_reader import BundleReader
from devicex.custody import ChainReport
from devicex.evidence import export_listing
from devicex.seal_checks import listed_runs, recorded_exports


class EvidenceChecks(ABC):
    r: BundleReader
    manifest: dict[str, str]
    chain: ChainReport
    res: Any

    @abstractmethod
    def fail(self, code: str, message: str, path: str | None = None) -> None:
        """Record a failed check (the verifier's result)."""

    def _case_db(self) -> None:
        rel = f"{PAYLOAD}/case.db"
        if rel not in self.r.files or any(f.path == rel for f in self.res.failures):
            return
        logged = {s.intake["sha256"] for s in sources_from_log(e.entry for e in self.chain.entries)}
        try:
            conn = self.r.sqlite(rel)
            try:
                rows = conn.execute("SELECT path, md5, sha1, sha256, verify_md5, verify_sha1, verify_sha256, "
                                    "verified FROM sources ORDER BY id").fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            self.fail("source-record-mismatch", f"the sources table cannot be read: {exc}", rel)
            return
        for path, md5, sha1, sha256, vmd5, vsha1, vsha256, verified in rows:
            if sha256 is None and verified == "not-run":
                continue  # a run that ended before its intake hash: it claims nothing about the source
            if not _reverified(verified, (md5, sha1, sha256), (vmd5, vsha1, vsha256)):
                self.fail("source-hash-mismatch", f"case.db: {path} re-verification {verified}", rel)
            if sha256 not in logged:
                self.fail("source-record-mismatch", f"case.db: {path} SHA-256 {sha256} is not in the custody log",
                          rel)
        self._export_listings(rel)

    def _export_listings(self, rel: str) -> None:
        """Each logged listing of exported files equals case.db's, each file the bundle's, and nothing
        under data/files is outside every logged listing."""
        runs = listed_runs(e.entry for e in self.chain.entries)
        try:
            conn = self.r.sqlite(rel)
            try:
                known = recorded_exports(conn, runs)
                for run_id, (seq, digest) in sorted(runs.items()):
                    self._listing(conn, rel, run_id, seq, digest)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            self.fail("export-listing-mismatch", f"exported-files listings cannot be rebuilt: {exc}", rel)
            return
        for path in sorted(self.r.files):
            if path.startswith(EXPORT_ROOT + "/") and path not in known:
                self.fail("payload-unrecorded", f"under {EXPORT_ROOT}/ but no extraction recorded exporting it "
                          "(planted?)", path)

    def _listing(self, conn: sqlite3.Connection, rel: str, run_id: int, seq: int, digest: str | None) -> None:
        artefact = export_listing(conn, run_id)
        if artefact.sha256 != digest:
            self.fail("export-listing-mismatch", f"custody seq {seq} recorded exported-files listing "
                      f"{digest}; case.db gives {artefact.sha256}", rel)
        for path, sha in conn.execute("SELECT export_path, sha256 FROM files WHERE run_id = ? AND export_path IS "
                                      "NOT NULL", (run_id,)):
            ref = f"{PAYLOAD}/{path}"
            if self.manifest.get(ref) != sha:
                self.fail("export-listing-mismatch", f"exported by run {run_id} with SHA-256 {sha} (custody seq "
                          f"{seq}); the bundle's file differs or is missing", ref)


def _reverified(verdict: str, intake: tuple[str | None, ...], again: tuple[str | None, ...]) -> bool:
    """A ``sources`` row agrees with itself: re-verified with every hash computed equal to the intake's,
    or not re-verified by the examiner's choice (no hash computed)."""
    if verdict == "not-reverified":
        return all(v is None for v in again)
    computed = [(a, b) for a, b in zip(intake, again, strict=True) if b is not None]
    return verdict == "match" and bool(computed) and all(a == b for a, b in computed)
