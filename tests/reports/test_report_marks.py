"""Marking items in the HTML report (headless Chromium): a file on its details, a message in a transcript and
a call in the call list are marked; the Marks page exports them as a devicex-tags file; ``devicex tag import``
brings that file into the case with a custody entry. Truth: case.db read with the sqlite3 module, the custody
log as JSON, the downloaded file's SHA-256 computed here."""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.extract import ExtractOptions, run
from reports import render
from tests.reports.browser import open_page, shot, url, wait_until

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "fixtures" / "comms" / "comms.img"
HOSTILE_NOTE = "<img src=x onerror=alert(1)> key database"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("marks") / "case"
    summary = run(ExtractOptions(source=IMAGE, out=out, full_reason="test", workers=1, case_ref="OP-<b>9</b>",
                                 exhibit_ref="EX-9", examiner="Test Examiner"))
    assert summary.fatal is None
    render(out, ["html"], generated="2024-05-01T12:00:00Z")
    return out


def _goto(page: Any, report: Path, name: str) -> None:
    page.goto(url(report, name))
    wait_until(page, "document.body.dataset.ready === '1'", 60)


def _mark(page: Any, box: str, mark: str, note: str) -> str:
    """Open the mark form in ``box`` (a CSS selector of one .marks), save ``mark``; the error shown, if any."""
    if not page.is_visible(f"{box} .mark-form"):
        page.click(f"{box} .mark-open")
    page.select_option(f"{box} .mark-pick", mark)
    page.fill(f"{box} .mark-note", note)
    page.click(f"{box} .mark-save")
    return str(page.inner_text(f"{box} .mark-error"))


def test_marks_made_in_the_report_are_imported(case: Path, browser: Any, shots_dir: Path, tmp_path: Path) -> None:
    conn = sqlite3.connect(f"file:{case / 'data' / 'case.db'}?mode=ro", uri=True)
    fid, volume, fpath = conn.execute("SELECT id, volume, path FROM files WHERE name = 'chat.db'").fetchone()
    call_id, number = conn.execute("SELECT id, json_extract(data, '$.number') FROM records WHERE record_type = 'call' "
                                   "AND parser = 'android_calls' ORDER BY id LIMIT 1").fetchone()
    conn.close()
    report = case / "data" / "report"
    page, watch = open_page(browser, url(report, "files.html") + f"#file={fid}")
    try:
        page.fill("#mark-by", "DC Reviewer 4711")
        page.dispatch_event("#mark-by", "change")
        wait_until(page, "!!document.querySelector('#detail .marks')")
        assert _mark(page, "#detail .marks", "sensitive", "") == "A sensitive mark needs the reason as its note."
        assert _mark(page, "#detail .marks", "relevant", HOSTILE_NOTE) == ""
        assert page.inner_text("#mark-count") == "Marks (1)"
        assert page.evaluate("document.querySelectorAll('main img[src=x]').length") == 0

        _goto(page, report, "conversations.html")
        wait_until(page, "document.body.dataset.comms === 'ready'")
        page.fill("#q", "447775455555")
        wait_until(page, "document.querySelectorAll('#threads-table tbody tr').length === 1")
        page.click("#threads-table tbody tr")
        wait_until(page, "document.body.dataset.transcript !== undefined")
        first = "#transcript li.bubble:nth-child(2) .marks"
        message_item = page.get_attribute(first, "data-item")
        message_text = page.inner_text("#transcript li.bubble:nth-child(2) .text")
        assert _mark(page, first, "possibly-disclosable", "talks to a third party") == ""
        shot(page, shots_dir, "marks-transcript")

        _goto(page, report, "calls.html")
        wait_until(page, "document.body.dataset.comms === 'ready'")
        row = f"#calls-view .marks[data-item='record:{call_id}']"
        assert _mark(page, row, "sensitive", "names a protected witness") == ""

        _goto(page, report, "marks.html")
        rows = page.query_selector_all("#marks-browser tbody tr")
        assert len(rows) == 3 and page.inner_text("#mark-count") == "Marks (3)"
        shot(page, shots_dir, "marks-page")
        with page.expect_download() as download:
            page.click("#marks-export")
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert watch.problems() == []
    finally:
        page.context.close()

    doc = json.loads(saved.read_text(encoding="utf-8"))
    assert doc["format"] == "devicex-tags" and doc["case_ref"] == "OP-<b>9</b>"
    assert [(t["item"], t["mark"], t["by"]) for t in doc["tags"]] == [
        (f"file:{fid}", "relevant", "DC Reviewer 4711"), (message_item, "possibly-disclosable", "DC Reviewer 4711"),
        (f"record:{call_id}", "sensitive", "DC Reviewer 4711")]
    assert doc["tags"][0]["path"] == f"{volume}{fpath}" and doc["tags"][0]["note"] == HOSTILE_NOTE

    done = subprocess.run([sys.executable, "-m", "devicex", "tag", "import", str(case), str(saved), "--examiner",
                           "DC Importer", "--examiner-id", "I-1"], capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert done.returncode == 0, done.stderr
    conn = sqlite3.connect(f"file:{case / 'data' / 'case.db'}?mode=ro", uri=True)
    tags = conn.execute("SELECT item_kind || ':' || item_id, mark, note, tagged_by, imported_by FROM tags "
                        "ORDER BY id").fetchall()
    record_id = int(message_item.split(":")[1])
    body = conn.execute("SELECT json_extract(data, '$.body') FROM records WHERE id = ?", (record_id,)).fetchone()[0]
    conn.close()
    assert tags == [(f"file:{fid}", "relevant", HOSTILE_NOTE, "DC Reviewer 4711", "DC Importer"),
                    (message_item, "possibly-disclosable", "talks to a third party", "DC Reviewer 4711", "DC Importer"),
                    (f"record:{call_id}", "sensitive", "names a protected witness", "DC Reviewer 4711", "DC Importer")]
    assert body.strip() and message_text.strip() == body.strip()  # the bubble marked is that record
    assert number
    entry = json.loads((case / "custody.jsonl").read_text().splitlines()[-1])
    assert entry["action"] == "tags-import" and entry["details"]["tags"] == 3
    assert entry["details"]["marks"] == {"possibly-disclosable": 1, "relevant": 1, "sensitive": 1}
    assert entry["inputs"][0]["sha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
    again = subprocess.run([sys.executable, "-m", "devicex", "tag", "import", str(case), str(saved), "--examiner",
                            "DC Importer"], capture_output=True, text=True, cwd=REPO,
                           env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert again.returncode == 0 and "0 tag(s) added, 3 already held" in again.stdout


def test_marks_file_for_another_case_is_refused(case: Path, tmp_path: Path) -> None:
    other = tmp_path / "c"
    shutil.copytree(case, other)
    marks = tmp_path / "m.json"
    marks.write_text(json.dumps({"format": "devicex-tags", "version": 1, "case_ref": "OP-OTHER", "tags": []}))
    done = subprocess.run([sys.executable, "-m", "devicex", "tag", "import", str(other), str(marks), "--examiner",
                           "X"], capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert done.returncode == 2 and "made for case 'OP-OTHER'" in done.stderr and "Traceback" not in done.stderr


def test_marks_on_places_and_pictures_with_hostile_names(reported: Path, browser: Any, tmp_path: Path) -> None:
    from tests.reports.conftest import HOSTILE_JPG

    case = tmp_path / "case"
    shutil.copytree(reported, case)
    conn = sqlite3.connect(f"file:{case / 'data' / 'case.db'}?mode=ro", uri=True)
    gps = conn.execute("SELECT id FROM files WHERE name = 'gps.jpg'").fetchone()[0]
    hostile = conn.execute("SELECT id FROM files WHERE name = ?", (HOSTILE_JPG,)).fetchone()[0]
    conn.close()
    report = case / "data" / "report"
    page, watch = open_page(browser, url(report, "places.html"))
    try:
        page.fill("#mark-by", "DC Places")
        page.dispatch_event("#mark-by", "change")
        assert _mark(page, f"#places-view .marks[data-item='file:{gps}']", "relevant", "where the photo was taken") == ""
        _goto(page, report, "gallery.html")
        page.fill("#q", "onerror")
        page.locator("#q").blur()  # the search applies on change too: let it redraw before marking
        page.wait_for_timeout(400)
        wait_until(page, "document.querySelectorAll('#gallery-view figure').length === 1")
        assert _mark(page, f"#gallery-view .marks[data-item='file:{hostile}']", "possibly-disclosable", "named oddly") == ""
        _goto(page, report, "marks.html")
        with page.expect_download() as download:
            page.click("#marks-export")
        saved = tmp_path / "marks.json"
        download.value.save_as(saved)
        assert watch.problems() == [] and page.evaluate("document.querySelectorAll('img[src=x]').length") == 0
    finally:
        page.context.close()
    done = subprocess.run([sys.executable, "-m", "devicex", "tag", "import", str(case), str(saved), "--examiner",
                           "DC Importer"], capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert done.returncode == 0, done.stderr  # the hostile path, as the report shows it, is accepted
    conn = sqlite3.connect(f"file:{case / 'data' / 'case.db'}?mode=ro", uri=True)
    tags = conn.execute("SELECT item_kind, item_id, mark FROM tags ORDER BY id").fetchall()
    conn.close()
    assert tags == [("file", gps, "relevant"), ("file", hostile, "possibly-disclosable")]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devicex", *args], capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/local/bin"})


def test_marks_held_in_the_case_are_shown_apart(case: Path, browser: Any, shots_dir: Path, tmp_path: Path) -> None:
    """Marks imported into case.db before the report was written are on their rows and on the Marks page, labelled
    'in case', with no remove button, apart from the marks made in this browser, and not in the export; a mark
    taken back with `devicex tag remove` is not shown."""
    copy = tmp_path / "case"
    shutil.copytree(case, copy)
    conn = sqlite3.connect(f"file:{copy / 'data' / 'case.db'}?mode=ro", uri=True)
    # items no other test of this module marks (they share the extraction)
    fid, other = [r[0] for r in conn.execute("SELECT id FROM files WHERE kind = 'file' AND name != 'chat.db' "
                                             "ORDER BY id DESC LIMIT 2")]
    call_id = conn.execute("SELECT id FROM records WHERE record_type = 'call' ORDER BY id DESC LIMIT 1").fetchone()[0]
    conn.close()
    for item, mark, note in ((f"file:{fid}", "sensitive", HOSTILE_NOTE), (f"record:{call_id}", "relevant", "the call"),
                             (f"file:{other}", "relevant", "withdrawn later")):
        done = _cli("tag", "add", str(copy), item, "--mark", mark, "--note", note, "--examiner", "DC Held")
        assert done.returncode == 0, done.stderr
    assert _cli("tag", "remove", str(copy), f"file:{other}", "--reason", "wrong file", "--examiner", "DS X"
                ).returncode == 0
    render(copy, ["html"], generated="2024-05-02T12:00:00Z")
    conn = sqlite3.connect(f"file:{copy / 'data' / 'case.db'}?mode=ro", uri=True)
    held = conn.execute("SELECT item_kind || ':' || item_id, mark, note, tagged_by FROM tags WHERE removed_at IS NULL "
                        "ORDER BY id").fetchall()
    conn.close()
    assert (f"file:{fid}", "sensitive", HOSTILE_NOTE, "DC Held") in held and len(held) >= 2
    report = copy / "data" / "report"
    page, watch = open_page(browser, url(report, "files.html") + f"#file={fid}")
    try:
        wait_until(page, "!!document.querySelector('#detail .marks')")
        chip = "#detail .marks .chip-held"
        assert page.inner_text(chip).replace("\n", " ").lower() == "in case sensitive"
        assert page.query_selector(f"{chip} .chip-x") is None  # only `devicex tag remove` takes it back
        assert HOSTILE_NOTE in page.get_attribute(chip, "title")
        assert page.inner_text("#mark-count") == f"Marks (0) · {len(held)} in the case"
        page.fill("#mark-by", "DC Browser")
        page.dispatch_event("#mark-by", "change")
        assert _mark(page, "#detail .marks", "relevant", "made in the browser") == ""
        assert page.eval_on_selector_all("#detail .marks .chip", "cs => cs.map(c => c.className)") == [
            "chip chip-sensitive chip-held", "chip chip-relevant"]

        _goto(page, report, "calls.html")
        wait_until(page, "document.body.dataset.comms === 'ready'")
        row = f"#calls-view .marks[data-item='record:{call_id}']"
        assert page.inner_text(f"{row} .chip-held").replace("\n", " ").lower() == "in case relevant"
        shot(page, shots_dir, "marks-held-calls")

        _goto(page, report, "marks.html")
        shown = [[c.inner_text() for c in r.query_selector_all("td")[:5]]
                 for r in page.query_selector_all("#marks-held tbody tr")]
        assert [(r[0], r[2], r[3], r[4]) for r in shown] == [
            (i, {"possibly-disclosable": "possibly disclosable"}.get(m, m), n, b) for i, m, n, b in held]
        assert f"file:{other}" not in [r[0] for r in shown]  # taken back
        browser_rows = page.query_selector_all("#marks-browser tbody tr")
        assert len(browser_rows) == 1 and "made in the browser" in browser_rows[0].inner_text()
        assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0
        shot(page, shots_dir, "marks-held-page")
        with page.expect_download() as download:
            page.click("#marks-export")
        saved = tmp_path / "marks.json"
        download.value.save_as(saved)
        assert watch.problems() == []
    finally:
        page.context.close()
    doc = json.loads(saved.read_text(encoding="utf-8"))
    assert [(t["item"], t["mark"]) for t in doc["tags"]] == [(f"file:{fid}", "relevant")]  # held marks not exported
