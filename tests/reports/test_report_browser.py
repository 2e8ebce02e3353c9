"""The HTML report in a real headless Chromium (Debian's package, driven by
Playwright): every page opens from file:// with no console error, page error,
dialog or network request; hostile names and EXIF text show literally and
nothing from the evidence executes; search, filters, paging and the
one-page print layout work. Screenshots of each page are kept (path printed).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.reports.browser import open_page, shot, url, wait_until
from tests.reports.conftest import BIDI_NAME, EXIF_MAKE, EXIF_MODEL, HOSTILE_JPG, HOSTILE_SCRIPT, HOSTILE_TXT

PAGES = ("index", "files", "gallery", "places", "timeline", "mismatch", "problems", "marks", "print")
XSS_PROBE = """() => ({
  injectedImgs: document.querySelectorAll('img[src="x"], img[onerror]').length,
  injectedSvg: document.querySelectorAll('svg[onload]').length,
  scripts: [...document.scripts].map(s => s.getAttribute('src')),
  inlineHandlers: [...document.querySelectorAll('*')]
    .filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
})"""


def _report(case: Path) -> Path:
    return case / "data" / "report"


def _clean(page: Any, watch: Any) -> None:
    assert watch.problems() == []
    probe = page.evaluate(XSS_PROBE)
    assert probe["injectedImgs"] == 0 and probe["injectedSvg"] == 0 and probe["inlineHandlers"] == 0, probe
    assert all(s in ("data/case.js", "assets/report.js", "assets/activity.js", "assets/tags.js") or re.fullmatch(r"data/[a-z]+-\d{4}\.js", s or "")
               for s in probe["scripts"]), probe["scripts"]


@pytest.mark.parametrize("name", PAGES)
def test_page_opens_clean(reported: Path, browser: Any, shots_dir: Path, name: str) -> None:
    page, watch = open_page(browser, url(_report(reported), f"{name}.html"))
    try:
        _clean(page, watch)
        csp = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
        assert csp and "default-src 'none'" in csp and "script-src 'self'" in csp
        shot(page, shots_dir, f"small-{name}")
    finally:
        page.context.close()


def test_hostile_names_render_literally(reported: Path, browser: Any, shots_dir: Path) -> None:
    page, watch = open_page(browser, url(_report(reported), "files.html"))
    try:
        page.fill("#q", "hostile")
        wait_until(page, "document.getElementById('status').textContent.startsWith('8 of')")
        paths = page.eval_on_selector_all("#files-table tbody td.path", "tds => tds.map(t => t.textContent)")
        assert len(paths) == 8 and all("hostile" in p for p in paths), paths
        cells = page.eval_on_selector_all("#files-table tbody td.name", "tds => tds.map(t => t.textContent)")
        for name in (HOSTILE_JPG, HOSTILE_TXT, HOSTILE_SCRIPT, "bell\\x07name.txt", "new\\x0aline.txt"):
            assert name in cells, (name, cells)  # control characters shown as escapes, never acted on
        page.click(f"#files-table tbody tr:has(td.name:text-is('{HOSTILE_JPG}'))")
        assert page.inner_text("#detail h2") == HOSTILE_JPG
        shot(page, shots_dir, "small-files-hostile")
        _clean(page, watch)
        # page.html from the evidence must never be linked; the picture is.
        page.fill("#q", "page.html")
        wait_until(page, "document.querySelectorAll('#files-table tbody tr').length === 1")
        page.click("#files-table tbody tr")
        assert page.query_selector("#detail a") is None
        assert "not linked" in page.inner_text("#detail")
        _clean(page, watch)
    finally:
        page.context.close()


def test_gallery_shows_exif_text_literally_and_thumbnails(reported: Path, browser: Any, shots_dir: Path) -> None:
    page, watch = open_page(browser, url(_report(reported), "gallery.html"))
    try:
        text = page.inner_text("#gallery-view")
        assert EXIF_MAKE in text and EXIF_MODEL in text and HOSTILE_JPG in text
        sizes = page.eval_on_selector_all(".gallery img",
                                          "ims => ims.map(i => [i.alt, i.naturalWidth, i.naturalHeight])")
        assert len(sizes) == 4 and all(w > 0 for _, w, _ in sizes), sizes
        rotated = next(s for s in sizes if s[0] == "rotated.jpg")
        assert rotated[2] > rotated[1], "EXIF orientation 6 (120x40) must give an upright portrait thumbnail"
        link = page.get_attribute(".gallery a[href*='gps.jpg']", "href")
        assert link and (_report(reported) / link).resolve().is_file()
        page.check("#f-gps")
        wait_until(page, "document.querySelectorAll('.gallery figure').length === 1")
        _clean(page, watch)
    finally:
        page.context.close()


def test_timeline_range_filter(reported: Path, browser: Any) -> None:
    page, watch = open_page(browser, url(_report(reported), "timeline.html"))
    try:
        before = page.evaluate("document.querySelectorAll('#timeline-view tbody tr').length")
        page.fill("#t-from", "2023-07-14")
        page.fill("#t-to", "2023-07-14")
        wait_until(page, "document.querySelectorAll('#timeline-view tbody tr').length === 4")
        rows = page.eval_on_selector_all("#timeline-view tbody tr", "trs => trs.map(t => t.innerText)")
        assert all("2023-07-14T08:15:00Z" in r and "exif taken_utc" in r for r in rows) and before > 4
        _clean(page, watch)
    finally:
        page.context.close()


def test_places_plot_and_mismatch(reported: Path, browser: Any) -> None:
    page, watch = open_page(browser, url(_report(reported), "places.html"))
    try:
        assert page.evaluate("document.querySelectorAll('svg.map .cluster').length") == 1
        assert "gps.jpg" in page.inner_text("#places-view")
        _clean(page, watch)
    finally:
        page.context.close()
    page, watch = open_page(browser, url(_report(reported), "mismatch.html"))
    try:
        assert "holiday.txt" in page.inner_text("#mismatch-view")
        _clean(page, watch)
    finally:
        page.context.close()


def test_print_summary_is_one_page(reported: Path, browser: Any, shots_dir: Path) -> None:
    page, watch = open_page(browser, url(_report(reported), "print.html"))
    try:
        page.emulate_media(media="print")
        shot(page, shots_dir, "small-print-media")
        for fmt in ("A4", "Letter"):
            pdf = page.pdf(format=fmt, print_background=True)
            pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
            assert pages == 1, f"printable summary takes {pages} {fmt} pages"
        (shots_dir / "print-summary.pdf").write_bytes(page.pdf(format="A4"))
        _clean(page, watch)
    finally:
        page.context.close()


def test_bidi_override_in_a_name_is_shown_not_obeyed(reported: Path, browser: Any, shots_dir: Path) -> None:
    """innocent<U+202E>gpj.exe must not display as innocentexe.jpg: the override is shown as an escape,
    so the characters appear in their true order, and cells isolate their text."""
    page, watch = open_page(browser, url(_report(reported), "files.html"))
    try:
        page.fill("#q", "innocent")
        wait_until(page, "document.getElementById('status').textContent.startsWith('1 of')")
        cell = page.eval_on_selector("#files-table tbody td.name", "td => [td.textContent, "
                                     "getComputedStyle(td).unicodeBidi]")
        assert cell == ["innocent\\u202egpj.exe", "isolate"], cell
        assert BIDI_NAME not in page.evaluate("document.body.innerText")
        # laid out left to right in stored order: 'innocent' starts left of 'gpj', and 'exe' is last
        order = page.evaluate("""() => {
          const td = document.querySelector('#files-table tbody td.name'), t = td.firstChild;
          const r = document.createRange();
          const x = s => { const i = t.data.indexOf(s); r.setStart(t, i); r.setEnd(t, i + s.length);
                           return r.getBoundingClientRect().left; };
          return [x('innocent'), x('gpj'), x('exe')];
        }""")
        assert order[0] < order[1] < order[2], order
        page.click("#files-table tbody tr")
        assert "\u202e" not in page.inner_text("#detail")
        shot(page, shots_dir, "small-files-bidi")
        _clean(page, watch)
    finally:
        page.context.close()
