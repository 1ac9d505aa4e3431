"""Items with ``"geometry": null`` (valid STAC: no location) are indexed and searchable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas
import pytest
import rustac

from stacforge.index import open_index
from stacforge.index.reader import read_items
from stacforge.index.search import Index

Item = dict[str, Any]


@pytest.fixture
def unlocated(index_of: Callable[..., Path], make_item: Callable[..., Item]) -> tuple[Path, Item]:
    """An index of two located items and one without geometry (or bbox)."""
    lost = make_item("lost", 0, 0, properties={"gsd": 10}, datetime="2021-06-01T00:00:00Z")
    lost["geometry"] = None
    del lost["bbox"]
    items = [
        (make_item("a", 10, 10, properties={"gsd": 10}), "a.json"),
        (lost, "lost.json"),
        (make_item("b", -10, -10, properties={"gsd": 30}), "b.json"),
    ]
    return index_of(items), lost


def test_items_without_geometry_are_indexed_and_read_back(unlocated: tuple[Path, Item]) -> None:
    path, lost = unlocated
    read = {item["id"]: item for item in read_items(path)}
    assert set(read) == {"a", "b", "lost"}
    assert read["lost"]["geometry"] is None
    assert "bbox" not in read["lost"]
    assert read["lost"]["properties"] == lost["properties"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"ids": ["lost"]}, {"lost"}),
        ({"datetime": "2021-06"}, {"lost"}),
        ({"collections": ["demo"]}, {"a", "b", "lost"}),
        ({"filter": "gsd = 10"}, {"a", "lost"}),
        ({"filter": "id = 'lost'"}, {"lost"}),
        ({"sortby": "-id"}, {"a", "b", "lost"}),
        # Spatial conditions never match an item without a location.
        ({"bbox": [-180, -90, 180, 90]}, {"a", "b"}),
        ({"bbox": [170, -90, -170, 90]}, set()),
        ({"intersects": {"type": "Point", "coordinates": [0, 0]}}, set()),
        (
            {"filter": "S_INTERSECTS(geometry, POLYGON((-90 -80,90 -80,90 80,-90 80,-90 -80)))"},
            {"a", "b"},
        ),
        ({"filter": "S_DISJOINT(geometry, POINT(50 50))"}, {"a", "b"}),
        ({"filter": "geometry IS NULL"}, {"lost"}),
    ],
)
def test_only_spatial_conditions_leave_them_out(
    unlocated: tuple[Path, Item], params: dict[str, Any], expected: set[str]
) -> None:
    path, _ = unlocated
    index: Index = open_index(path)
    assert set(index.ids(**params)) == expected
    assert index.count(**params) == len(expected)


def test_the_extent_ignores_them(unlocated: tuple[Path, Item]) -> None:
    import json

    path, _ = unlocated
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["items"] == 3
    assert manifest["extent"]["spatial"]["bbox"] == [[-10.0, -10.0, 10.01, 10.01]]


def test_other_readers_see_a_null_or_empty_geometry(unlocated: tuple[Path, Item]) -> None:
    path, _ = unlocated
    frame = geopandas.read_parquet(path / "items.parquet")
    by_id = dict(zip(frame["id"], frame.geometry, strict=True))
    assert by_id["lost"] is None
    features = {f["id"]: f for f in rustac.read_sync(str(path / "items.parquet"))["features"]}
    assert set(features) == {"a", "b", "lost"}
    assert features["lost"]["geometry"]["coordinates"] == []  # rustac reads null as empty
