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
