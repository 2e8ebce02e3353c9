"""JSON Lines: every parser record (``records.jsonl``) and every file entry
(``files.jsonl``), one JSON object a line, keys sorted, UTF-8."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reports.common import atomic_text
from reports.csv_tables import FILE_FIELDS
from reports.model import Case, full_path

FORMAT = "jsonl"  # the name `devicex report -f` knows this renderer by
DESCRIPTION = "records.jsonl (all parser records), files.jsonl"
ALIASES = ("json",)


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def render(case: Case) -> list[Path]:
    out = case.export_dir
    records = out / "records.jsonl"
    with atomic_text(records) as fh:
        for r in case.records():
            fh.write(_line({
                "record_id": r["id"], "parser": r["parser"], "parser_version": r["parser_version"],
                "record_type": r["record_type"], "timestamp": r["timestamp"], "data": r["data"],
                "row": {"table": r["source_table"], "rowid": r["source_rowid"]} if r["source_table"] else None,
                "file": {"id": r["file_id"], "volume": r["volume"], "path": r["path"], "stream": r["stream"],
                         "full_path": full_path(r["volume"], r["path"], r["stream"]),
                         "address": r["address"], "sha256": r["sha256"], "export_path": r["export_path"]},
            }))
    files = out / "files.jsonl"
    with atomic_text(files) as fh:
        for f in case.files():
            fh.write(_line({k: f[k] for k in FILE_FIELDS}))
    return [records, files]
