"""Geometry shared by builders, the catalog writer and the crawler: bounding boxes, UTM zones
and footprints reprojected to longitude/latitude."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import antimeridian
import numpy as np
import shapely
import shapely.geometry
from numpy.typing import NDArray
from pyproj import CRS, Transformer

GeometryT = TypeVar("GeometryT", shapely.Geometry, NDArray[np.object_])

# How deeply positions nest in each GeoJSON geometry's coordinates (a position is depth 0).
_POSITION_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


def geojson_bbox(geometry: Mapping[str, Any]) -> list[float]:
    """The 2D bounding box ``[west, south, east, north]`` of a GeoJSON geometry (for a
    footprint split along the antimeridian, ``west`` is greater than ``east``).

    Raises:
        ValueError: The geometry has no coordinates; KeyError or TypeError where it is
            malformed.
    """
    xs: list[float] = []
    ys: list[float] = []
    for position in _positions(geometry):
        xs.append(float(position[0]))
        ys.append(float(position[1]))
    if not xs:
        raise ValueError("no coordinates")
    west, east = min(xs), max(xs)
    if west == -180.0 and east == 180.0 and geometry["type"] == "MultiPolygon":
        # Split along the antimeridian (see to_lonlat): the box runs east across it, so that
        # west > east, as the STAC spec asks.
        west, _, east, _ = antimeridian.bbox(shapely.geometry.shape(geometry))
    return [west, min(ys), east, max(ys)]


def _positions(geometry: Mapping[str, Any]) -> Iterator[Any]:
    if geometry["type"] == "GeometryCollection":
        for part in geometry["geometries"]:
            yield from _positions(part)
        return
    yield from _flatten(geometry["coordinates"], _POSITION_DEPTH[geometry["type"]])


def _flatten(coordinates: Any, depth: int) -> Iterator[Any]:
    if depth == 0:
        yield coordinates
        return
    for part in coordinates:
        yield from _flatten(part, depth - 1)


def utm_code(zone: str) -> str:
    """The EPSG code of a WGS 84 UTM zone such as ``33N`` (``EPSG:32633``) or ``7S``."""
    number, hemisphere = int(zone[:-1]), zone[-1].upper()
    if not 1 <= number <= 60 or hemisphere not in "NS":
        raise ValueError(f"not a UTM zone: {zone!r}")
    return f"EPSG:{326 if hemisphere == 'N' else 327}{number:02d}"


def utm_zone(longitude: float, latitude: float) -> str:
    """The standard UTM zone of a point, such as ``33N`` (no Norway or Svalbard exceptions:
    the zone a reader computes from the longitude alone)."""
    number = min(int((longitude + 180.0) // 6) + 1, 60)
    return f"{number}{'N' if latitude >= 0 else 'S'}"


def to_lonlat(
    geometry: shapely.Geometry, crs: str | int | CRS, *, densify: float | None = None
) -> dict[str, Any]:
    """A footprint in ``crs`` as a GeoJSON geometry in longitude/latitude (EPSG:4326).

    Args:
        geometry: Polygon(s) in ``crs`` coordinates.
        crs: Anything :class:`pyproj.CRS` reads (``"EPSG:5070"``, ``32633``, WKT).
        densify: Insert vertices so that no edge is longer than this (in ``crs`` units) before
            reprojecting, so that straight edges stay true to the footprint once curved.

    Returns:
        The reprojected geometry; one that crosses the antimeridian is split along it into a
        MultiPolygon, as the GeoJSON spec asks.
    """
    if densify:
        geometry = shapely.segmentize(geometry, densify)
    return _fix_antimeridian(reproject_to_lonlat(geometry, crs))


def reproject_to_lonlat(geometries: GeometryT, crs: str | int | CRS) -> GeometryT:
    """Geometries in ``crs`` moved to longitude/latitude, every vertex, in one vectorised
    call: rings, holes and parts stay as they are, nothing is split at the antimeridian (see
    :func:`to_lonlat` for footprints that may cross it).

    Args:
        geometries: One shapely geometry or an array of them.
        crs: Anything :class:`pyproj.CRS` reads.
    """
    transformer = _to_lonlat(crs if isinstance(crs, str) else CRS.from_user_input(crs).to_string())

    def transform(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack((lon, lat))

    reprojected: GeometryT = shapely.transform(geometries, transform)
    return reprojected


def _to_lonlat(crs: str) -> Transformer:
    return _TRANSFORMERS.get(crs) or _TRANSFORMERS.setdefault(
        crs, Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    )


_TRANSFORMERS: dict[str, Transformer] = {}


def _fix_antimeridian(geometry: shapely.Geometry) -> dict[str, Any]:
    """``antimeridian.fix_shape`` of a longitude/latitude geometry, as GeoJSON.

    A polygon without holes that keeps clear of the antimeridian (the usual footprint) gets the
    library's result without its per-vertex Python checks (about 1.5 ms a footprint): the same
    normalised longitudes, checked for what would make the library change anything (a vertex
    near +-180, a jump across it, consecutive near-duplicates, clockwise winding), else the
    library decides.
    """
    if geometry.geom_type == "Polygon" and not geometry.interiors and not geometry.has_z:
        coords = shapely.get_coordinates(geometry)
        lon = coords[:, 0]
        if (
            len(coords) >= 4
            and np.isfinite(coords).all()
            and (np.abs(lon) < 179.0).all()
            and (np.abs(np.diff(lon)) <= 180.0).all()
            and not (np.abs(np.diff(coords, axis=0)) <= 1e-8).all(axis=1).any()
        ):
            # The library's normalisation, which may move a longitude by an ulp.
            polygon = shapely.Polygon(
                np.column_stack((((lon + 180.0) % 360.0) - 180.0, coords[:, 1]))
            )
            if shapely.is_ccw(polygon.exterior):
                return dict(shapely.geometry.mapping(polygon))
    return dict(antimeridian.fix_shape(shapely.geometry.mapping(geometry)))
