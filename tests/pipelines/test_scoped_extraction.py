"""Scoped extractions of the phone fixture, checked against the fixture's
truth (manifest.tsv, files.o0.tsv, fls.o0.txt, exiftool.json), never against
devicex itself: the bundle holds exactly the in-scope files, not one byte of
an out-of-scope file (its unique DVXMARK marker, its name) appears anywhere
in OUT (case.db and custody log included), exclusion counts are right, a dry
run exports nothing, and a widened scope appends a second run to the case."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from devicex.scope import parse_text
from pipelines.extract import ExtractOptions, Summary, run
from pipelines.select import ScopeSelector
from tests.conftest import IMAGES, REPO, TRUTH

PHONE = IMAGES / "phone.img"
PHONE_TRUTH = TRUTH / "phone.img"
UTC = UTC



# ---------------------------------------------------------------- truth (independent of devicex)

@dataclass(frozen=True)
class TFile:
    path: str  # relative, no leading slash
    size: int
    mtime: datetime
    marker: str
    sha256: str
    md5: str
    taken: datetime | None  # EXIF DateTimeOriginal (+ OffsetTimeOriginal) per exiftool

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def ext(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""


def _truth() -> tuple[dict[str, TFile], set[str]]:
    md5 = {}
    for line in (PHONE_TRUTH / "files.o0.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            cols = line.split("\t")
            md5[cols[6]] = cols[0]
    exif = json.loads((PHONE_TRUTH / "exiftool.json").read_text())
    files = {}
    for line in (PHONE_TRUTH / "manifest.tsv").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        path, size, mtime, marker, sha, _dto = line.split("\t")
        taken = None
        tags = exif.get(path, {})
        if tags.get("DateTimeOriginal"):
            off = tags.get("OffsetTimeOriginal", "+00:00")
            taken = datetime.strptime(tags["DateTimeOriginal"] + off, "%Y:%m:%d %H:%M:%S%z").astimezone(UTC)
        files[path] = TFile(path, int(size), datetime.fromisoformat(mtime.replace("Z", "+00:00")), marker, sha,
                            md5[path], taken)
    dirs = set()
    for line in (PHONE_TRUTH / "fls.o0.txt").read_text().splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("d/d", "V/V"):
            dirs.add(rest.split("\t")[1])
    return files, dirs


FILES, DIRS = _truth()


def ancestors(paths: set[str]) -> set[str]:
    out = set()
    for p in paths:
        parts = p.split("/")
        out.update("/".join(parts[:n]) for n in range(1, len(parts)))
    return out


def under(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


# ---------------------------------------------------------------- scopes

AUTH = """scope_version = 1
[authorisation]
legal_basis = "PCSC 2022 s.37"
reference = "TEST/AUTH/{n}"
authorised_by = "DS 0000 Test Officer"
purpose = "Test line of enquiry {n}"
user_agreement = true
dpn_reference = "DPN-TEST-{n}"
less_intrusive_means = "none suitable (test)"
"""

SCOPES: dict[str, tuple[str, set[str]]] = {
    # EXIF time taken (modified when none) in 2023, camera images only, Android/data never
    "photos-2023": ("""
[[select]]
paths = ["DCIM/**"]
categories = ["images"]
windows = [{ start = 2023-01-01, end = 2023-12-31 }]
times = ["exif_taken_or_modified"]
[exclude]
paths = ["Android/data/**"]
""", {p for p, f in FILES.items() if under(p, "DCIM") and f.ext == "jpg" and f.taken and f.taken.year == 2023}),
    # message stores by name, plus WhatsApp media modified on 12 August 2023
    "messages": ("""
[[select]]
categories = ["messages"]
[[select]]
paths = ["WhatsApp/Media/**"]
windows = [{ start = 2023-08-12, end = 2023-08-12 }]
""", {p for p, f in FILES.items() if f.name == "mmssms.db" or f.name.startswith("msgstore.db")
      or (under(p, "WhatsApp/Media") and f.mtime.date() == date(2023, 8, 12))}),
    # content: a regex over three markers in txt/pdf/json, or a keyword (any case) in txt
    "content": ("""
[[select]]
extensions = ["txt", "pdf", "json"]
content_patterns = ["DVXMARK-001[0-2]"]
[[select]]
extensions = ["txt"]
content_keywords = ["dvxmark-0013"]
[exclude]
paths = ["Android/data/**"]
""", {p for p, f in FILES.items() if not under(p, "Android/data") and (
        (f.ext in ("txt", "pdf", "json") and f.marker in ("DVXMARK-0010", "DVXMARK-0011", "DVXMARK-0012"))
        or (f.ext == "txt" and f.marker == "DVXMARK-0013"))}),
    # hash lists: two known images (SHA-256) among images, one video (MD5) among .mp4
    "hashes": ("""
[[select]]
categories = ["images"]
sha256 = ["{sha_a}", "{sha_b}", "{sha_doc}"]
[[select]]
extensions = ["mp4"]
md5 = ["{md5_v}"]
""".format(sha_a=FILES["WhatsApp/Media/WhatsApp Images/IMG-20230812-WA0001.jpg"].sha256,
           sha_b=FILES["DCIM/Camera/IMG_20240918_220000.jpg"].sha256,
           sha_doc=FILES["Documents/notes.txt"].sha256,  # listed, but not an image: not taken
           md5_v=FILES["Movies/VID_20230704_200000.mp4"].md5),
               {"WhatsApp/Media/WhatsApp Images/IMG-20230812-WA0001.jpg", "DCIM/Camera/IMG_20240918_220000.jpg",
                "Movies/VID_20230704_200000.mp4"}),
    # MIME types by signature, modified in 2024
    "mime-2024": ("""
[[select]]
mime_types = ["image/png", "application/pdf"]
windows = [{ start = 2024-01-01T00:00:00Z, end = 2024-12-31T23:59:59Z }]
""", {p for p, f in FILES.items() if f.ext in ("png", "pdf") and f.mtime.year == 2024}),
}


def scope_for(name: str, body: str | None = None, extra: str = "") -> str:
    return AUTH.format(n=name) + (body if body is not None else SCOPES[name][0]) + extra


def extract(out: Path, name: str, text: str) -> Summary:
    scope = parse_text(text, name=f"{name}.toml")
    return run(ExtractOptions(source=PHONE, out=out, selector=ScopeSelector(scope), scope_text=scope.text,
                              workers=2, case_ref="CASE-SCOPE", examiner="Test Examiner"))


# ---------------------------------------------------------------- bundle checks

def bundle_bytes(out: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())


def assert_nothing_out_of_scope(out: Path, kept: set[str], scope_texts: list[str]) -> None:
    """No byte of an out-of-scope file (its marker) nor its name, nor the name
    of a folder holding nothing kept, appears in any file under OUT."""
    blob = bundle_bytes(out)
    allowed_names = {part for p in kept for part in p.split("/")}
    for path, f in FILES.items():
        if path in kept:
            assert f.marker.encode() in blob  # sanity: the search does find what is there
            continue
        assert f.marker.encode() not in blob, f"{f.marker} of out-of-scope {path} found in {out}"
        if f.name not in allowed_names and not any(f.name in t for t in scope_texts):
            assert f.name.encode() not in blob, f"name of out-of-scope {path} found in {out}"
    for d in DIRS - ancestors(kept):
        name = d.rsplit("/", 1)[-1]
        if len(name) >= 8 and name not in allowed_names and not any(name in t for t in scope_texts):
            assert name.encode() not in blob, f"name of out-of-scope folder {d} found in {out}"


def db(out: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(out / "data" / "case.db")
    conn.row_factory = sqlite3.Row
    return conn


def assert_exactly(out: Path, run_id: int, expected: set[str]) -> None:
    conn = db(out)
    rows = conn.execute("SELECT * FROM files WHERE run_id = ?", (run_id,)).fetchall()
    files = {r["path"].lstrip("/"): r for r in rows if r["kind"] == "file"}
    assert set(files) == expected
    folders = {r["path"].lstrip("/") for r in rows if r["kind"] in ("dir", "virtual-dir")}
    assert folders == ancestors(expected)  # only the folders holding taken files
    for path, r in files.items():
        assert r["status"] == "ok" and r["sha256"] == FILES[path].sha256 and r["md5"] == FILES[path].md5
        exported = out / "data" / r["export_path"]
        assert hashlib.sha256(exported.read_bytes()).hexdigest() == FILES[path].sha256


def exported_hashes(out: Path) -> list[str]:
    root = out / "data" / "files"
    return sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()) \
        if root.exists() else []


def exclusions(out: Path, run_id: int) -> dict[str, tuple[int, int]]:
    return {r["reason"]: (r["count"], r["bytes"])
            for r in db(out).execute("SELECT * FROM exclusions WHERE run_id = ?", (run_id,))}


def assert_exclusion_totals(out: Path, run_id: int, expected: set[str]) -> None:
    got = exclusions(out, run_id)
    left_files = set(FILES) - expected
    left_dirs = DIRS - ancestors(expected)
    assert sum(c for c, _ in got.values()) == len(left_files) + len(left_dirs)
    assert sum(b for _, b in got.values()) == sum(FILES[p].size for p in left_files)


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("name", sorted(SCOPES))
def test_scoped_extraction_takes_exactly_the_scope(name: str, tmp_path: Path) -> None:
    expected = SCOPES[name][1]
    assert expected and expected != set(FILES)
    out = tmp_path / "out"
    text = scope_for(name)
    summary = extract(out, name, text)
    assert summary.fatal is None and summary.source_verified == "match"
    assert summary.exported == len(expected)
    assert_exactly(out, 1, expected)
    assert exported_hashes(out) == sorted(FILES[p].sha256 for p in expected)
    assert_nothing_out_of_scope(out, expected, [text])
    assert_exclusion_totals(out, 1, expected)
    assert not db(out).execute("SELECT COUNT(*) FROM errors").fetchone()[0]
    # the scope is in the bundle and in the custody log with its SHA-256 and authorisation
    copy = out / "data" / "scope" / f"{name}.toml"
    assert copy.read_text() == text
    sha = hashlib.sha256(text.encode()).hexdigest()
    run_row = db(out).execute("SELECT scope, scope_sha256, full_extraction_reason FROM runs").fetchone()
    assert (run_row["scope"], run_row["scope_sha256"], run_row["full_extraction_reason"]) == (text, sha, None)
    entries = [json.loads(ln) for ln in (out / "custody.jsonl").read_text().splitlines()]
    scope_entries = [e for e in entries if e["action"] == "scope"]
    assert len(scope_entries) == 1
    e = scope_entries[0]
    assert e["details"]["scope_sha256"] == sha and e["outputs"][0]["sha256"] == sha
    assert e["outputs"][0]["ref"] == f"data/scope/{name}.toml"
    assert e["details"]["authorisation"]["reference"] == f"TEST/AUTH/{name}"
    assert e["details"]["authorisation"]["dpn_reference"] == f"DPN-TEST-{name}"


def test_exclusion_reasons_counted_per_rule(tmp_path: Path) -> None:
    out = tmp_path / "out"
    extract(out, "photos-2023", scope_for("photos-2023"))
    expected = SCOPES["photos-2023"][1]
    android = [p for p in FILES if under(p, "Android/data")]
    android_dirs = [d for d in DIRS if under(d, "Android/data")]
    elsewhere = [p for p in FILES if not under(p, "DCIM") and p not in android]
    dcim_left = [p for p in FILES if under(p, "DCIM") and p not in expected]
    folders = [d for d in DIRS - ancestors(expected) if d not in android_dirs]

    def size(paths: list[str]) -> int:
        return sum(FILES[p].size for p in paths)

    assert exclusions(out, 1) == {
        "excluded path Android/data/**": (len(android) + len(android_dirs), size(android)),
        "outside included paths": (len(elsewhere), size(elsewhere)),
        "outside date windows": (len(dcim_left), size(dcim_left)),
        "folder with nothing in scope": (len(folders), 0),
    }
    # IMG_20220822 was restored from a backup: modified 2024, taken 2022: EXIF time decides
    assert "DCIM/Camera/IMG_20220822_184500.jpg" in dcim_left


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devicex", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})


def test_dry_run_exports_nothing_and_counts_like_the_extraction(tmp_path: Path) -> None:
    scope_file = tmp_path / "photos-2023.toml"
    scope_file.write_text(scope_for("photos-2023"))
    dry = tmp_path / "dry"
    proc = _cli("extract", PHONE, "-o", dry, "--scope", scope_file, "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "would be taken" in proc.stderr and "outside date windows" in proc.stderr
    assert sorted(p.relative_to(dry).as_posix() for p in dry.rglob("*")) == ["custody.jsonl"]
    entries = [json.loads(ln) for ln in (dry / "custody.jsonl").read_text().splitlines()]
    assert [e["action"] for e in entries] == ["scope-dry-run"]
    counts = entries[0]["details"]["counts"]
    assert entries[0]["details"]["scope_sha256"] == hashlib.sha256(scope_file.read_bytes()).hexdigest()
    expected = SCOPES["photos-2023"][1]
    assert counts["taken_files"] == len(expected)
    assert counts["taken_bytes"] == sum(FILES[p].size for p in expected)
    assert_nothing_out_of_scope(dry, set(), [scope_file.read_text()])
    # the real extraction (through the CLI) leaves exactly what the dry run said
    real = tmp_path / "real"
    proc = _cli("extract", PHONE, "-o", real, "--scope", scope_file, "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {r: {"files": c, "bytes": b} for r, (c, b) in exclusions(real, 1).items()} == counts["excluded"]
    assert_exactly(real, 1, expected)


def test_widening_appends_a_second_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first_text = scope_for("photos-2023")
    extract(out, "photos-2023", first_text)
    first = SCOPES["photos-2023"][1]
    # on review: all camera images, any date, plus the message stores
    wide_text = scope_for("widened", """
[[select]]
paths = ["DCIM/**"]
categories = ["images"]
[[select]]
categories = ["messages"]
""")
    wide = {p for p, f in FILES.items() if under(p, "DCIM")} | {
        p for p, f in FILES.items() if f.name == "mmssms.db" or f.name.startswith("msgstore.db")}
    summary = extract(out, "widened", wide_text)
    assert summary.run_id == 2
    assert summary.exports_reused == len(first)  # already exported, identical: kept, not rewritten
    conn = db(out)
    runs = conn.execute("SELECT id, scope_sha256, status FROM runs ORDER BY id").fetchall()
    assert [(r["id"], r["status"]) for r in runs] == [(1, "completed"), (2, "completed")]
    assert runs[0]["scope_sha256"] != runs[1]["scope_sha256"]
    assert_exactly(out, 1, first)
    assert_exactly(out, 2, wide)
    ids1 = {r[0] for r in conn.execute("SELECT id FROM files WHERE run_id = 1")}
    ids2 = {r[0] for r in conn.execute("SELECT id FROM files WHERE run_id = 2")}
    assert min(ids2) > max(ids1)
    # same file, same export path in both runs
    paths = conn.execute("SELECT a.export_path, b.export_path FROM files a JOIN files b ON a.path = b.path "
                         "WHERE a.run_id = 1 AND b.run_id = 2 AND a.kind = 'file'").fetchall()
    assert len(paths) == len(first) and all(a == b for a, b in paths)
    assert exported_hashes(out) == sorted(FILES[p].sha256 for p in wide)
    assert sorted(p.name for p in (out / "data" / "scope").iterdir()) == ["photos-2023.toml", "widened.toml"]
    entries = [json.loads(ln) for ln in (out / "custody.jsonl").read_text().splitlines()]
    scopes = [e["details"]["scope_sha256"] for e in entries if e["action"] == "scope"]
    assert scopes == [runs[0]["scope_sha256"], runs[1]["scope_sha256"]]
    assert [e["action"] for e in entries].count("extraction") == 2
    assert_nothing_out_of_scope(out, wide, [first_text, wide_text])
    assert_exclusion_totals(out, 2, wide)


def test_export_path_taken_by_different_content_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    text = scope_for("photos-2023")
    extract(out, "photos-2023", text)
    victim = next((out / "data" / "files").rglob("IMG_20230101_000500.jpg"))
    victim.write_bytes(b"something else")  # e.g. another exhibit's file at the same export path
    summary = extract(out, "photos-2023", text)
    assert summary.exports_reused == len(SCOPES["photos-2023"][1]) - 1
    assert victim.read_bytes() == b"something else"
    row = db(out).execute("SELECT export_path FROM files WHERE run_id = 2 AND name = ?",
                          (victim.name,)).fetchone()
    assert row["export_path"].endswith("IMG_20230101_000500~v2.jpg")
    assert_exactly(out, 2, SCOPES["photos-2023"][1])


def test_list_excluded_metadata(tmp_path: Path) -> None:
    out = tmp_path / "out"
    text = scope_for("photos-2023", extra="[output]\nlist_excluded_metadata = true\n")
    extract(out, "listed", text)
    expected = SCOPES["photos-2023"][1]
    rows = db(out).execute("SELECT * FROM files").fetchall()
    excluded = {r["path"].lstrip("/") for r in rows if r["status"] == "excluded" and r["kind"] == "file"}
    assert excluded == set(FILES) - expected
    excluded_dirs = {r["path"].lstrip("/") for r in rows if r["status"] == "excluded" and r["kind"] != "file"}
    assert excluded_dirs == {d for d in DIRS if under(d, "Android/data")}  # the other folders are listed as such
    assert {r["path"].lstrip("/") for r in rows} == set(FILES) | DIRS
    assert all(r["sha256"] is None and r["export_path"] is None and r["mime"] is None
               for r in rows if r["status"] == "excluded")
    assert exported_hashes(out) == sorted(FILES[p].sha256 for p in expected)
    blob = bundle_bytes(out)
    for path, f in FILES.items():  # names are listed, content never
        assert (f.marker.encode() in blob) == (path in expected)


def test_full_extraction_records_its_reason(tmp_path: Path) -> None:
    out = tmp_path / "out"
    reason = "suspect device: full extraction authorised by DI 2290"
    proc = _cli("extract", PHONE, "-o", out, "-q", "--full-extraction-reason", reason, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    row = db(out).execute("SELECT scope, full_extraction_reason FROM runs").fetchone()
    assert (row["scope"], row["full_extraction_reason"]) == (None, reason)
    entries = [json.loads(ln) for ln in (out / "custody.jsonl").read_text().splitlines()]
    scope_entry = next(e for e in entries if e["action"] == "scope")
    assert scope_entry["details"] == {"mode": "full", "full_extraction_reason": reason}
    assert exported_hashes(out) == sorted(f.sha256 for f in FILES.values())
    # no scope and no reason: refused before the evidence is touched, nothing written
    out2 = tmp_path / "out2"
    proc = _cli("extract", PHONE, "-o", out2, "-q", cwd=tmp_path)
    assert proc.returncode == 2 and "needs --full-extraction-reason" in proc.stderr
    assert not out2.exists()
