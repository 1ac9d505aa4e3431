"""Other readers of ``items.parquet``: stac-geoparquet (to pystac), GeoPandas and rustac."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas
import pyarrow.parquet as pq
import pystac
import pytest
import rustac
import shapely
import shapely.geometry
from stac_geoparquet.arrow import stac_table_to_items

from stacforge.index.reader import read_items

Item = dict[str, Any]


@pytest.fixture
def indexed(
    realworld_catalog: Path,
    tmp_path: Path,
    catalog_items: Callable[[Path], list[tuple[Item, str]]],
    write_index: Callable[..., dict[str, Any]],
) -> tuple[Path, dict[str, Item]]:
    """A real catalog's index, and its source items by id."""
    source = catalog_items(realworld_catalog)
    write_index(tmp_path / "index", source)
    return tmp_path / "index" / "items.parquet", {item["id"]: item for item, _ in source}


def test_stac_geoparquet_reads_items_back_into_pystac(
    indexed: tuple[Path, dict[str, Item]],
) -> None:
    path, source = indexed
    items = [pystac.Item.from_dict(d) for d in stac_table_to_items(pq.read_table(path))]
    assert sorted(item.id for item in items) == sorted(source)
    for item in items:
        original = source[item.id]
        assert item.collection_id == original.get("collection")
        assert {k: a.href for k, a in item.assets.items()} == {
            k: a["href"] for k, a in original["assets"].items()
        }
        assert shapely.equals(
            shapely.geometry.shape(item.geometry), shapely.geometry.shape(original["geometry"])
        )
        assert item.datetime == pystac.utils.str_to_datetime(original["properties"]["datetime"])


def test_geopandas_reads_footprints_and_prunes_by_bbox(
    indexed: tuple[Path, dict[str, Item]],
) -> None:
    path, source = indexed
    frame = geopandas.read_parquet(path)
    assert frame.crs.to_epsg() == 4326
    assert sorted(frame["id"]) == sorted(source)
    for item_id, geometry in zip(frame["id"], frame.geometry, strict=True):
        assert shapely.equals(geometry, shapely.geometry.shape(source[item_id]["geometry"]))
    # GeoParquet 1.1 bbox covering: GeoPandas filters rows by the bbox columns.
    west, south, east, north = frame.total_bounds
    box = (west, south, (west + east) / 2, (south + north) / 2)
    expected = {
        item_id
        for item_id, item in source.items()
        if item["bbox"][0] <= box[2]
        and item["bbox"][2] >= box[0]
        and item["bbox"][1] <= box[3]
        and item["bbox"][-1] >= box[1]
    }
    assert set(geopandas.read_parquet(path, bbox=box)["id"]) == expected


def test_rustac_reads_the_items(indexed: tuple[Path, dict[str, Item]]) -> None:
    path, source = indexed
    collection = rustac.read_sync(str(path))
    assert sorted(feature["id"] for feature in collection["features"]) == sorted(source)
    for feature in collection["features"]:
        assert feature["assets"].keys() == source[feature["id"]]["assets"].keys()


@pytest.fixture
def partly_projected(
    realworld_catalog: Path,
    tmp_path: Path,
    catalog_items: Callable[[Path], list[tuple[Item, str]]],
    write_index: Callable[..., dict[str, Any]],
) -> tuple[Path, dict[str, Item]]:
    """A real catalog's index where only every other item carries ``proj:geometry`` (in its
    properties and in the assets under a key every item has: stac-geoparquet 0.8 cannot read
    an asset ``proj:geometry`` column at all when some item lacks that asset)."""
    source = catalog_items(realworld_catalog)
    shared = set.intersection(*(set(item["assets"]) for item, _ in source))
    for number, (item, _) in enumerate(source):
        if number % 2 == 0:
            item["properties"]["proj:geometry"] = item["geometry"]
            for key in shared:
                item["assets"][key]["proj:geometry"] = item["geometry"]
    write_index(tmp_path / "index", source)
    return tmp_path / "index" / "items.parquet", {item["id"]: item for item, _ in source}


def _projected(item: Item) -> dict[str, Any]:
    """Where ``item`` has a non-empty ``proj:geometry``: properties and asset keys."""
    owners = {"properties": item["properties"], **item["assets"]}
    return {
        name: shapely.geometry.shape(owner["proj:geometry"])
        for name, owner in owners.items()
        if owner.get("proj:geometry") and owner["proj:geometry"]["coordinates"]
    }


def test_partial_projection_geometries_are_readable_by_all(
    partly_projected: tuple[Path, dict[str, Item]],
) -> None:
    """An item without ``proj:geometry`` reads back without it here, and as an empty geometry
    (RFC 7946: may be read as null) in rustac and stac-geoparquet, which cannot read nulls."""
    path, source = partly_projected
    expected = {item_id: _projected(item) for item_id, item in source.items()}
    ours = {item["id"]: item for item in read_items(path.parent)}
    rust = {f["id"]: f for f in rustac.read_sync(str(path))["features"]}
    theirs = {i["id"]: i for i in stac_table_to_items(pq.read_table(path))}
    for found in (ours, rust, theirs):
        assert set(found) == set(source)
        for item_id, item in found.items():
            projected = _projected(item)
            assert projected.keys() == expected[item_id].keys()
            for name, geometry in projected.items():
                assert shapely.equals(geometry, expected[item_id][name])
    for item_id, item in ours.items():
        if not expected[item_id]:
            assert "proj:geometry" not in item["properties"]
