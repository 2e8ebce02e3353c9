"""200,000 messages (an mmssms.db made by fixtures/comms/make_big.sh from the real schema text, in a
folder source): extracted, rendered, and the Conversations page stays fluid in headless Chromium: the
thread list loads without the messages, a thread opens loading only its own chunks, search and paging
answer quickly."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines.extract import ExtractOptions, run
from reports import render
from tests.parsers.comms_support import FIXTURES
from tests.reports.browser import open_page, shot, url, wait_until

MESSAGES = 200_000
THREADS = MESSAGES // 50


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bigcomms")
    db = root / "phone" / "data" / "data" / "com.android.providers.telephony" / "databases" / "mmssms.db"
    db.parent.mkdir(parents=True)
    subprocess.run(["bash", str(FIXTURES / "make_big.sh"), "mmssms", str(MESSAGES), str(db)], check=True,
                   capture_output=True)
    out = root / "case"
    summary = run(ExtractOptions(source=root / "phone", out=out, full_reason="test", workers=2))
    assert summary.fatal is None and summary.errors == 0
    render(out, "html", generated="2024-05-01T12:00:00Z")
    return out


def test_conversations_fluid_at_200000_messages(big: Path, browser: Any, shots_dir: Path) -> None:
    report = big / "data" / "report"
    started = time.monotonic()
    page, watch = open_page(browser, url(report, "conversations.html"))
    try:
        wait_until(page, "document.body.dataset.comms === 'ready'", 60)
        listed = time.monotonic() - started
        assert listed < 20, f"thread list took {listed:.1f}s"
        assert page.evaluate("window.DVX_COMMS.totals.messages") == MESSAGES
        assert page.evaluate("window.DVX_COMMS.totals.threads") == THREADS
        assert page.evaluate("Object.keys(window.DVX.chunks)") == ["threads"]  # no message loaded yet
        assert page.evaluate("document.querySelectorAll('#threads-table tbody tr').length") == 100
        page.fill("#q", "07700 900042")
        wait_until(page, "document.querySelectorAll('#threads-table tbody tr').length === 1")
        opened = time.monotonic()
        page.click("#threads-table tbody tr")
        wait_until(page, "document.body.dataset.transcript !== undefined", 30)
        assert time.monotonic() - opened < 10
        assert page.evaluate("document.querySelectorAll('#transcript li.bubble').length") == 50
        loaded = page.evaluate("(window.DVX.chunks.messages || []).filter(Boolean).length")
        assert 1 <= loaded <= 2  # only the chunks holding this thread
        shot(page, shots_dir, "comms-big")
        assert watch.problems() == []
    finally:
        page.context.close()
