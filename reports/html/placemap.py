"""The Places map: an offline SVG (equirectangular, scaled by the cosine of the
middle latitude) with land, coast and boundaries, nearby place names, a scale
bar and the positions, close ones clustered with a count. Each cluster carries
the file ids of its pictures for the page's code to show them."""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape

from reports import basemap, gazetteer
from reports.geo import Place

MIN_SPAN = 0.15          # degrees: even one position shows the towns around it
CLUSTER_PX = 18
MAX_LABELS = 28
ATTRIBUTION = f"{gazetteer.ATTRIBUTION} {basemap.ATTRIBUTION}"


@dataclass
class Cluster:
    x: float
    y: float
    members: list[Place] = field(default_factory=list)


@dataclass(frozen=True)
class Frame:
    """The plotted box and its projection to SVG pixels."""

    ml: float
    mt: float
    pw: float
    ph: float
    left: float
    top: float
    scale: float
    kx: float

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        return self.ml + (lon - self.left) * self.scale * self.kx, self.mt + (self.top - lat) * self.scale

    @property
    def box(self) -> basemap.Box:
        return (self.top - self.ph / self.scale, self.top, self.left, self.left + self.pw / self.scale / self.kx)


def frame(pts: list[Place], width: int, height: int) -> Frame:
    lats, lons = [p.lat for p in pts], [p.lon for p in pts]
    lat0, lat1, lon0, lon1 = min(lats), max(lats), min(lons), max(lons)
    clat, clon = (lat0 + lat1) / 2, (lon0 + lon1) / 2
    kx = max(math.cos(math.radians(clat)), 0.05)
    half_h = max(lat1 - lat0, MIN_SPAN) * 0.62 + 0.02 * MIN_SPAN
    half_w = max((lon1 - lon0) * kx, MIN_SPAN) * 0.62 + 0.02 * MIN_SPAN
    ml, mt, pw, ph = 56, 10, width - 66, height - 36
    scale = min(pw / (2 * half_w), ph / (2 * half_h))
    return Frame(ml, mt, pw, ph, clon - (pw / scale / kx) / 2, clat + (ph / scale) / 2, scale, kx)


def _ticks(lo: float, hi: float, step: float) -> Iterator[float]:
    v = math.floor(lo / step) * step
    while v <= hi:
        if v >= lo:
            yield v
        v += step


def _step(span: float) -> float:
    raw = span / 5
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def clusters(pts: list[Place], f: Frame) -> list[Cluster]:
    """Greedy clustering in pixels: each position joins the first cluster within CLUSTER_PX."""
    grid: dict[tuple[int, int], list[Cluster]] = {}
    out: list[Cluster] = []
    for p in sorted(pts, key=lambda q: (q.lat, q.lon, q.file_id)):
        x, y = f.xy(p.lat, p.lon)
        gx, gy = int(x // CLUSTER_PX), int(y // CLUSTER_PX)
        near = [c for dx in (-1, 0, 1) for dy in (-1, 0, 1) for c in grid.get((gx + dx, gy + dy), [])
                if math.hypot(c.x - x, c.y - y) <= CLUSTER_PX]
        if near:
            near[0].members.append(p)
            continue
        c = Cluster(x, y, [p])
        grid.setdefault((gx, gy), []).append(c)
        out.append(c)
    return out


def _graticule(f: Frame) -> list[str]:
    s, n, w, e = f.box
    step = _step(max(e - w, n - s))
    out = []
    for v in _ticks(w, e, step):
        x, _ = f.xy(s, v)
        out.append(f'<line x1="{x:.1f}" y1="{f.mt}" x2="{x:.1f}" y2="{f.mt + f.ph}" class="grid"/>'
                   f'<text x="{x:.1f}" y="{f.mt + f.ph + 15}" class="axis">{v:.4g}°</text>')
    for v in _ticks(s, n, step):
        _, y = f.xy(v, w)
        out.append(f'<line x1="{f.ml}" y1="{y:.1f}" x2="{f.ml + f.pw}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{f.ml - 5}" y="{y + 4:.1f}" class="axis axis-y">{v:.4g}°</text>')
    return out


def _overlaps(box: tuple[float, float, float, float], taken: list[tuple[float, float, float, float]]) -> bool:
    return any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in taken)


def _label(f: Frame, place: gazetteer.Named, taken: list[tuple[float, float, float, float]],
           gap: float = 5) -> str | None:
    """A dot and the name ``gap`` pixels right of the dot or else left of it, where it hides nothing drawn."""
    x, y = f.xy(place.lat, place.lon)
    big = place.population >= 100_000
    size = 13 if big else 11
    width = 0.6 * size * len(place.name)
    for box, tx, anchor in (((x + gap - 2, y - size - 2, x + gap + 1 + width, y + 1), x + gap, "start"),
                            ((x - gap - 1 - width, y - size - 2, x - gap + 2, y + 1), x - gap, "end")):
        inside = f.ml <= box[0] and box[2] <= f.ml + f.pw and f.mt <= box[1] and box[3] <= f.mt + f.ph
        if inside and not _overlaps(box, taken):
            taken.append(box)
            cls = "town big" if big else "town"
            return (f'<g class="{cls}"><circle cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>'
                    f'<text x="{tx:.1f}" y="{y - 3:.1f}" text-anchor="{anchor}">{escape(place.name)}</text>'
                    f'<title>{escape(place.label)} (population {place.population:,}; GeoNames)</title></g>')
    return None


def _labels(f: Frame, groups: list[Cluster]) -> list[str]:
    """The nearest place of each cluster (largest first), then the most populous places in view."""
    s, n, w, e = f.box
    gaz = gazetteer.default()
    taken = [(c.x - _radius(c), c.y - _radius(c), c.x + _radius(c), c.y + _radius(c)) for c in groups]
    first = [(gaz.nearest(*_centre(c.members)).place, _radius(c) + 4)
             for c in sorted(groups, key=lambda c: -len(c.members))]
    out: list[str] = []
    seen: set[tuple[str, float, float]] = set()
    for place, gap in first + [(p, 5.0) for p in gaz.within(s, n, w, e, limit=400)]:
        key = (place.name, place.lat, place.lon)
        if key in seen or not (s <= place.lat <= n and w <= place.lon <= e):
            continue
        seen.add(key)
        drawn = _label(f, place, taken, gap)
        if drawn:
            out.append(drawn)
        if len(out) >= MAX_LABELS:
            break
    return out


def _scale_bar(f: Frame) -> str:
    km_per_px = 111.195 / f.scale
    target = km_per_px * f.pw / 5
    mag = 10 ** math.floor(math.log10(target))
    km = next(m * mag for m in (5, 2, 1) if m * mag <= target)
    px = km / km_per_px
    x0, y0 = f.ml + 12, f.mt + f.ph - 14
    text = f"{km:g} km" if km >= 1 else f"{km * 1000:g} m"
    return (f'<g class="scalebar"><rect x="{x0 - 6}" y="{y0 - 16}" width="{px + 12:.1f}" height="24"/>'
            f'<line x1="{x0}" y1="{y0}" x2="{x0 + px:.1f}" y2="{y0}"/>'
            f'<text x="{x0 + px / 2:.1f}" y="{y0 - 4}">{text}</text></g>')


def _cluster(c: Cluster, n: int) -> str:
    count = len(c.members)
    ids = ",".join(str(p.file_id) for p in sorted(c.members, key=lambda p: p.file_id))
    near = gazetteer.default().nearest(*_centre(c.members))
    what = f"{count} picture{'s' if count > 1 else ''} near {near.text}"
    r = _radius(c)
    text = f'<text x="{c.x:.1f}" y="{c.y + 4:.1f}">{count}</text>' if count > 1 else ""
    return (f'<g class="cluster" data-ids="{ids}" data-n="{n}" tabindex="0" role="button" '
            f'aria-label="{escape(what)}"><circle cx="{c.x:.1f}" cy="{c.y:.1f}" r="{r:.1f}"/>{text}'
            f'<title>{escape(what)}</title></g>')


def _radius(c: Cluster) -> float:
    count = len(c.members)
    return 6.0 if count == 1 else min(20.0, 9 + 2.5 * math.log2(count))


def _centre(pts: list[Place]) -> tuple[float, float]:
    return sum(p.lat for p in pts) / len(pts), sum(p.lon for p in pts) / len(pts)


def svg(pts: list[Place], width: int = 960, height: int = 560) -> str:
    if not pts:
        return ""
    f = frame(pts, width, height)
    shapes = basemap.outlines(f.box, f.xy)
    groups = clusters(pts, f)
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="plot map" role="img" '
              'aria-label="Map of GPS positions">'),
             (f'<defs><clipPath id="plot-clip"><rect x="{f.ml}" y="{f.mt}" width="{f.pw}" height="{f.ph}"/>'
              '</clipPath></defs>'),
             f'<rect x="{f.ml}" y="{f.mt}" width="{f.pw}" height="{f.ph}" class="sea"/>',
             '<g clip-path="url(#plot-clip)">',
             f'<path class="land" d="{shapes["land"]}"/>' if shapes["land"] else "",
             f'<path class="boundary" d="{shapes["boundary"]}"/>' if shapes["boundary"] else "",
             f'<path class="coast" d="{shapes["coast"]}"/>' if shapes["coast"] else "",
             "</g>", *_graticule(f), *_labels(f, groups),
             f'<rect x="{f.ml}" y="{f.mt}" width="{f.pw}" height="{f.ph}" class="frame"/>', _scale_bar(f)]
    parts += [_cluster(c, i) for i, c in enumerate(groups)]
    parts.append("</svg>")
    return "\n".join(p for p in parts if p)
