"""The comparisons: devicex's case database against truth made by independent tools.

The project's tests call these same functions (tests/pipelines/test_fixture_truth.py,
test_corpus_truth.py), so CI, a lab and a court see the same checks.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from devicex.entries import component_name
from pipelines.validate.faults import (
    Explained,
    RawImage,
    explain_fat_time,
    explain_ntfs_time,
)
from pipelines.validate.record import Finding, Tally, TruthFault
from pipelines.validate.truth import FS_FAMILY, FsTruth, read_fls, read_tsv

TIME_FIELDS = ("mtime", "atime", "ctime", "crtime")


def fls_key(path: str, stream: str | None) -> str:
    """A case-database path in fls's notation: names with their '/', '\\' and dots back (devicex
    records them escaped), control characters as '^', ``:stream``."""
    text = "/".join(component_name(c) for c in path.split("/")) + (f":{stream}" if stream else "")
    return "".join("^" if ord(ch) < 0x20 else ch for ch in text)


def fs_rows(conn: sqlite3.Connection, truth: FsTruth) -> list[sqlite3.Row]:
    """devicex's rows for the file system the truth describes (offset, and type when forced)."""
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT f.*, fs.fs_type AS fs_type FROM files f JOIN filesystems fs ON fs.id = f.fs_id "
                        "WHERE fs.offset = ? ORDER BY f.id", (truth.offset,)).fetchall()
    if truth.as_type:
        family = FS_FAMILY.get(truth.as_type, truth.as_type)
        rows = [r for r in rows if str(r["fs_type"]).startswith(family)]
    return rows


def listing(truth: FsTruth, rows: list[sqlite3.Row], listed: Tally, deleted: Tally) -> None:
    """Every name fls lists is in devicex's listing, deleted ones marked deleted."""
    ours = Counter((fls_key(r["path"], r["stream"]), r["alloc"] != "allocated") for r in rows)
    image = truth.label
    for entry in read_fls(truth.fls):
        key = ("/" + entry.path, entry.deleted)
        tally = deleted if entry.deleted else listed
        if ours[key] > 0:
            ours[key] -= 1
            tally.agree(image)
            continue
        other = "listed as allocated" if entry.deleted and ours[(key[0], False)] else \
            "listed as deleted" if not entry.deleted and ours[(key[0], True)] else "not listed"
        tally.disagree(Finding(image, entry.line.split("\t")[0] + " " + entry.path, other,
                               "deleted" if entry.deleted else "allocated"))


def content_hashes(truth: FsTruth, rows: list[sqlite3.Row], tally: Tally) -> None:
    """Every stream icat read has devicex's MD5 and SHA-256 (and SHA-1 when the truth has it)."""
    ours: dict[str, list[sqlite3.Row]] = {}
    for r in rows:
        ours.setdefault(fls_key(r["path"], r["stream"]), []).append(r)
    image = truth.label
    for table in truth.hashes:
        for t in read_tsv(table):
            path = "/" + t["path"]
            algos = [a for a in ("md5", "sha1", "sha256") if t.get(a)]
            candidates = ours.get(path, [])
            if any(all(r[a] == t[a] for a in algos) for r in candidates):
                tally.agree(image)
            else:
                got = ", ".join(f"{r['md5']} ({r['status']})" for r in candidates) or "no such entry"
                tally.disagree(Finding(image, f"{path} (inode {t.get('inode')})", got, t["md5"],
                                       f"from {table.name}"))


def _whole_seconds(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text).replace(microsecond=0)


def times(truth: FsTruth, rows: list[sqlite3.Row], tally: Tally, image: RawImage | None) -> None:
    """MACB times (whole seconds, UTC) of every name fls lists with devicex's for the same
    address; differences the raw directory entry shows to be TSK 4.11.1 faults are counted
    as truth-tool faults, with the bytes."""
    ours = {(fls_key(r["path"], r["stream"]), r["address"]): r for r in rows}
    label = truth.label
    for entry in read_fls(truth.fls):
        row = ours.get(("/" + entry.path, entry.addr.split("(")[0]))
        if row is None:
            continue  # not listed: counted by the listing requirement
        for name in TIME_FIELDS:
            expected, got = getattr(entry, name), _whole_seconds(row[name])
            if expected == got:
                tally.agree(label)
                continue
            item = f"{entry.path} (address {entry.addr}) {name}"
            ours_text = got.strftime("%Y-%m-%d %H:%M:%S") if got else "none"
            truth_text = expected.strftime("%Y-%m-%d %H:%M:%S") if expected else "none"
            why = _explain(image, truth.offset, str(row["fs_type"]), int(row["inode"]), name, got, expected)
            if why is not None:
                tally.fault(TruthFault(label, item, ours_text, truth_text, why.fault, why.reasons, why.evidence))
            else:
                tally.disagree(Finding(label, item, ours_text, truth_text))


def _explain(image: RawImage | None, fs_offset: int, fs_type: str, inode: int, name: str, got: datetime | None,
             expected: datetime | None) -> Explained | None:
    if image is None:
        return None
    if fs_type.startswith(("fat", "exfat")):
        return explain_fat_time(image, fs_offset, fs_type, inode, name, got, expected)
    if fs_type == "ntfs":
        return explain_ntfs_time(image, fs_offset, inode, name, got, expected)
    return None


def typing(truth: FsTruth, rows: list[sqlite3.Row], tally: Tally) -> None:
    """libmagic MIME type of each regular file, against ``file --mime-type`` on the whole content."""
    ours: dict[str, list[sqlite3.Row]] = {}
    for r in rows:
        ours.setdefault(fls_key(r["path"], r["stream"]), []).append(r)
    for table in truth.hashes:
        for t in read_tsv(table):
            if not t.get("mime"):
                continue
            path = "/" + t["path"]
            candidates = [r for r in ours.get(path, []) if r["md5"] == t["md5"]]
            if not candidates:
                continue  # content differs or not listed: counted by the hash/listing requirements
            expected = _file_mime(t["mime"], int(t.get("size") or 0))
            got = candidates[0]["mime"]
            if got == expected:
                tally.agree(truth.label)
            else:
                tally.disagree(Finding(truth.label, path, f"{got} ({candidates[0]['category']})", expected))


def _file_mime(mime: str, size: int) -> str:
    # file(1) says inode/x-empty for an empty file; devicex's name for "no content" is application/x-empty
    return "application/x-empty" if mime == "inode/x-empty" or size == 0 else mime


def exif(truth: FsTruth, conn: sqlite3.Connection, tally: Tally) -> None:
    """EXIF make, model, serial, DateTimeOriginal (+ offset), GPS of each photo, against exiftool -n."""
    if truth.exif is None:
        return
    data = json.loads(truth.exif.read_text(encoding="utf-8"))
    for path, tags in sorted(data.items()):
        if not any(k in tags for k in ("Make", "DateTimeOriginal", "GPSLatitude")):
            continue
        row = conn.execute("SELECT r.data FROM records r JOIN files f ON f.id = r.file_id JOIN filesystems fs "
                           "ON fs.id = f.fs_id WHERE f.path = ? AND r.parser = 'exif' AND fs.offset = ?",
                           ("/" + path, truth.offset)).fetchone()
        record = json.loads(row[0]) if row else {}
        for field, expected in _exif_expectations(tags):
            got = record.get(field) if row else None
            same = got == expected if not isinstance(expected, float) else \
                isinstance(got, (int, float)) and abs(got - expected) <= 1e-6
            item = f"/{path} {field}"
            if same:
                tally.agree(truth.label)
            else:
                tally.disagree(Finding(truth.label, item, "no EXIF record" if not row else repr(got), repr(expected)))


def exif_folder(label: str, truth: Path, conn: sqlite3.Connection, tally: Tally) -> None:
    """The EXIF records of a folder of photos read as a source, against ``truth/<name>.exiftool.json``
    (exiftool -j -n on each photo)."""
    for tfile in sorted(truth.glob("*.exiftool.json")):
        name = tfile.name[: -len(".exiftool.json")]
        tags = json.loads(tfile.read_text(encoding="utf-8"))[0]
        if not any(k in tags for k in ("Make", "DateTimeOriginal", "GPSLatitude")):
            continue
        row = conn.execute("SELECT r.data FROM records r JOIN files f ON f.id = r.file_id WHERE f.path = ? "
                           "AND r.parser = 'exif'", ("/" + name,)).fetchone()
        record = json.loads(row[0]) if row else {}
        for field, expected in _exif_expectations(tags):
            got = record.get(field) if row else None
            same = got == expected if not isinstance(expected, float) else \
                isinstance(got, (int, float)) and abs(got - expected) <= 1e-6
            if same:
                tally.agree(label)
            else:
                tally.disagree(Finding(label, f"/{name} {field}", "no EXIF record" if not row else repr(got),
                                       repr(expected)))


def _exif_expectations(tags: dict[str, object]) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = [("make", tags.get("Make")), ("model", tags.get("Model")),
                                     ("taken_local", tags.get("DateTimeOriginal"))]
    if "SerialNumber" in tags:
        out.append(("serial", str(tags["SerialNumber"])))
    for ours, key in (("latitude", "GPSLatitude"), ("longitude", "GPSLongitude"), ("altitude", "GPSAltitude")):
        if key in tags:
            value = float(tags[key])  # type: ignore[arg-type]
            if key == "GPSAltitude" and tags.get("GPSAltitudeRef") == 1:
                value = -value
            out.append((ours, value))
    if "OffsetTimeOriginal" in tags and "DateTimeOriginal" in tags:
        local = datetime.strptime(f"{tags['DateTimeOriginal']}{str(tags['OffsetTimeOriginal']).replace(':', '')}",
                                  "%Y:%m:%d %H:%M:%S%z")
        out.append(("taken_utc", local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")))
    return out


def media_hashes(label: str, truth_file: Path, conn: sqlite3.Connection, tally: Tally) -> None:
    """The whole media's hashes at intake and re-verification, against md5sum/sha256sum
    (or the corpus's decoders) on the same media."""
    rows = read_tsv(truth_file)
    src = conn.execute("SELECT md5, sha1, sha256, size, verify_md5, verify_sha256 FROM sources").fetchone()
    if src is None:
        why = conn.execute("SELECT message FROM errors WHERE stage = 'open'").fetchone()
        for t in rows[:1]:
            tally.disagree(Finding(label, "whole media", f"not opened: {why[0] if why else 'unknown'}",
                                   f"{t.get('md5')} ({t['size']} B)", truth_file.name))
        return
    for t in rows[:1]:
        algos = [a for a in ("md5", "sha1", "sha256") if t.get(a)]
        ours = dict(zip(("md5", "sha1", "sha256", "size", "verify_md5", "verify_sha256"), src, strict=False))
        again = [(ours[f"verify_{a}"], ours[a]) for a in ("md5", "sha256") if ours[f"verify_{a}"] is not None]
        same = all(ours[a] == t[a] for a in algos) and str(ours["size"]) == t["size"] and \
            bool(again) and all(v == i for v, i in again)  # the hashes the re-verification computed (--reverify)
        if same:
            tally.agree(label)
        else:
            tally.disagree(Finding(label, "whole media", f"{ours['md5']} / {ours['sha256']} ({ours['size']} B)",
                                   f"{t.get('md5')} / {t.get('sha256')} ({t['size']} B)", truth_file.name))


def exports(label: str, out: Path, conn: sqlite3.Connection, tally: Tally) -> None:
    """Every exported file exists, is a regular file, and holds exactly the hashed content;
    rows with no content name no export and carry no hash."""
    for r in conn.execute("SELECT path, stream, status, sha256, md5, size, export_path FROM files "
                          "WHERE export_path IS NOT NULL OR status IN ('no-content', 'unreadable')"):
        path, stream, status, sha256, md5, _size, rel = r
        item = fls_key(path, stream)
        if rel is None:
            if md5 is None:
                tally.agree(label)
            else:
                tally.disagree(Finding(label, item, f"status {status} with MD5 {md5}", "no hash (nothing read)"))
            continue
        target = out / "data" / rel
        if not target.is_file() or target.is_symlink():
            tally.disagree(Finding(label, item, f"export_path {rel} (status {status})", "a file at that path"))
            continue
        digest = hashlib.sha256()
        with open(target, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() == sha256:
            tally.agree(label)
        else:
            tally.disagree(Finding(label, item, f"exported SHA-256 {digest.hexdigest()}", f"recorded {sha256}"))
