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
    to_utm, from_utm = _transformers(code)
    x, y = to_utm.transform(longitude, latitude)
    half = PATCH_METRES / 2
    west, south, east, north = x - half, y - half, x + half, y + half
    # Counter-clockwise, as GeoJSON asks (UTM is conformal: the orientation is kept).
    xs, ys = [west, east, east, west, west], [south, south, north, north, south]
    longitudes, latitudes = from_utm.transform(xs, ys)
    if max(longitudes) - min(longitudes) < _NEAR_ANTIMERIDIAN:
        ring = [[lon, lat] for lon, lat in zip(longitudes, latitudes, strict=True)]
        geometry: dict[str, Any] = {"type": "Polygon", "coordinates": [ring]}
    else:
        # Longitudes wrapped at +-180: the square crosses the antimeridian, and to_lonlat
        # splits it there (its general path costs ~1 ms, so it is kept for these squares).
        geometry = to_lonlat(shapely.box(west, south, east, north), code)
    return Footprint(
        geometry=geometry,
        bbox=geojson_bbox(geometry),
        proj_code=code,
        proj_transform=[GSD, 0.0, west, 0.0, -GSD, north],
    )


def _transformers(code: str) -> tuple[Transformer, Transformer]:
    """To and from the UTM zone ``code``, made once per zone and process."""
    found = _TRANSFORMERS.get(code)
    if found is None:
        found = _TRANSFORMERS[code] = (
            Transformer.from_crs("EPSG:4326", code, always_xy=True),
            Transformer.from_crs(code, "EPSG:4326", always_xy=True),
        )
    return found


_TRANSFORMERS: dict[str, tuple[Transformer, Transformer]] = {}
_NEAR_ANTIMERIDIAN = 180.0
"""A 640 m square spans far less than 180 degrees of longitude unless it is wrapped."""
