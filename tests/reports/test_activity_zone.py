"""The hour-of-day and day-of-week views in the device's time zone: files whose times fall where Europe/London
and UTC disagree (summer time, the nights the clocks change, a Sunday 23:30 UTC that is Monday in London), an
extraction given ``--timezone Europe/London``, the chart read in headless Chromium. Truth: every event time read
from case.db by the sqlite3 shell and placed in the zone by GNU date (TZ=Europe/London)."""
from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from reports import render
from tests.reports.browser import open_page, shot, url, wait_until
from tests.reports.conftest import GENERATED, extract

ZONE = "Europe/London"
TIMES = ("2024-06-30T23:30:00Z",   # Sunday 23:30 UTC: Monday 00:30 in London (summer time)
         "2024-07-01T07:05:00Z",   # 08:05 in London
         "2024-01-10T23:30:00Z",   # winter: the same hour and day in both
         "2024-03-31T00:30:00Z",   # the night summer time starts: 00:30 GMT...
         "2024-03-31T01:30:00Z",   # ...and one hour later 02:30 BST
         "2024-10-27T00:30:00Z",   # the night it ends: 01:30 BST...
         "2024-10-27T01:30:00Z")   # ...and 01:30 GMT again
SERIES = {"mtime": "SELECT mtime FROM files WHERE mtime IS NOT NULL",
          "crtime": "SELECT crtime FROM files WHERE crtime IS NOT NULL"}
BARS = """() => [...document.querySelectorAll('#activity svg.activity g.bar rect')].map(r =>
  [r.dataset.series, Number(r.parentNode.dataset.from), Number(r.dataset.n)])"""


@pytest.fixture(scope="module")
def zoned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("zoned")
    src = base / "src"
    src.mkdir()
    for n, text in enumerate(TIMES):
        path = src / f"file-{n}.txt"
        path.write_text(f"{text}\n")
        epoch = int(subprocess.run(["date", "-u", "-d", text, "+%s"], check=True, capture_output=True,
                                   text=True).stdout)
        os.utime(path, (epoch, epoch))
    image = base / "zoned.img"
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-d", str(src), str(image), "4M"], check=True,
                   capture_output=True, env={"PATH": "/usr/sbin:/sbin:/usr/bin:/bin",
                                             "E2FSPROGS_FAKE_TIME": "1719790200"})  # 2024-06-30T23:30:00Z
    out = extract(image, base / "out", timezone=ZONE)
    render(out, ["html"], generated=GENERATED)
    return out


def _gnu(times: list[str], zone: str) -> list[tuple[int, int]]:
    """(hour, weekday with Monday 0) of each time in ``zone``, by GNU date."""
    if not times:
        return []
    out = subprocess.run(["date", "-f", "-", "+%H %u"], input="\n".join(times) + "\n", check=True,
                         capture_output=True, text=True, env={"TZ": zone, "PATH": "/usr/bin:/bin"}).stdout
    return [(int(h), int(u) - 1) for h, u in (line.split() for line in out.splitlines())]


def _truth(db: Path, zone: str) -> dict[str, tuple[Counter[int], Counter[int]]]:
    """Per series: events per hour and per weekday in ``zone``."""
    out = {}
    for key, sql in SERIES.items():
        times = subprocess.run(["sqlite3", "-readonly", str(db), sql], check=True, capture_output=True,
                               text=True).stdout.split()
        placed = _gnu(times, zone)
        out[key] = (Counter(h for h, _ in placed), Counter(w for _, w in placed))
    return out


def _shown(page: Any) -> dict[str, Counter[int]]:
    shown: dict[str, Counter[int]] = {}
    for series, bar, n in page.evaluate(BARS):
        shown.setdefault(series, Counter())[bar] += n
    return shown


def test_hours_and_weekdays_in_the_device_zone(zoned: Path, browser: Any, shots_dir: Path) -> None:
    db = zoned / "data" / "case.db"
    london, utc = _truth(db, ZONE), _truth(db, "UTC")
    # the zone changes the answer, for the hours and for the weekdays
    assert london["mtime"][0] != utc["mtime"][0] and london["mtime"][1] != utc["mtime"][1]
    page, watch = open_page(browser, url(zoned / "data" / "report", "timeline.html"))
    try:
        wait_until(page, "document.body.dataset.chart === '1'")
        assert page.input_value("#a-zone") == ZONE  # the device's zone, named, is the default
        for view, index in (("hour", 0), ("weekday", 1)):
            page.click(f"button[data-view='{view}']")
            shown = _shown(page)
            for key in SERIES:
                assert shown.get(key, Counter()) == london[key][index], (view, key)
            assert f"in {ZONE}" in page.inner_text("#activity .activity-info")
            shot(page, shots_dir, f"activity-zone-{view}-london")
        page.select_option("#a-zone", "UTC")
        for view, index in (("weekday", 1), ("hour", 0)):
            page.click(f"button[data-view='{view}']")
            shown = _shown(page)
            for key in SERIES:
                assert shown.get(key, Counter()) == utc[key][index], (view, key)
        assert "hours and weekdays in UTC" in page.inner_text("#activity .activity-info")

        # brushing the London 00:00 bar lists the timeline rows whose time is 00:xx in London
        page.select_option("#a-zone", ZONE)
        page.click("button[data-view='hour']")
        total = page.evaluate("DVX_CASE.totals.timeline")
        bar = page.query_selector("#activity g.bar[data-from='0']")
        assert "Europe/London" in bar.inner_html()
        box = bar.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)
        page.mouse.down()
        page.mouse.up()
        wait_until(page, f"!document.getElementById('status').textContent.startsWith('{total:,} of')")
        n = int(page.inner_text("#status").split(" of ")[0].replace(",", ""))
        times = page.evaluate("""() => { const i = DVX_CASE.columns.timeline.indexOf('time');
          return [].concat(...DVX.chunks.timeline).map(r => r[i]).filter(Boolean); }""")
        assert n == sum(h == 0 for h, _ in _gnu(times, ZONE)) > 0
        assert n != sum(h == 0 for h, _ in _gnu(times, "UTC"))
        shot(page, shots_dir, "activity-zone-brushed")
        assert watch.problems() == []
    finally:
        page.context.close()


def test_without_a_zone_the_views_are_utc(reported: Path, browser: Any) -> None:
    """A case with no device time zone: no zone choice, and the views say UTC."""
    page, watch = open_page(browser, url(reported / "data" / "report", "timeline.html"))
    try:
        wait_until(page, "document.body.dataset.chart === '1'")
        assert page.query_selector("#a-zone") is None
        page.click("button[data-view='hour']")
        assert "hours and weekdays in UTC" in page.inner_text("#activity .activity-info")
        assert "no device time zone is known" in page.inner_text("#activity")
        assert watch.problems() == []
    finally:
        page.context.close()
