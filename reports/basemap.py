"""Land, coast and country-boundary outlines for the Places map, from Natural
Earth's Admin 0 countries (public domain) as TopoJSON from the npm package
``world-atlas`` (ISC; vendored under ``reports/geodata``).

An arc used by one country is coast; one shared by two is a boundary. Only
what falls in the plotted box is drawn (points outside are clamped to a
margin around it, repeats dropped), at 1:10m for regional views and 1:110m
for continental ones.
"""
from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "geodata"
ATTRIBUTION = ("Outlines: Natural Earth (public domain), 1:10m and 1:110m Admin 0 countries, as TopoJSON from "
               "the world-atlas package (ISC licence).")
Point = tuple[float, float]
Box = tuple[float, float, float, float]   # south, north, west, east


@dataclass(frozen=True)
class Topology:
    arcs: list[list[Point]]          # (lon, lat) per arc
    boxes: list[Box]                 # per arc
    rings: list[list[int]]           # every polygon ring of every country, as arc references
    ring_boxes: list[Box]
    uses: list[int]                  # per arc: how many country rings use it


def _decode(topo: dict[str, Any]) -> tuple[list[list[Point]], list[Box]]:
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs, boxes = [], []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        lons, lats = [p[0] for p in pts], [p[1] for p in pts]
        arcs.append(pts)
        boxes.append((min(lats), max(lats), min(lons), max(lons)))
    return arcs, boxes


def _polygons(geom: dict[str, Any]) -> Iterator[list[list[int]]]:
    if geom.get("type") == "Polygon":
        yield geom["arcs"]
    elif geom.get("type") == "MultiPolygon":
        yield from geom["arcs"]


@lru_cache(maxsize=2)
def load(scale: str) -> Topology:
    with gzip.open(DATA / f"countries-{scale}.json.gz", "rb") as fh:
        topo = json.loads(fh.read())
    arcs, boxes = _decode(topo)
    rings: list[list[int]] = []
    uses = [0] * len(arcs)
    for geom in topo["objects"]["countries"]["geometries"]:
        for polygon in _polygons(geom):
            for ring in polygon:
                rings.append(ring)
                for a in ring:
                    uses[a if a >= 0 else ~a] += 1
    ring_boxes = []
    for ring in rings:
        bs = [boxes[a if a >= 0 else ~a] for a in ring]
        ring_boxes.append((min(b[0] for b in bs), max(b[1] for b in bs), min(b[2] for b in bs), max(b[3] for b in bs)))
    return Topology(arcs, boxes, rings, ring_boxes, uses)


def _meets(a: Box, b: Box) -> bool:
    return a[0] <= b[1] and b[0] <= a[1] and a[2] <= b[3] and b[2] <= a[3]


def _ring_points(topo: Topology, ring: list[int]) -> list[Point]:
    pts: list[Point] = []
    for a in ring:
        arc = topo.arcs[a] if a >= 0 else topo.arcs[~a][::-1]
        pts.extend(arc[1:] if pts else arc)
    return pts


def _path(points: list[Point], xy: Callable[[float, float], Point], clamp: Box, close: bool) -> str:
    s, n, w, e = clamp
    out: list[str] = []
    last: tuple[int, int] | None = None
    for lon, lat in points:
        x, y = xy(min(max(lat, s), n), min(max(lon, w), e))
        key = (round(x * 2), round(y * 2))      # half-pixel steps: repeats dropped
        if key != last:
            out.append(f"{x:.1f},{y:.1f}")
            last = key
    if len(out) < 2:
        return ""
    return "M" + "L".join(out) + ("Z" if close else "")


def outlines(view: Box, xy: Callable[[float, float], Point]) -> dict[str, str]:
    """SVG path data for ``land`` (filled), ``coast`` and ``boundary`` inside ``view``."""
    s, n, w, e = view
    span = max(n - s, e - w)
    topo = load("110m" if span > 40 else "10m")
    margin = max(span * 0.05, 0.01)
    clamp = (s - margin, n + margin, w - margin, e + margin)
    land = []
    for ring, box in zip(topo.rings, topo.ring_boxes, strict=True):
        if _meets(box, clamp):
            land.append(_path(_ring_points(topo, ring), xy, clamp, True))
    coast: list[str] = []
    boundary: list[str] = []
    for i, arc in enumerate(topo.arcs):
        if not _meets(topo.boxes[i], clamp):
            continue
        d = _path(arc, xy, clamp, False)
        (coast if topo.uses[i] < 2 else boundary).append(d)
    return {"land": "".join(land), "coast": "".join(coast), "boundary": "".join(boundary)}
