"""Places: GPS positions from parser records, as GeoJSON and KML (for QGIS
and Google Earth) and as an offline SVG plot for the HTML report."""
from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path

from reports.common import atomic_text, xml_text
from reports.model import Case, full_path

FORMAT = "geo"  # the name `devicex report -f` knows this renderer by
DESCRIPTION = "places.geojson and places.kml of GPS-tagged files"
ALIASES = ("kml", "geojson")


@dataclass(frozen=True)
class Place:
    file_id: int
    path: str
    name: str
    lat: float
    lon: float
    alt: float | None
    time: str | None        # UTC when known, else the camera's local time text
    camera: str
    sha256: str | None


def _num(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def places(case: Case) -> list[Place]:
    out = []
    for r in case.records():
        d = r["data"]
        lat, lon = _num(d.get("latitude")), _num(d.get("longitude"))
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            continue
        time = d.get("taken_utc") or d.get("gps_time_utc") or d.get("taken_local")
        camera = " ".join(str(d[k]) for k in ("make", "model") if d.get(k))
        path = full_path(r["volume"], r["path"], r["stream"])
        out.append(Place(r["file_id"], path, path.rsplit("/", 1)[-1], lat, lon, _num(d.get("altitude")),
                         str(time) if time else None, camera, r["sha256"]))
    return sorted(out, key=lambda p: (p.file_id, p.lat, p.lon))


def geojson(pts: list[Place]) -> dict[str, object]:
    features = []
    for p in pts:
        coords = [p.lon, p.lat] + ([p.alt] if p.alt is not None else [])
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": coords},
                         "properties": {"file_id": p.file_id, "path": p.path, "time": p.time,
                                        "camera": p.camera or None, "sha256": p.sha256}})
    return {"type": "FeatureCollection", "features": features}


def kml(pts: list[Place], title: str) -> bytes:
    ns = "http://www.opengis.net/kml/2.2"
    ET.register_namespace("", ns)
    root = ET.Element(f"{{{ns}}}kml")
    doc = ET.SubElement(root, f"{{{ns}}}Document")
    ET.SubElement(doc, f"{{{ns}}}name").text = xml_text(title)
    for p in pts:
        mark = ET.SubElement(doc, f"{{{ns}}}Placemark")
        ET.SubElement(mark, f"{{{ns}}}name").text = xml_text(p.name)
        desc = [p.path, f"time: {p.time or 'unknown'}", f"camera: {p.camera or 'unknown'}",
                f"sha256: {p.sha256 or '-'}", f"devicex file id: {p.file_id}"]
        ET.SubElement(mark, f"{{{ns}}}description").text = xml_text("\n".join(desc))
        point = ET.SubElement(mark, f"{{{ns}}}Point")
        alt = f",{p.alt:.6f}" if p.alt is not None else ""
        ET.SubElement(point, f"{{{ns}}}coordinates").text = f"{p.lon:.10f},{p.lat:.10f}{alt}"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def render(case: Case) -> list[Path]:
    pts = places(case)
    out = case.export_dir
    gj = out / "places.geojson"
    with atomic_text(gj) as fh:
        json.dump(geojson(pts), fh, ensure_ascii=False, indent=1, sort_keys=True)
        fh.write("\n")
    km = out / "places.kml"
    title = f"devicex places: {case.first_run().get('case_ref') or case.root.name}"
    tmp = km.with_name(".places.kml.part")
    tmp.write_bytes(kml(pts, title))
    tmp.replace(km)
    return [gj, km]


def _ticks(lo: float, hi: float, step: float) -> Iterator[float]:
    """Grid positions: the multiples of ``step`` from ``lo`` to ``hi``."""
    v = math.floor(lo / step) * step
    while v <= hi:
        if v >= lo:
            yield v
        v += step


def _step(span: float) -> float:
    raw = span / 5
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def svg_plot(pts: list[Place], width: int = 800, height: int = 420) -> str:
    """An offline scatter plot (equirectangular) with a labelled graticule."""
    if not pts:
        return ""
    lats, lons = [p.lat for p in pts], [p.lon for p in pts]
    pad = 0.1
    lat0, lat1 = min(lats), max(lats)
    lon0, lon1 = min(lons), max(lons)
    span = max(lat1 - lat0, lon1 - lon0, 0.01)
    clat, clon = (lat0 + lat1) / 2, (lon0 + lon1) / 2
    half = span * (0.5 + pad)
    kx = max(math.cos(math.radians(clat)), 0.05)
    view_w = view_h = 2 * half
    ml, mt, pw, ph = 60, 10, width - 70, height - 40
    scale = min(pw / (view_w * kx), ph / view_h)
    left, top = clon - (pw / scale / kx) / 2, clat + (ph / scale) / 2

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return ml + (lon - left) * scale * kx, mt + (top - lat) * scale

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="plot" role="img" '
              'aria-label="GPS positions plot">'),
             f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" class="plot-bg"/>']
    step = _step(max(pw / scale / kx, ph / scale))
    lon_lo, lon_hi = left, left + pw / scale / kx
    lat_lo, lat_hi = top - ph / scale, top
    for v in _ticks(lon_lo, lon_hi, step):
        x, _ = xy(lat_lo, v)
        parts.append(f'<line x1="{x:.1f}" y1="{mt}" x2="{x:.1f}" y2="{mt + ph}" class="grid"/>')
        parts.append(f'<text x="{x:.1f}" y="{mt + ph + 16}" class="axis">{v:.4g}°</text>')
    for v in _ticks(lat_lo, lat_hi, step):
        _, y = xy(v, lon_lo)
        parts.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{ml + pw}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{ml - 6}" y="{y + 4:.1f}" class="axis axis-y">{v:.4g}°</text>')
    for p in pts:
        x, y = xy(p.lat, p.lon)
        label = escape(f"{p.path} ({p.lat:.6f}, {p.lon:.6f}) {p.time or ''}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" class="pt"><title>{label}</title></circle>')
    parts.append("</svg>")
    return "\n".join(parts)
