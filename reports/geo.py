"""Places: GPS positions from parser records with the nearest named place
(offline gazetteer), as GeoJSON and KML for QGIS and Google Earth; the HTML
report draws them with ``reports.html.placemap``."""
from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from reports import cameratime, gazetteer
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
    time: str | None        # how the time reads: UTC, converted camera clock, or camera clock without zone
    time_utc: str | None    # UTC when known or converted with the device's zone
    camera: str
    sha256: str | None
    nearest: gazetteer.Nearest | None


def _num(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _times(d: dict[str, object], zone: cameratime.DeviceZone | None) -> tuple[str | None, str | None]:
    local = d.get("taken_local")
    conv = cameratime.converted(local if isinstance(local, str) else None, zone)
    utc = d.get("taken_utc") or (conv[0] if conv else None) or d.get("gps_time_utc")
    text = cameratime.taken_text(d, zone)
    if text is None and d.get("gps_time_utc"):
        text = f"{str(d['gps_time_utc']).replace('T', ' ').rstrip('Z')} UTC (GPS time)"
    return text, str(utc) if utc else None


def places(case: Case) -> list[Place]:
    out = []
    for r in case.records():
        d = r["data"]
        lat, lon = _num(d.get("latitude")), _num(d.get("longitude"))
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            continue
        text, utc = _times(d, case.zone)
        camera = " ".join(str(d[k]) for k in ("make", "model") if d.get(k))
        path = full_path(r["volume"], r["path"], r["stream"])
        out.append(Place(r["file_id"], path, path.rsplit("/", 1)[-1], lat, lon, _num(d.get("altitude")),
                         text, utc, camera, r["sha256"], gazetteer.default().nearest(lat, lon)))
    return sorted(out, key=lambda p: (p.file_id, p.lat, p.lon))


def geojson(pts: list[Place]) -> dict[str, object]:
    features = []
    for p in pts:
        coords = [p.lon, p.lat] + ([p.alt] if p.alt is not None else [])
        near = p.nearest
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": coords},
                         "properties": {"file_id": p.file_id, "path": p.path, "time": p.time, "time_utc": p.time_utc,
                                        "camera": p.camera or None, "sha256": p.sha256,
                                        "nearest_place": near.place.label if near else None,
                                        "nearest_place_km": round(near.km, 3) if near else None,
                                        "nearest_place_country_code": near.place.country_code if near else None}})
    return {"type": "FeatureCollection", "features": features, "attribution": gazetteer.ATTRIBUTION}


def kml(pts: list[Place], title: str) -> bytes:
    ns = "http://www.opengis.net/kml/2.2"
    ET.register_namespace("", ns)
    root = ET.Element(f"{{{ns}}}kml")
    doc = ET.SubElement(root, f"{{{ns}}}Document")
    ET.SubElement(doc, f"{{{ns}}}name").text = xml_text(title)
    ET.SubElement(doc, f"{{{ns}}}description").text = gazetteer.ATTRIBUTION
    for p in pts:
        mark = ET.SubElement(doc, f"{{{ns}}}Placemark")
        ET.SubElement(mark, f"{{{ns}}}name").text = xml_text(p.name)
        desc = [p.path, f"nearest place: {p.nearest.text if p.nearest else 'unknown'}",
                f"time: {p.time or 'unknown'}", f"camera: {p.camera or 'unknown'}",
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
