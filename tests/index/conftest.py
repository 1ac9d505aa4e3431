"""Fixtures for the index: real catalogs as (item, href) streams, hand-made items."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pystac
import pytest

from stacforge.index.writer import IndexWriter

REALWORLD = ("pystac-test-case-1", "pystac-test-case-4", "pystac-test-case-6", "label-multidataset")

Item = dict[str, Any]


def _catalog_items(catalog: Path) -> list[tuple[Item, str]]:
    """Every item below ``catalog`` as its raw JSON and absolute path, walked by pystac."""
    root = pystac.Catalog.from_file(str(catalog))
    found = []
    for item in root.get_items(recursive=True):
        path = item.get_self_href()
        assert path is not None
        found.append((json.loads(Path(path).read_text()), os.path.abspath(path)))
    return found


def _write_index(
    directory: Path, items: list[tuple[Item, str]], *, relative: bool = True, **options: Any
) -> dict[str, Any]:
    """Indexes ``items`` into ``directory``; hrefs relative to it, as the catalog writer passes."""
    with IndexWriter(directory, **options) as writer:
        for item, path in items:
            writer.add(item, os.path.relpath(path, directory) if relative else path)
    return json.loads((directory / "manifest.json").read_text())


def _make_item(
    item_id: str,
    lon: float,
    lat: float,
    *,
    size: float = 0.01,
    datetime: str | None = "2020-01-01T00:00:00Z",
    collection: str | None = "demo",
    properties: dict[str, Any] | None = None,
    assets: dict[str, Any] | None = None,
    links: list[dict[str, Any]] | None = None,
) -> Item:
    """A small square item at (``lon``, ``lat``)."""
    ring = [
        [lon, lat],
        [lon + size, lat],
        [lon + size, lat + size],
        [lon, lat + size],
        [lon, lat],
    ]
    item: Item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [],
        "id": item_id,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [lon, lat, lon + size, lat + size],
        "properties": {"datetime": datetime, **(properties or {})},
        "links": links or [],
        "assets": assets
        if assets is not None
        else {"data": {"href": f"./{item_id}.tif", "type": "image/tiff", "roles": ["data"]}},
    }
    if collection is not None:
        item["collection"] = collection
    return item


@pytest.fixture(params=REALWORLD)
def realworld_catalog(request: pytest.FixtureRequest, realworld: Path) -> Path:
    """Each real catalog's root ``catalog.json``."""
    return realworld / request.param / "catalog.json"


@pytest.fixture
def index_of(tmp_path: Path) -> Callable[..., Path]:
    """Writes an index of (item, href) pairs into a fresh folder and returns the folder."""
    counter = iter(range(1_000_000))

    def write(items: list[tuple[Item, str]], **options: Any) -> Path:
        directory = tmp_path / f"index-{next(counter)}"
        _write_index(directory, items, **options)
        return directory

    return write


@pytest.fixture(scope="session")
def catalog_items() -> Callable[[Path], list[tuple[Item, str]]]:
    """Every item below a catalog as (raw JSON, absolute path), walked by pystac."""
    return _catalog_items


@pytest.fixture(scope="session")
def write_index() -> Callable[..., dict[str, Any]]:
    """Indexes (item, absolute path) pairs into a directory; returns the manifest."""
    return _write_index


@pytest.fixture(scope="session")
def make_item() -> Callable[..., Item]:
    """Makes a small square item: ``make_item(id, lon, lat, datetime=..., assets=...)``."""
    return _make_item
