"""The human report: ``data/report/index.html`` and its pages, assets, data
chunks and thumbnails, all offline (no CDN, fonts or network), under a strict
Content-Security-Policy. Written to a temporary folder and swapped in whole.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from reports import activity, cameratime, geo
from reports.html import comms, data, pages, placemap, summary, thumbs
from reports.model import REPORT_DIR, Case

FORMAT = "html"  # the name `devicex report -f` knows this renderer by
DESCRIPTION = "report/index.html: the offline human report"
LINKS_EXPORTS = True  # rendered after the machine formats, so it can link them

ASSETS = Path(__file__).parent / "assets"


def _datasets(case: Case, out: Path, act: dict[str, object],
              pts: list[geo.Place]) -> tuple[dict[str, int], dict[str, int], list[list[object]]]:
    data_dir = out / "data"
    data_dir.mkdir(parents=True)
    writers = {n: data.ChunkWriter(data_dir, n) for n in ("files", "timeline", "gallery", "places", "mismatch",
                                                          "problems")}
    jobs = []
    for f in case.files("category = 'image' AND export_path IS NOT NULL AND sha256 IS NOT NULL"):
        source = case.exported(f["export_path"])
        if source is not None:
            jobs.append(thumbs.Job(f["id"], f["sha256"], source, f["path"]))
    made = thumbs.make_all(jobs, out)
    thumb_of = {o.job.file_id: o.thumb for o in made if o.thumb}
    report_problems: list[list[object]] = [
        ["warning", "report:thumbnail", "", o.job.path, o.problem, o.job.file_id] for o in made if o.problem]
    exif: dict[int, dict[str, object]] = {}
    for r in case.records("exif"):
        exif.setdefault(r["file_id"], r["data"])
    for f in case.files():
        thumb = thumb_of.get(f["id"])
        row = data.file_row(f, thumb)
        writers["files"].add(row)
        if f["ext_mismatch"]:
            writers["mismatch"].add([f["id"], row[1], f["extension"], f["mime"], f["magic"], f["size"], row[18]])
        if f["category"] == "image" and f["export_path"]:
            d = exif.get(f["id"], {})
            camera = " ".join(str(d[k]) for k in ("make", "model") if d.get(k))
            writers["gallery"].add([f["id"], row[1], thumb or "", row[18], cameratime.taken_text(d, case.zone),
                                    camera, d.get("latitude"), d.get("longitude")])
    hrefs = {r[0]: (r[1], r[2]) for r in case.conn.execute("SELECT id, export_path, sha256 FROM files")}
    for p in pts:
        exp, _ = hrefs.get(p.file_id, (None, None))
        writers["places"].add([p.file_id, p.path, p.lat, p.lon, p.alt, p.time, p.camera, thumb_of.get(p.file_id, ""),
                               data.href(exp), p.nearest.text if p.nearest else None])
    for row in data.merge_timeline(case.timeline()):
        writers["timeline"].add(row)
    for err in case.errors():
        writers["problems"].add([err["severity"], err["stage"], err["volume"], err["path"], err["message"],
                                 err["file_id"]])
    for row in report_problems:
        writers["problems"].add(row)
    for w in writers.values():
        w.flush()
    chunks = {n: w.chunks for n, w in writers.items()}
    totals = {n: w.total for n, w in writers.items()}
    (data_dir / "activity-0001.js").write_text(data.js_object("activity", act), encoding="ascii")
    chunks["activity"], totals["activity"] = 1, 1
    data.write_case_js(data_dir, case, chunks, totals)
    return chunks, totals, report_problems


def _write(out: Path, name: str, title: str, body: str, case: Case, ctitle: str) -> None:
    (out / name).write_text(pages.layout(name, title, body, ctitle, case.generated), encoding="utf-8")


def render(case: Case) -> list[Path]:
    final = case.report_dir
    out = case.data_dir / f".{REPORT_DIR}.tmp"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(ASSETS, out / "assets", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    act = activity.payload(case)
    pts = geo.places(case)
    _, totals, _ = _datasets(case, out, act, pts)
    ctitle = summary.case_title(case)
    exports = sorted(p.name for p in case.export_dir.glob("*") if p.is_file() and not p.name.startswith(".")) \
        if case.export_dir.is_dir() else []
    _write(out, "index.html", "Case summary", summary.summary_body(case, exports, act), case, ctitle)
    _write(out, "print.html", "Extraction summary", summary.print_body(case), case, ctitle)
    _write(out, "marks.html", "Marks", pages.MARKS_BODY, case, ctitle)
    n = totals
    _write(out, "files.html", "Files", pages.browse_shell(
        "files", f"{n['files']:,} entries. Search by name, path, hash or type; filter; click a column to sort and "
                 "a row for details. Click a folder on the left to limit the list to it.",
        pages.FILES_CONTROLS), case, ctitle)
    _write(out, "gallery.html", "Pictures", pages.browse_shell(
        "gallery", f"{n['gallery']:,} exported pictures. Thumbnails are made from the exported copies, turned upright; "
                   "click one to open the full file.", pages.GALLERY_CONTROLS), case, ctitle)
    plot = placemap.svg(pts)
    links = ('<p>For Google Earth or QGIS: <a href="../export/places.kml">places.kml</a> · '
             '<a href="../export/places.geojson">places.geojson</a>.</p>'
             if {"places.kml", "places.geojson"} <= set(exports) else
             "<p>KML and GeoJSON files for Google Earth or QGIS: <code>devicex report -f geo</code>.</p>")
    figure = (f'<figure class="plot-wrap">{plot}<figcaption>Numbers are clusters of nearby positions; click one '
              'to see its pictures and list only them below. Names are the nearest places with over 1,000 people. '
              f'{pages.e(placemap.ATTRIBUTION)}</figcaption></figure><section id="picked" class="picked" '
              'aria-live="polite"></section>' if plot else "")
    _write(out, "places.html", "Places", pages.browse_shell(
        "places", f"{n['places']:,} files carry a GPS position, each with the nearest named place (drawn and named "
                  "from data bundled with devicex: no network is used).",
        pages.SIMPLE_CONTROLS, figure + links), case, ctitle)
    _write(out, "timeline.html", "Timeline", pages.browse_shell(
        "timeline", f"{n['timeline']:,} timeline rows, all times UTC: file-system times (m = modified, a = accessed, "
                    "c = metadata changed, b = born/created) and times found by parsers (e.g. EXIF). "
                    + summary.camera_note(case),
        pages.TIMELINE_CONTROLS, '<section id="activity" class="activity-panel" aria-label="Activity over time">'
                                 '</section>'), case, ctitle)
    _write(out, "mismatch.html", "Extension mismatches", pages.browse_shell(
        "mismatch", f"{n['mismatch']:,} files whose name extension does not fit their content (e.g. a picture "
                    "named .txt).", pages.SIMPLE_CONTROLS), case, ctitle)
    _write(out, "problems.html", "Problems", pages.browse_shell(
        "problems", f"{n['problems']:,} items that could not be read, parsed or previewed, and why.",
        pages.SIMPLE_CONTROLS), case, ctitle)
    comms.write(case, out, lambda name, title, body: (out / name).write_text(
        comms.scripts(pages.layout(name, title, body, ctitle, case.generated)), encoding="utf-8"))
    if final.exists():
        shutil.rmtree(final)
    out.rename(final)
    return [final / "index.html"]
