"""The footprint of an occurrence's patches: PNGs carry no georeferencing, so it is computed
from the occurrence point, as the 640 m x 640 m square centred on it in its UTM zone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from pyproj import Transformer

from stacforge.datasets.deeporchidseries.constants import GSD, PATCH_METRES, PATCH_PIXELS
from stacforge.geometry import geojson_bbox, to_lonlat, utm_code, utm_zone

PROJ_SHAPE = (PATCH_PIXELS, PATCH_PIXELS)
"""``proj:shape`` of every patch: rows, columns."""


@dataclass(frozen=True, slots=True)
class Footprint:
    """A patch's square in longitude/latitude, and its pixel grid in the UTM zone."""

    geometry: dict[str, Any]
    bbox: list[float]
    proj_code: str
    proj_transform: list[float]


def patch_footprint(longitude: float, latitude: float) -> Footprint:
    """The 640 m patch centred on a point: a square in the point's UTM zone, reprojected to
    longitude/latitude (split in two where it crosses the antimeridian).

    The exact pixel grid of the published patches is not known (the PNGs carry no
    georeferencing), so the square is centred on the point itself: at most half a pixel
    (5 m) from the grid the patches were cut on.
    """
    code = utm_code(utm_zone(longitude, latitude))
    x, y = _to_utm(code).transform(longitude, latitude)
    half = PATCH_METRES / 2
    west, north = x - half, y + half
    square = shapely.box(west, y - half, x + half, north)
    geometry = to_lonlat(square, code)
    return Footprint(
        geometry=geometry,
        bbox=geojson_bbox(geometry),
        proj_code=code,
        proj_transform=[GSD, 0.0, west, 0.0, -GSD, north],
    )


def _to_utm(code: str) -> Transformer:
    return _TRANSFORMERS.get(code) or _TRANSFORMERS.setdefault(
        code, Transformer.from_crs("EPSG:4326", code, always_xy=True)
    )


_TRANSFORMERS: dict[str, Transformer] = {}
