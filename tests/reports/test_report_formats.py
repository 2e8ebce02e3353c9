"""Machine formats checked by their real consumers: Python's csv module and a
formula-injection check, mactime on the bodyfile, fiwalk's own DFXML for the
element order and hashes, case_validate on the CASE/UCO JSON-LD."""
from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest

from tests.reports.conftest import FORMULA_NAMES, GPS_LAT, GPS_LON, HOSTILE_JPG

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _db(case: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{case / 'data' / 'case.db'}?mode=ro", uri=True)


def _csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_csv_parses_and_is_formula_safe(reported: Path) -> None:
    export = reported / "data" / "export"
    n_files = _db(reported).execute("SELECT count(*) FROM files").fetchone()[0]
    files = _csv_rows(export / "files.csv")
    assert files[0][:3] == ["id", "volume", "path"]
    assert len(files) - 1 == n_files
    for name in ("files.csv", "exif.csv", "timeline.csv", "timesketch.csv"):
        for row in _csv_rows(export / name)[1:]:
            for cell in row:
                assert not cell.startswith(DANGEROUS), f"{name}: formula-like cell {cell!r}"
    names = {row[4] for row in files[1:]}
    for hostile in FORMULA_NAMES:
        assert "'" + hostile in names, f"{hostile!r} not neutralised with a leading apostrophe"
    assert HOSTILE_JPG in names
    exif = _csv_rows(export / "exif.csv")
    header = exif[0]
    gps = [dict(zip(header, r, strict=False)) for r in exif[1:] if r[header.index("latitude")]]
    assert len(gps) == 1 and abs(float(gps[0]["latitude"]) - GPS_LAT) < 1e-6


def test_jsonl_holds_every_record_and_file(reported: Path) -> None:
    db = _db(reported)
    export = reported / "data" / "export"
    records = [json.loads(x) for x in (export / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == db.execute("SELECT count(*) FROM records").fetchone()[0] > 0
    assert all({"parser", "data", "file", "record_type"} <= r.keys() for r in records)
    files = [json.loads(x) for x in (export / "files.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(files) == db.execute("SELECT count(*) FROM files").fetchone()[0]


def test_bodyfile_is_read_by_mactime(reported: Path) -> None:
    assert shutil.which("mactime"), "mactime (sleuthkit) is required: bash .ci/install --test"
    body = reported / "data" / "export" / "bodyfile.txt"
    lines = body.read_text(encoding="utf-8").splitlines()
    assert all(len(line.split("|")) == 11 for line in lines)
    out = subprocess.run(["mactime", "-b", str(body), "-d", "-y"], capture_output=True, text=True, check=True,
                         env={"TZ": "UTC", "PATH": "/usr/bin:/bin"})
    rows = list(csv.reader(out.stdout.splitlines()))
    assert rows[0][0] == "Date" and len(rows) > 10
    by_name = {r[7]: r for r in rows[1:]}
    assert any(name.endswith("/hostile/" + HOSTILE_JPG) for name in by_name)
    assert any("(deleted)" in name for name in by_name), "deleted entry not marked as fls does"
    assert any(n.endswith("/hostile/bell^name.txt") for n in by_name), "control characters written as fls does"
    assert any(n.endswith("/hostile/new^line.txt") for n in by_name), "a newline in a name must not split a line"
    gps = [r for r in rows[1:] if r[7].endswith("/DCIM/gps.jpg")]
    assert any(r[0].startswith("2023-11-14T22:13:20") and r[2].startswith("m") for r in gps), gps


def test_timesketch_fields(reported: Path) -> None:
    export = reported / "data" / "export"
    events = [json.loads(x) for x in (export / "timesketch.jsonl").read_text(encoding="utf-8").splitlines()]
    assert events
    for ev in events:
        assert ev["message"] and ev["timestamp_desc"]
        moment = datetime.fromisoformat(ev["datetime"])
        assert moment.utcoffset() is not None
        assert ev["timestamp"] == int(moment.timestamp()) * 1_000_000 + moment.microsecond
    assert any(ev["data_type"] == "devicex:exif" for ev in events)
    header = _csv_rows(export / "timesketch.csv")[0]
    assert {"message", "datetime", "timestamp_desc", "timestamp"} <= set(header)


def _children(fo: ET.Element) -> list[str]:
    return [c.tag.split("}")[-1] for c in fo]


def test_dfxml_follows_fiwalk(reported: Path, report_image: Path, tmp_path: Path) -> None:
    ours = ET.parse(reported / "data" / "export" / "dfxml.xml").getroot()
    ns = {"d": "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML"}
    objs = ours.findall(".//d:fileobject", ns)
    assert len(objs) == _db(reported).execute("SELECT count(*) FROM files").fetchone()[0]
    top = _children(ours)
    assert top[:3] == ["metadata", "creator", "source"] and set(top[3:]) == {"volume"}
    assert shutil.which("fiwalk"), "fiwalk (sleuthkit) is required: bash .ci/install --test"
    theirs_path = tmp_path / "fiwalk.xml"
    subprocess.run(["fiwalk", "-X", str(theirs_path), str(report_image)], check=True, capture_output=True)
    theirs = ET.parse(theirs_path).getroot()
    # Every pair of elements fiwalk writes in one order must never appear in the other order here.
    before: set[tuple[str, str]] = set()
    known: set[str] = set()
    for fo in theirs.findall(".//d:fileobject", ns):
        tags = _children(fo)
        known.update(tags)
        before.update((a, b) for i, a in enumerate(tags) for b in tags[i + 1:] if a != b)
    fiwalk_md5 = {}
    fiwalk_runs = {}
    for fo in theirs.findall(".//d:fileobject", ns):
        md5 = fo.find("d:hashdigest[@type='md5']", ns)
        if md5 is not None:
            fiwalk_md5[fo.findtext("d:filename", namespaces=ns)] = md5.text
        runs = [(int(r.get("img_offset")), int(r.get("len"))) for r in fo.findall("d:byte_runs/d:byte_run", ns)
                if r.get("img_offset") is not None and r.get("type") is None]
        if runs:
            fiwalk_runs[fo.findtext("d:filename", namespaces=ns)] = runs
    compared = runs_compared = 0
    for fo in objs:
        tags = _children(fo)
        assert set(tags) <= known, f"elements fiwalk never writes: {set(tags) - known}"
        for i, a in enumerate(tags):
            for b in tags[i + 1:]:
                assert (b, a) not in before or a == b, f"{a} before {b}, fiwalk writes {b} first"
        name = fo.findtext("d:filename", namespaces=ns)
        md5 = fo.find("d:hashdigest[@type='md5']", ns)
        if md5 is not None and name in fiwalk_md5 and "\\" not in name:
            assert md5.text == fiwalk_md5[name], name
            compared += 1
        ours_runs = [(int(r.get("img_offset")), int(r.get("len"))) for r in fo.findall("d:byte_runs/d:byte_run", ns)]
        if name in fiwalk_runs and ours_runs and "\\" not in name:
            assert ours_runs == fiwalk_runs[name], name
            runs_compared += 1
    assert compared >= 8
    assert runs_compared >= 5, "byte_runs must agree with fiwalk's"


def test_case_uco_passes_case_validate(reported: Path) -> None:
    tool = shutil.which("case_validate")
    assert tool, "case_validate (case-utils) is required: bash .ci/install --test"
    path = reported / "data" / "export" / "case-uco.jsonld"
    graph = json.loads(path.read_text(encoding="utf-8"))["@graph"]
    types = {n["@type"] for n in graph}
    assert {"case-investigation:Investigation", "case-investigation:InvestigativeAction", "uco-tool:Tool",
            "uco-identity:Person", "case-investigation:ProvenanceRecord", "uco-observable:File",
            "uco-observable:FileFacet", "uco-observable:ContentDataFacet", "uco-types:Hash"} <= types
    res = subprocess.run([tool, str(path)], check=False, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Conforms: True" in res.stdout
    assert "Results (" not in res.stdout and "Severity" not in res.stdout, res.stdout


def test_geojson_and_kml(reported: Path) -> None:
    export = reported / "data" / "export"
    gj = json.loads((export / "places.geojson").read_text(encoding="utf-8"))
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 1
    lon, lat, alt = gj["features"][0]["geometry"]["coordinates"]
    assert abs(lat - GPS_LAT) < 1e-6 and abs(lon - GPS_LON) < 1e-6 and alt == pytest.approx(120.5)
    kml = ET.parse(export / "places.kml").getroot()
    marks = kml.findall(".//{http://www.opengis.net/kml/2.2}Placemark")
    assert len(marks) == 1
    coords = marks[0].findtext(".//{http://www.opengis.net/kml/2.2}coordinates")
    assert coords is not None and coords.startswith(f"{GPS_LON:.6f}"[:8])
