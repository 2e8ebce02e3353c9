"""The report's data: rows of plain values written as chunked JavaScript
files (``data/<set>-0001.js``) that hand a JSON string to ``DVX.add``.

Browsers block fetch() of file:// pages, so data arrive as scripts; each chunk
is a JSON text inside a JS string literal (``JSON.parse`` is fast and cannot
run anything), all non-ASCII escaped. The page code only ever puts these
values into the DOM as text, and the text is made visible first
(:func:`devicex.safetext.visible`).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from devicex.safetext import visible
from devicex.tags import read_tags
from reports.model import Case, Event, full_path

CHUNK_ROWS = 5000
FILE_COLUMNS = ("id", "path", "name", "kind", "alloc", "size", "mtime", "atime", "ctime", "crtime", "category",
                "mime", "ext", "mismatch", "status", "md5", "sha1", "sha256", "href", "thumb", "magic", "address",
                "recovered", "export")
TIMELINE_COLUMNS = ("time", "macb", "description", "source", "file_id", "path")
GALLERY_COLUMNS = ("file_id", "path", "thumb", "href", "taken", "camera", "lat", "lon")
PLACES_COLUMNS = ("file_id", "path", "lat", "lon", "alt", "time", "camera", "thumb", "href", "place")
MISMATCH_COLUMNS = ("file_id", "path", "ext", "mime", "magic", "size", "href")
PROBLEM_COLUMNS = ("severity", "stage", "volume", "path", "message", "file_id")

# Exported files the report links to directly: types a browser shows inertly by
# their extension. Anything else (html, svg, xml, scripts...) is not linked.
SAFE_OPEN = {"jpg", "jpeg", "jpe", "png", "gif", "webp", "bmp", "pdf", "txt", "log", "csv", "mp4", "m4v",
             "webm", "mov", "mp3", "m4a", "wav", "ogg", "oga", "opus"}


def href(export_path: str | None) -> str:
    """A relative URL from report/ to an exported file, or "" if not safe to open."""
    if not export_path:
        return ""
    name = export_path.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in SAFE_OPEN:
        return ""
    parts = export_path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return ""
    return "../" + "/".join(quote(p, safe="") for p in parts)


def file_row(f: dict[str, Any], thumb: str | None) -> list[Any]:
    return [f["id"], full_path(f["volume"], f["path"], f["stream"]), f["name"], f["kind"], f["alloc"],
            f["size"], f["mtime"], f["atime"], f["ctime"], f["crtime"], f["category"], f["mime"], f["extension"],
            f["ext_mismatch"], f["status"], f["md5"], f["sha1"], f["sha256"], href(f["export_path"]), thumb or "",
            f["magic"], f["address"], f["recovered"], f["export_path"]]


_MACB = {"M": 0, "A": 1, "C": 2, "B": 3}


def merge_timeline(events: Iterable[Event]) -> Iterator[list[Any]]:
    """Events at the same instant of the same file and kind as one row, with a
    mactime-style ``macb`` field (``m.cb``; ``$FN`` for $FILE_NAME times)."""
    group: list[Event] = []

    def flush() -> list[Any]:
        first = group[0]
        if first.source == "file system":
            letters = ["."] * 4
            for e in group:
                letters[_MACB[e.code[-1]]] = e.code[-1].lower()
            macb = ("$FN " if first.code.startswith("FN-") else "") + "".join(letters)
        else:
            macb = ""
        desc = ", ".join(e.description for e in group)
        return [first.time, macb, desc, first.source, first.file_id, first.path]

    for e in events:
        if group and (e.time, e.file_id, e.source, e.code.startswith("FN-")) != (
                group[0].time, group[0].file_id, group[0].source, group[0].code.startswith("FN-")):
            yield flush()
            group = []
        group.append(e)
    if group:
        yield flush()


def _shown(value: Any) -> Any:
    return visible(value) if isinstance(value, str) else value


def _shown_all(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shown_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown_all(v) for v in value]
    return _shown(value)


def js_object(name: str, value: dict[str, Any]) -> str:
    """One object as the single chunk of data set ``name``, every text in it through ``visible``."""
    text = json.dumps([_shown_all(value)], ensure_ascii=True, separators=(",", ":"))
    return f'DVX.add("{name}",1,JSON.parse({json.dumps(text, ensure_ascii=True)}));\n'


def js_chunk(name: str, index: int, rows: list[list[Any]]) -> str:
    """Every text value goes through ``visible``: control characters and bidi overrides from the
    evidence are shown as escapes (``innocent\\u202egpj.exe``), never acted upon by the page."""
    text = json.dumps([[_shown(v) for v in row] for row in rows], ensure_ascii=True, separators=(",", ":"))
    literal = json.dumps(text, ensure_ascii=True)
    return f'DVX.add("{name}",{index},JSON.parse({literal}));\n'


class ChunkWriter:
    """Writes one data set as numbered chunk scripts and counts them."""

    def __init__(self, data_dir: Path, name: str, rows_per_chunk: int = CHUNK_ROWS) -> None:
        self.dir, self.name, self.per = data_dir, name, rows_per_chunk
        self.rows: list[list[Any]] = []
        self.chunks = 0
        self.total = 0

    def add(self, row: list[Any]) -> None:
        self.rows.append(row)
        self.total += 1
        if len(self.rows) >= self.per:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        self.chunks += 1
        path = self.dir / f"{self.name}-{self.chunks:04d}.js"
        path.write_text(js_chunk(self.name, self.chunks, self.rows), encoding="ascii")
        self.rows = []


def held_marks(case: Case) -> list[dict[str, Any]]:
    """The marks held in case.db (imported earlier; not those taken back), as the report's Marks page and rows
    show them: the item, its path as the report shows it (a record: its kind and the file it was read from), the
    mark, note, who made it and when, and who imported it and when."""
    out = []
    for t in read_tags(case.conn):
        if t["item_kind"] == "file":
            rows = case.rows("SELECT volume, path, stream FROM files WHERE id = ?", (t["item_id"],))
            where = full_path(rows[0]["volume"], rows[0]["path"], rows[0]["stream"]) if rows else ""
        else:
            rows = case.rows("SELECT r.parser, r.record_type, f.volume, f.path, f.stream FROM records r JOIN files f "
                             "ON f.id = r.file_id WHERE r.id = ?", (t["item_id"],))
            where = (f"{rows[0]['parser']}/{rows[0]['record_type']} in "
                     f"{full_path(rows[0]['volume'], rows[0]['path'], rows[0]['stream'])}") if rows else ""
        out.append({"item": f"{t['item_kind']}:{t['item_id']}", "path": where, "mark": t["mark"], "note": t["note"],
                    "by": t["tagged_by"], "at": t["tagged_at"], "imported_by": t["imported_by"],
                    "imported_at": t["imported_at"]})
    return [_shown_all(m) for m in out]


def write_case_js(data_dir: Path, case: Case, chunks: dict[str, int], totals: dict[str, int]) -> None:
    meta = {
        "generated": case.generated, "tool": case.tool, "chunks": chunks, "totals": totals,
        "case_ref": visible(case.first_run().get("case_ref")) if case.first_run().get("case_ref") else None,
        "marks": held_marks(case),
        "columns": {"files": FILE_COLUMNS, "timeline": TIMELINE_COLUMNS, "gallery": GALLERY_COLUMNS,
                    "places": PLACES_COLUMNS, "mismatch": MISMATCH_COLUMNS, "problems": PROBLEM_COLUMNS},
    }
    literal = json.dumps(json.dumps(meta, ensure_ascii=True, sort_keys=True), ensure_ascii=True)
    (data_dir / "case.js").write_text(f"window.DVX_CASE = JSON.parse({literal});\n", encoding="ascii")
