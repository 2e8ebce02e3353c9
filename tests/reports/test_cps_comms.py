"""The CPS drafts of a case with communications (fixtures/comms/comms.img, extracted for real): the MG6C lists
messages one line per conversation and calls, contacts and web history per app, the MG6E refers to items by
their MG6C numbers, and the SFR1 states the device zone given with --timezone and how each finding was obtained.
Truth: case.db read with the sqlite3 module and grouped here; documents read with python-docx and pdftotext."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import docx
import pytest

from devicex.custody import Actor
from devicex.tags import import_tags, make_tag
from pipelines.extract import ExtractOptions, run

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "fixtures" / "comms" / "comms.img"
WAL_ONLY = "deleted or changed since last checkpoint"
ENV = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/local/bin"}


def _when(t: str | None) -> str:
    return t.replace("T", " ").rstrip("Z") + " UTC" if t else "no time recorded"


def _rows(case: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{case / 'data' / 'case.db'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _table(path: Path, first: str) -> list[list[str]]:
    t = next(t for t in docx.Document(str(path)).tables if t.rows[0].cells[0].text == first)
    return [[c.text for c in r.cells] for r in t.rows[1:]]


def _draft(case: Path, *extra: str) -> None:
    done = subprocess.run([sys.executable, "-m", "devicex", "cps", "draft", str(case), "--examiner", "Test Examiner",
                           *extra], capture_output=True, text=True, cwd=REPO, env=ENV)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("cps-comms") / "case"
    assert run(ExtractOptions(source=IMAGE, out=out, full_reason="test", workers=1, case_ref="OP-C",
                              exhibit_ref="PH/2", examiner="Test Examiner")).fatal is None
    wal = _rows(out, "SELECT id, source_table, source_rowid FROM records WHERE record_type = 'message' AND "
                     "json_extract(data, '$.deleted') = ? ORDER BY id LIMIT 1", (WAL_ONLY,))[0]
    call = _rows(out, "SELECT id FROM records WHERE record_type = 'call' ORDER BY id LIMIT 1")[0][0]
    import_tags(out, [make_tag(f"record:{wal[0]}", "relevant", "the message of the night", "DC Jones",
                               "2024-05-01T12:00:00Z"),
                      make_tag(f"record:{call}", "possibly-disclosable", "call to a third party", "DC Jones",
                               "2024-05-01T12:01:00Z")], Actor("1", "DC Jones"), "test")
    _draft(out, "--timezone", "Europe/London")
    return {"out": out, "wal": wal, "call": call}


def _threads(case: Path) -> dict[str, tuple[int, str | None, str | None]]:
    """Conversations grouped here from the message rows: one app with one set of counterparts (a group: its id);
    a message found again in another file (same time, direction, text, sender, state) counted once."""
    groups: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for fid, ts, raw in _rows(case, "SELECT file_id, timestamp, data FROM records WHERE record_type = 'message' "
                                    "ORDER BY id"):
        d = json.loads(raw)
        grouped = str(d.get("thread") or "").endswith("@g.us") or not d.get("participant_ids")
        key = f"{d['app']}|{d.get('thread') if grouped else json.dumps(d['participant_ids'])}"
        groups[key].append((fid, ts, d.get("direction"), d.get("body"), d.get("sender_id"), d.get("deleted")))
    out = {}
    for key, msgs in groups.items():
        kept: dict[tuple[Any, ...], int] = {}
        n = 0
        for fid, *ident in msgs:
            if tuple(ident) in kept and kept[tuple(ident)] != fid:
                continue
            kept.setdefault(tuple(ident), fid)
            n += 1
        times = sorted(m[1] for m in msgs if m[1])
        out[key] = (n, times[0] if times else None, times[-1] if times else None)
    return out


def test_mg6c_one_line_per_conversation_and_per_app(case: dict[str, Any]) -> None:
    out: Path = case["out"]
    rows = _table(out / "data" / "cps" / "MG6C-unused-material.docx", "No.")
    messages = sorted((int(r[2]), r[3]) for r in rows if " messages, conversation '" in r[1])
    truth = _threads(out)
    assert messages == sorted((n, f"{_when(a)} to {_when(b)}") for n, a, b in truth.values())
    for kind, title in (("call", "Calls"), ("contact", "Contacts"), ("web_visit", "Web pages visited")):
        per_app = _rows(out, "SELECT json_extract(data, '$.app'), count(*), min(timestamp), max(timestamp) FROM "
                             "records WHERE record_type = ? GROUP BY 1 ORDER BY 1", (kind,))
        listed = [(r[1].removeprefix(f"{title} recorded by "), int(r[2]), r[3]) for r in rows
                  if r[1].startswith(f"{title} recorded by ")]
        assert listed == [(app, n, f"{_when(a)} to {_when(b)}" if a else "no time recorded")
                          for app, n, a, b in per_app]
    assert not any(r[1].startswith("Records 'android_sms/message'") for r in rows)  # not a per-message kind line
    assert [r[0] for r in rows] == [str(n) for n in range(1, len(rows) + 1)]
    call_line = [r for r in rows if f"case.db record {case['call']}" in r[1]]
    assert len(call_line) == 1 and "call to a third party" in call_line[0][1]


def test_mg6e_refers_to_the_mg6c_numbers(case: dict[str, Any]) -> None:
    cps = case["out"] / "data" / "cps"
    mg6c = {r[0]: r[1] for r in _table(cps / "MG6C-unused-material.docx", "No.")}
    mg6e = _table(cps / "MG6E-disclosure-officers-report.docx", "MG6C No.")
    assert len(mg6e) == 1 and f"case.db record {case['call']}" in mg6c[mg6e[0][0]]
    assert "call to a third party" in mg6e[0][2] and "2024-05-01 12:01:00 UTC" in mg6e[0][2]
    pdf = subprocess.run(["pdftotext", str(cps / "MG6E-disclosure-officers-report.pdf"), "-"], check=True,
                         capture_output=True, text=True).stdout
    assert "DISCLOSURE OFFICER" in pdf and "None: the MG6D is a nil return." in pdf


def test_sfr1_zone_and_recovery_methods(case: dict[str, Any]) -> None:
    out: Path = case["out"]
    cps = out / "data" / "cps"
    findings = _table(cps / "SFR1-draft.docx", "Item")
    rid, table, rowid = case["wal"]
    assert findings[0][0] == f"record:{rid}"
    assert findings[0][2].startswith(f"row {rowid} of table {table}, {WAL_ONLY}; in a file allocated")
    pdf = " ".join(subprocess.run(["pdftotext", str(cps / "SFR1-draft.pdf"), "-"], check=True, capture_output=True,
                                  text=True).stdout.split())
    assert "The device's time zone is Europe/London (given by the examiner (devicex cps draft --timezone))" in pdf
    assert "UTC +00:00 or +01:00" in pdf
    for state, n in _rows(out, "SELECT json_extract(data, '$.deleted'), count(*) FROM records WHERE "
                               "json_extract(data, '$.deleted') IS NOT NULL GROUP BY 1"):
        assert f"{n} {state}" in pdf
    unread = _rows(out, "SELECT volume || path FROM files f WHERE category = 'database' AND NOT EXISTS "
                        "(SELECT 1 FROM records r WHERE r.file_id = f.id) ORDER BY 1")
    assert f"{len(unread)} databases (app data) were listed and hashed but no parser read them" in pdf
    assert all(p in pdf for (p,) in unread)
    entry = json.loads((out / "custody.jsonl").read_text().splitlines()[-1])
    assert entry["action"] == "cps-draft" and entry["details"]["timezone"] == "Europe/London"


def test_numbering_kept_when_a_later_draft_adds_items(case: dict[str, Any], tmp_path: Path) -> None:
    import shutil

    out = tmp_path / "c"
    shutil.copytree(case["out"], out)
    before = _table(out / "data" / "cps" / "MG6C-unused-material.docx", "No.")
    extra = _rows(out, "SELECT id FROM records WHERE record_type = 'contact' ORDER BY id LIMIT 1")[0][0]
    import_tags(out, [make_tag(f"record:{extra}", "possibly-disclosable", "contact of the accused", "DC Jones",
                               "2024-05-02T09:00:00Z")], Actor("1", "DC Jones"), "test")
    _draft(out, "--no-pdf")
    after = _table(out / "data" / "cps" / "MG6C-unused-material.docx", "No.")
    assert after[:len(before)] == before and len(after) == len(before) + 1
    assert after[-1][0] == str(len(before) + 1) and f"case.db record {extra}" in after[-1][1]
    mg6e = _table(out / "data" / "cps" / "MG6E-disclosure-officers-report.docx", "MG6C No.")
    assert [r[0] for r in mg6e] == [next(r[0] for r in after if f"case.db record {case['call']}" in r[1]),
                                    str(len(before) + 1)]


def test_record_level_scope_in_the_search_record_and_sfr1(tmp_path: Path) -> None:
    out = tmp_path / "scoped"
    done = subprocess.run([sys.executable, "-m", "devicex", "extract", str(IMAGE), "-o", str(out), "--scope",
                           str(REPO / "examples" / "scopes" / "suspect-conversation.toml"), "--case", "OP-S",
                           "--examiner", "Test Examiner", "--workers", "1"], capture_output=True, text=True, cwd=REPO,
                          env=ENV)
    assert done.returncode == 0, done.stderr
    _draft(out, "--no-pdf")
    files = _rows(out, "SELECT reason, count, bytes FROM exclusions WHERE record_type IS NULL ORDER BY reason")
    records = _rows(out, "SELECT record_type, reason, count FROM exclusions WHERE record_type IS NOT NULL "
                         "ORDER BY record_type, reason")
    assert files and records
    outcome = _table(out / "data" / "cps" / "search-and-review-record.docx", "Outcome")
    assert outcome[1:] == ([[f"left in the image: {r}", str(n), str(b)] for r, n, b in files]
                           + [[f"{k} records not taken: {r}", str(n), ""] for k, r, n in records])
    cells = [c.text for t in docx.Document(str(out / "data" / "cps" / "SFR1-draft.docx")).tables for r in t.rows
             for c in r.cells]
    row = next(c for c in cells if "records not taken" in c)  # the limitations' Scope row
    for k, r, n in records:
        assert f"{n} {k} records not taken ({r})" in row
    for r, n, _ in files:
        assert f"{n} files left in the image ({r})" in row


def test_sfr1_states_the_zone_found_on_the_device(tmp_path: Path) -> None:
    from reports.cps.draft import draft
    from reports.model import open_case
    from tests.reports.conftest import extract
    from tests.reports.test_device_timezone import _image

    out = extract(_image(tmp_path, {"private/var/db/timezone/localtime": "/usr/share/zoneinfo/Europe/Paris"}),
                  tmp_path / "out")
    with open_case(out) as c:
        draft(c, None, pdf=False)
    link, target = _rows(out, "SELECT volume || path, link_target FROM files WHERE path LIKE '%/db/timezone/localtime'")[0]
    camera = _rows(out, "SELECT count(*) FROM records WHERE json_extract(data, '$.taken_local') IS NOT NULL AND "
                        "json_extract(data, '$.taken_utc') IS NULL")[0][0]
    year = _rows(out, "SELECT substr(started, 1, 4) FROM runs")[0][0]
    text = "\n".join(p.text for p in docx.Document(str(out / "data" / "cps" / "SFR1-draft.docx")).paragraphs)
    assert (f"The device's time zone is Europe/Paris (found on the device: the link {link} -> {target}); local "
            f"time on the device was UTC +01:00 or +02:00 in {year}") in text
    cells = [c.text for t in docx.Document(str(out / "data" / "cps" / "SFR1-draft.docx")).tables for r in t.rows
             for c in r.cells]
    assert camera == 1 and any(f"{camera} camera clock times have no zone recorded with them; they were converted "
                               "with the device zone Europe/Paris" in c for c in cells)
