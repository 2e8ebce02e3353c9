"""A generated 20,000-file image: the report opens in headless Chromium and
its file browser searches, filters, sorts and pages without console errors;
the timeline pages too. Screenshots are kept."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.reports.browser import open_page, shot, url, wait_until
from tests.reports.conftest import BIG_FILES

ROWS = "document.querySelectorAll('#files-table tbody tr').length"


def _status(page: Any) -> str:
    return str(page.inner_text("#status"))


def test_big_file_browser_searches_and_pages(big_case: Path, browser: Any, shots_dir: Path) -> None:
    report = big_case / "data" / "report"
    chunks = sorted((report / "data").glob("files-*.js"))
    assert len(chunks) >= 4, "files must be delivered in chunks"
    started = time.monotonic()
    page, watch = open_page(browser, url(report, "files.html"))
    try:
        loaded = time.monotonic() - started
        assert loaded < 30, f"file browser took {loaded:.1f}s to load"
        total = page.evaluate("window.DVX_CASE.totals.files")
        assert total > BIG_FILES
        assert page.evaluate(ROWS) == 100, "only one page of rows may be in the DOM"
        assert _status(page).startswith(f"{total:,} of {total:,}")
        shot(page, shots_dir, "big-files")
        page.click(".pager .next")
        wait_until(page, "document.querySelector('.pager .page-no').value === '2'")
        last = (total + 99) // 100
        page.fill(".pager .page-no", str(last))
        page.dispatch_event(".pager .page-no", "change")
        wait_until(page, f"document.querySelector('.pager .page-no').value === '{last}'")
        assert page.evaluate(ROWS) == total - (last - 1) * 100
        page.fill("#q", "f19999")
        wait_until(page, "document.getElementById('status').textContent.startsWith('1 of')")
        assert page.inner_text("#files-table tbody td.name") == "f19999.txt"
        page.fill("#q", "dir123/")
        wait_until(page, "document.getElementById('status').textContent.startsWith('100 of')")
        page.fill("#q", "")
        page.select_option("#f-category", "text")
        page.check("#f-files")
        wait_until(page, f"document.getElementById('status').textContent.startsWith('{BIG_FILES:,} of')")
        page.fill("#f-from", "2023-11-15")
        page.fill("#f-to", "2023-11-15")
        wait_until(page, "!document.getElementById('status').textContent.startsWith('20,000 of')")
        n = int(_status(page).split(" of ")[0].replace(",", ""))
        assert 0 < n < BIG_FILES
        page.click("#files-table thead th:has-text('Size')")
        wait_until(page, "document.querySelector('#files-table thead th[aria-sort=\"ascending\"]') !== null")
        page.click("#tree button.twisty")
        page.click("#tree li li button.folder >> nth=5")
        wait_until(page, "document.getElementById('status').textContent.includes(' under ')")
        shot(page, shots_dir, "big-files-filtered")
        assert watch.problems() == []
    finally:
        page.context.close()


def test_big_timeline_and_summary(big_case: Path, browser: Any, shots_dir: Path) -> None:
    report = big_case / "data" / "report"
    for name in ("timeline", "index", "print"):
        page, watch = open_page(browser, url(report, f"{name}.html"))
        try:
            if name == "timeline":
                assert "rows" in page.inner_text(".pager .info")
                page.click(".pager .next")
                wait_until(page, "document.querySelector('.pager .page-no').value === '2'")
                page.fill("#q", "f00042")
                wait_until(page, "document.querySelectorAll('#timeline-view tbody tr').length <= 5")
            shot(page, shots_dir, f"big-{name}")
            assert watch.problems() == []
        finally:
            page.context.close()
