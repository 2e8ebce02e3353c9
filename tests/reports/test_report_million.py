"""A generated case with a million timeline rows (bench/big_case.py): the
report is written, its activity chart is drawn as soon as the page opens
(counted when the report was written, not in the browser), its totals match
the database per day, and brushing a period filters the million-row table."""
from __future__ import annotations

import importlib.util
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.reports.browser import shot, url, wait_until

REPO = Path(__file__).resolve().parents[2]
ROWS = 1_000_000


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("big_case", REPO / "bench" / "big_case.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    import reports

    case = _generator().make(tmp_path_factory.mktemp("million") / "case", ROWS)
    started = time.monotonic()
    reports.render(case, ["html"], generated="2024-05-01T12:00:00Z").case.close()
    return case, time.monotonic() - started


def _day(number: int) -> str:
    return subprocess.run(["date", "-u", "-d", f"@{number * 86400}", "+%Y-%m-%d"], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_million_rows_chart_and_brushing(million: tuple[Path, float], browser: Any, shots_dir: Path) -> None:
    case, seconds = million
    assert seconds < 240, f"report took {seconds:.0f}s"
    db = case / "data" / "case.db"
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        started = time.monotonic()
        page.goto(url(case / "data" / "report", "timeline.html"), wait_until="commit")
        wait_until(page, "!!document.body && document.body.dataset.chart === '1'", 30)
        drawn = time.monotonic() - started
        assert drawn < 5, f"chart took {drawn:.1f}s"
        wait_until(page, "document.body.dataset.ready === '1'", 300)
        total = page.evaluate("DVX_CASE.totals.timeline")
        assert total >= ROWS
        truth = Counter({d: int(n) for d, n in (line.split("|") for line in subprocess.run(
            ["sqlite3", "-readonly", str(db), ("SELECT CAST(julianday(substr(mtime, 1, 10)) - 2440587.5 AS INTEGER), "
                                               "count(*) FROM files WHERE mtime IS NOT NULL GROUP BY 1")],
            check=True, capture_output=True, text=True).stdout.split())})
        bars = page.evaluate("""[...document.querySelectorAll('#activity g.bar rect[data-series="mtime"]')].map(r =>
            [Number(r.parentNode.dataset.from), Number(r.parentNode.dataset.to), Number(r.dataset.n)])""")
        assert sum(n for *_, n in bars) == sum(truth.values()) == ROWS // 4
        for lo, hi, n in bars:
            assert n == sum(c for d, c in truth.items() if lo <= int(d) <= hi)
        full = [b for b in page.query_selector_all("#activity g.bar") if int(b.get_attribute("data-total")) > 0]
        a, z = full[100].bounding_box(), full[140].bounding_box()
        started = time.monotonic()
        page.mouse.move(a["x"] + 1, a["y"] + a["height"] / 2)
        page.mouse.down()
        page.mouse.move(z["x"] + 1, z["y"] + z["height"] / 2, steps=5)
        page.mouse.up()
        wait_until(page, f"!document.getElementById('status').textContent.startsWith('{total:,} of')", 30)
        filtered = time.monotonic() - started
        assert filtered < 8, f"brushing took {filtered:.1f}s"
        lo, hi = page.input_value("#t-from"), page.input_value("#t-to")
        n = int(page.inner_text("#status").split(" of ")[0].replace(",", ""))
        rows = page.evaluate("""([lo, hi]) => { const i = DVX_CASE.columns.timeline.indexOf('time');
          return [].concat(...DVX.chunks.timeline).filter(r => r[i] && r[i].slice(0, 10) >= lo
            && r[i].slice(0, 10) <= hi).length; }""", [lo, hi])
        assert 0 < n == rows < total
        assert (lo, hi) == tuple(_day(int(full[i].get_attribute(k))) for i, k in ((100, "data-from"), (140, "data-to")))
        shot(page, shots_dir, "million-timeline-brushed")
        page.click("button[data-view='hour']")
        assert page.evaluate("document.querySelectorAll('#activity g.bar').length") == 24
        assert errors == []
    finally:
        ctx.close()
