"""Timesketch import files: JSON Lines and CSV with ``message``,
``datetime`` (ISO 8601), ``timestamp`` (microseconds since the epoch) and
``timestamp_desc``, plus devicex's own fields (file id, path, hashes)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reports.common import atomic_text, epoch_micros, neutralise
from reports.csv_tables import csv_writer
from reports.model import Case, Event

FORMAT = "timesketch"  # the name `devicex report -f` knows this renderer by
DESCRIPTION = "timesketch.jsonl and timesketch.csv"

FIELDS = ("message", "datetime", "timestamp", "timestamp_desc", "data_type", "source", "file_id", "path",
          "sha256")


def events(case: Case) -> Iterator[dict[str, Any]]:
    hashes = {r[0]: r[1] for r in case.conn.execute("SELECT id, sha256 FROM files WHERE sha256 IS NOT NULL")}
    for e in case.timeline():
        yield _event(e, hashes.get(e.file_id))


def _event(e: Event, sha256: str | None) -> dict[str, Any]:
    data_type = "fs:stat" if e.source == "file system" else f"devicex:{e.source}"
    return {
        "message": f"{e.path} [{e.description}]",
        "datetime": e.time.replace("Z", "+00:00"),
        "timestamp": epoch_micros(e.time),
        "timestamp_desc": e.description,
        "data_type": data_type,
        "source": e.source,
        "file_id": e.file_id,
        "path": e.path,
        "sha256": sha256 or "",
    }


def render(case: Case) -> list[Path]:
    out = case.export_dir
    jsonl = out / "timesketch.jsonl"
    csv_path = out / "timesketch.csv"
    with atomic_text(jsonl) as fh, atomic_text(csv_path, bom=True, newline="") as ch:
        writer = csv_writer(ch)
        writer.writerow(FIELDS)
        for ev in events(case):
            fh.write(json.dumps(ev, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n")
            writer.writerow([neutralise(ev[k]) for k in FIELDS])
    return [jsonl, csv_path]
