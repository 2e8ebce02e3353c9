"""CSV exports for spreadsheets: files, EXIF records, the timeline and one file per record kind.

UTF-8 with a byte-order mark (so Excel detects UTF-8), RFC 4180 quoting,
CRLF line ends, and every text cell that a spreadsheet would run as a
formula (starting with ``= + - @``, tab or CR) prefixed with an apostrophe.
"""
from __future__ import annotations

import csv as _csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import reports.comms as comms
from reports.common import atomic_text, neutralise
from reports.model import Case, full_path

FORMAT = "csv"  # the name `devicex report -f` knows this renderer by
DESCRIPTION = "files.csv, exif.csv, timeline.csv, one <kind>.csv per record kind (UTF-8 BOM, formula-safe)"

FILE_FIELDS = (
    "id", "volume", "path", "stream", "name", "name_hex", "kind", "alloc", "realloc", "recovered", "size",
    "mtime", "atime", "ctime", "crtime", "fn_mtime", "fn_atime", "fn_ctime", "fn_crtime",
    "uid", "gid", "mode", "link_target", "address", "inode", "md5", "sha1", "sha256", "bytes_read",
    "mime", "magic", "category", "extension", "ext_mismatch", "status", "content_guess", "export_path",
    "locator", "stored_name", "mtime_local", "extra",
)
EXIF_FIELDS = ("make", "model", "serial", "software", "orientation", "taken_local", "taken_offset", "taken_utc",
               "gps_time_utc", "latitude", "longitude", "altitude", "width", "height")
TIMELINE_FIELDS = ("time_utc", "code", "description", "source", "file_id", "path")


def csv_writer(fh: IO[str]) -> Any:
    return _csv.writer(fh, dialect="excel", lineterminator="\r\n")


def write_table(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with atomic_text(path, bom=True, newline="") as fh:
        writer = csv_writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else neutralise(v) for v in row])
    return path


def render(case: Case) -> list[Path]:
    out = case.export_dir
    files = write_table(out / "files.csv", FILE_FIELDS,
                        ([f.get(k) for k in FILE_FIELDS] for f in case.files()))
    exif_rows = (
        [r["file_id"], full_path(r["volume"], r["path"], r["stream"]), r["sha256"],
         *[_scalar(r["data"].get(k)) for k in EXIF_FIELDS]]
        for r in case.records("exif"))
    exif = write_table(out / "exif.csv", ("file_id", "path", "sha256", *EXIF_FIELDS), exif_rows)
    timeline = write_table(out / "timeline.csv", TIMELINE_FIELDS,
                           ([e.time, e.code, e.description, e.source, e.file_id, e.path] for e in case.timeline()))
    return [files, exif, timeline, *_kinds(case)]


RECORD_LEAD = ("record_id", "parser", "file_id", "path", "source_table", "source_rowid")
OWN_CSV = frozenset({"exif"})  # record kinds with a CSV of their own


def _kinds(case: Case) -> list[Path]:
    """One ``<kind>.csv`` per record kind in case.db, its columns from the kind's declared schema."""
    out = []
    for kind, schema in comms.kinds(case).items():
        if kind in OWN_CSV or not kind.replace("_", "").isalnum():
            continue
        names = [f["name"] for f in schema.get("fields", [])]
        rows = ([r["id"], r["parser"], r["file_id"], r["full_path"], r["source_table"], r["source_rowid"],
                 *(_cell(r["data"].get(n)) for n in names)] for r in comms.records(case, kind))
        out.append(write_table(case.export_dir / f"{kind}.csv", (*RECORD_LEAD, *names), rows))
    return out


def _cell(value: Any) -> Any:
    """A record field as one cell: lists of plain values joined with "; ", structures as JSON."""
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return "; ".join("" if v is None else str(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _scalar(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return repr(value)
    return value
