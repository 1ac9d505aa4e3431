"""``to_lonlat``'s shortcut past the antimeridian library gives the library's result, to the bit."""

from __future__ import annotations

import json

import antimeridian
import numpy as np
import pytest
import shapely
import shapely.geometry
import shapely.ops
from pyproj import Transformer

from stacforge.geometry import _fix_antimeridian, to_lonlat


def _library(geometry: shapely.Geometry) -> str:
    return json.dumps(antimeridian.fix_shape(shapely.geometry.mapping(geometry)))


@pytest.mark.parametrize(
    ("crs", "west", "south", "size"),
    [
        ("EPSG:5070", -118335.0, 2635005.0, 6720.0),  # a CONUS chip
        ("EPSG:5070", 2200000.0, 300000.0, 50000.0),
        ("EPSG:32633", 380000.0, 5800000.0, 600.0),
        ("EPSG:32601", 166000.0, 7000000.0, 40000.0),  # near the antimeridian: the library
        ("EPSG:32760", 800000.0, 5000000.0, 300000.0),  # across it: the library splits it
        ("EPSG:3031", -50000.0, -50000.0, 100000.0),  # around the south pole
    ],
)
def test_footprints_are_what_the_antimeridian_library_makes(
    crs: str, west: float, south: float, size: float
) -> None:
    box = shapely.box(west, south, west + size, south + size)
    transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    for densify in (None, size / 7, size / 100):
        projected = shapely.ops.transform(
            transformer.transform, shapely.segmentize(box, densify) if densify else box
        )
        assert json.dumps(to_lonlat(box, crs, densify=densify)) == _library(projected)


def test_random_polygons_match_the_library() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        lon, lat = rng.uniform(-200, 200), rng.uniform(-85, 85)
        ring = shapely.Polygon(
            np.column_stack((lon + rng.uniform(0, 3, 9), lat + rng.uniform(0, 3, 9)))
        ).convex_hull
        for shape in (ring, ring.reverse()):
            if shape.geom_type != "Polygon":
                continue
            if not shapely.is_ccw(shape.exterior):
                with pytest.warns(antimeridian.FixWindingWarning):
                    _fix_antimeridian(shape)
                continue
            assert json.dumps(_fix_antimeridian(shape)) == _library(shape)
