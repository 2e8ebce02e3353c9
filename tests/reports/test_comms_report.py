"""Communications in every output, from a real extraction of comms.img (fixtures/comms): one CSV per
record kind, JSONL with row provenance, the timeline, CASE/UCO that case_validate accepts, the
summary's per-app counts, and the Conversations, Calls, Contacts and Web history pages in headless
Chromium with hostile message text (markup, right-to-left override, formula, 100 KB, emoji)."""
from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipelines.extract import ExtractOptions, run
from reports import render
from tests.reports.browser import open_page, shot, url, wait_until

IMAGE = Path(__file__).resolve().parents[2] / "fixtures" / "comms" / "comms.img"
PERSON = "+447700900123"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("comms") / "case"
    summary = run(ExtractOptions(source=IMAGE, out=out, full_reason="test", workers=2))
    assert summary.fatal is None and summary.errors == 0
    render(out, generated="2024-05-01T12:00:00Z")
    return out


def _db(case: Path) -> sqlite3.Connection:
    return sqlite3.connect(case / "data" / "case.db")


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_one_csv_per_record_kind(case: Path) -> None:
    conn = _db(case)
    for kind, schema in conn.execute("SELECT record_type, schema FROM record_kinds"):
        rows = _csv(case / "data" / "export" / f"{kind}.csv")
        assert len(rows) == conn.execute("SELECT count(*) FROM records WHERE record_type = ?", (kind,)).fetchone()[0]
        fields = [f["name"] for f in json.loads(schema)["fields"]]
        assert set(fields) <= set(rows[0])
    messages = _csv(case / "data" / "export" / "message.csv")
    formula = [r for r in messages if "HYPERLINK" in r["body"]]
    assert formula and all(r["body"].startswith("'=") for r in formula)  # not run by a spreadsheet
    assert all(r["source_table"] and r["source_rowid"] for r in messages)


def test_jsonl_timeline_and_summary(case: Path) -> None:
    export = case / "data" / "export"
    lines = [json.loads(x) for x in (export / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    sms = [x for x in lines if x["record_type"] == "message" and x["parser"] == "android_sms"]
    assert sms and all(x["row"]["table"] in ("sms", "pdu") and x["row"]["rowid"] for x in sms)
    timeline = _csv(export / "timeline.csv")
    assert any(r["code"] == "android_sms:time_utc" for r in timeline)
    assert any(r["code"] == "android_calls:time_utc" for r in timeline)
    printed = (case / "data" / "report" / "print.html").read_text(encoding="utf-8")
    n = _db(case).execute("SELECT count(*) FROM records WHERE parser = 'android_sms' AND record_type = 'message'")
    assert f"Android Messages (SMS/MMS): {n.fetchone()[0]} messages" in printed
    assert "WhatsApp: " in printed and "calls" in printed


def test_case_uco_is_valid_and_holds_the_communications(case: Path) -> None:
    path = case / "data" / "export" / "case-uco.jsonld"
    done = subprocess.run(["case_validate", str(path)], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0 and "Conforms: True" in done.stdout, done.stdout[-2000:]
    types = [n["@type"] for n in json.loads(path.read_text(encoding="utf-8"))["@graph"]]
    conn = _db(case)
    for kind, uco in (("message", "uco-observable:Message"), ("call", "uco-observable:Call"),
                      ("contact", "uco-observable:Contact")):
        assert types.count(uco) == conn.execute("SELECT count(*) FROM records WHERE record_type = ?",
                                                (kind,)).fetchone()[0]
    assert types.count("uco-observable:URLHistory") == 3  # Chrome, Firefox, Safari


def _thread(page: Any, label: str) -> None:
    page.fill("#q", label)
    wait_until(page, "document.querySelectorAll('#threads-table tbody tr').length === 1")
    page.click("#threads-table tbody tr")
    wait_until(page, "document.body.dataset.transcript !== undefined")


def test_conversation_transcript_with_hostile_text(case: Path, browser: Any, shots_dir: Path) -> None:
    page, watch = open_page(browser, url(case / "data" / "report", "conversations.html"))
    try:
        wait_until(page, "document.body.dataset.comms === 'ready'")
        _thread(page, "07700 900123")
        bubbles = page.query_selector_all("#transcript li.bubble")
        sent = [b for b in bubbles if "sent" in (b.get_attribute("class") or "")]
        received = [b for b in bubbles if "received" in (b.get_attribute("class") or "")]
        assert sent and received
        box = page.evaluate("(() => { const r = document.querySelector('#transcript .bubbles')"
                            ".getBoundingClientRect(); return [r.left, r.right]; })()")
        for b in sent:  # against the right edge
            edge = b.bounding_box()
            assert abs(edge["x"] + edge["width"] - box[1]) < 2 and edge["x"] > box[0] + 2
        for b in received:  # against the left edge
            edge = b.bounding_box()
            assert abs(edge["x"] - box[0]) < 2 and edge["x"] + edge["width"] < box[1] - 2
        text = page.inner_text("#transcript")
        assert "Yes. <b>bold</b><script>alert(1)</script>" in text  # markup shown, not run
        assert page.evaluate("document.querySelectorAll('#transcript b, #transcript script').length") == 0
        assert '=HYPERLINK("http://x","click")' in text and "😀" in text
        assert "\\u202egnp.exe" in text and "\u202e" not in text  # the override shown, not acted upon
        deleted = page.query_selector_all("#transcript li.deleted")
        assert len(deleted) == 2 and all("Deleted/recovered" in d.inner_text() for d in deleted)
        more = page.query_selector("#transcript button.more")
        assert more and "102,400" in more.inner_text()
        more.click()
        assert page.evaluate("Math.max(...[...document.querySelectorAll('#transcript .text')]"
                             ".map(t => t.textContent.length))") >= 102_400
        shot(page, shots_dir, "comms-transcript")
        page.select_option("#f-zone", "America/New_York")
        wait_until(page, "document.querySelector('#transcript time').textContent.includes('America/New_York')")
        assert watch.problems() == []
    finally:
        page.context.close()


def test_a_person_across_messages_calls_and_contacts(case: Path, browser: Any, shots_dir: Path) -> None:
    report = case / "data" / "report"
    for name, rows in (("calls", "#calls-view tbody tr"), ("contacts", "#contacts-view tbody tr")):
        page, watch = open_page(browser, url(report, f"{name}.html") + "#person=" + PERSON.replace("+", "%2B"))
        try:
            wait_until(page, "document.body.dataset.comms === 'ready'")
            n = page.evaluate(f"document.querySelectorAll('{rows}').length")
            assert n > 0 and PERSON in page.inner_text(f"{rows}")
            assert page.evaluate(f"[...document.querySelectorAll('{rows}')].every(r => r.textContent.includes('{PERSON}'))")
            link = page.query_selector(f"{rows} a[href^='conversations.html#person=']")
            link.click()
            wait_until(page, "location.pathname.endsWith('conversations.html') && !!document.body && document.body.dataset.comms === 'ready'")
            threads = page.evaluate("document.querySelectorAll('#threads-table tbody tr').length")
            assert threads >= 3  # SMS, Google Messages, WhatsApp, iOS Messages with this number
            shot(page, shots_dir, f"comms-person-{name}")
            assert watch.problems() == []
        finally:
            page.context.close()


def test_web_history_page(case: Path, browser: Any, shots_dir: Path) -> None:
    page, watch = open_page(browser, url(case / "data" / "report", "web.html"))
    try:
        wait_until(page, "document.body.dataset.comms === 'ready'")
        total = _db(case).execute("SELECT count(*) FROM records WHERE record_type IN ('web_visit', 'download')")
        assert page.inner_text("#status").endswith(f"of {total.fetchone()[0]} rows")
        hits = _db(case).execute("SELECT count(*) FROM records WHERE record_type IN ('web_visit', 'download') "
                                 "AND (json_extract(data, '$.url') LIKE '%facebook%' "
                                 "OR json_extract(data, '$.title') LIKE '%facebook%')").fetchone()[0]
        page.fill("#q", "facebook")
        wait_until(page, f"document.getElementById('status').textContent.startsWith('{hits} of')")
        shot(page, shots_dir, "comms-web")
        assert watch.problems() == []
    finally:
        page.context.close()
