"""Fixtures for validation: a small label catalog to break, an isolated schema cache, and a
real HTTP server on 127.0.0.1 that publishes schemas."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from stacforge.catalog.io import write_json_atomic
from stacforge.catalog.schemas import SchemaStore
from stacforge.catalog.validate import ValidationReport

LABEL = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
ML_AOI = "https://stac-extensions.github.io/ml-aoi/v0.2.0/schema.json"

Objects = dict[str, dict[str, Any]]
"""STAC objects by path relative to the catalog root."""


@pytest.fixture(autouse=True)
def schema_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user schema cache, moved into the test's own folder (and empty)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return tmp_path / "xdg-cache" / "stacforge" / "schemas"


@pytest.fixture
def objects() -> Objects:
    """A valid catalog: root catalog, a label collection, one raster label item with ml-aoi."""
    bbox = [13.0, 52.0, 13.1, 52.1]
    polygon = [[[13.0, 52.0], [13.1, 52.0], [13.1, 52.1], [13.0, 52.1], [13.0, 52.0]]]
    return {
        "catalog.json": {
            "type": "Catalog",
            "stac_version": "1.1.0",
            "id": "demo",
            "description": "A small label catalog",
            "links": [
                {"rel": "root", "href": "./catalog.json", "type": "application/json"},
                {"rel": "child", "href": "./demo_labels/collection.json"},
            ],
        },
        "demo_labels/collection.json": {
            "type": "Collection",
            "stac_version": "1.1.0",
            "stac_extensions": [LABEL, ML_AOI],
            "id": "demo_labels",
            "description": "Land cover labels",
            "license": "CC-BY-4.0",
            "extent": {
                "spatial": {"bbox": [bbox]},
                "temporal": {"interval": [["2018-06-01T00:00:00Z", "2018-06-01T00:00:00Z"]]},
            },
            "summaries": {"ml-aoi:split": ["train"], "label:type": ["raster"]},
            "links": [
                {"rel": "root", "href": "../catalog.json"},
                {"rel": "parent", "href": "../catalog.json"},
                {"rel": "item", "href": "./tile-1/tile-1.json"},
                {"rel": "license", "href": "https://creativecommons.org/licenses/by/4.0/"},
            ],
        },
        "demo_labels/tile-1/tile-1.json": {
            "type": "Feature",
            "stac_version": "1.1.0",
            "stac_extensions": [LABEL, ML_AOI],
            "id": "tile-1",
            "collection": "demo_labels",
            "geometry": {"type": "Polygon", "coordinates": polygon},
            "bbox": bbox,
            "properties": {
                "datetime": "2018-06-01T00:00:00Z",
                "label:type": "raster",
                "label:properties": None,
                "label:description": "CORINE land cover class per pixel",
                "label:tasks": ["segmentation"],
                "label:methods": ["manual"],
                "label:classes": [{"name": None, "classes": [111, 112, 211]}],
                "label:overviews": [
                    {"statistics": [{"name": "111", "value": 0.25}, {"name": "211", "value": 0.75}]}
                ],
                "ml-aoi:split": "train",
            },
            "assets": {
                "labels": {
                    "href": "./labels.tif",
                    "type": "image/tiff; application=geotiff",
                    "roles": ["labels", "labels-raster"],
                }
            },
            "links": [
                {"rel": "root", "href": "../../catalog.json"},
                {"rel": "parent", "href": "../collection.json"},
                {"rel": "collection", "href": "../collection.json"},
            ],
        },
    }


@pytest.fixture
def write_catalog(tmp_path: Path) -> Callable[[Objects], Path]:
    """Writes STAC objects under ``tmp_path/catalog`` and returns that folder."""

    def write(objects: Objects) -> Path:
        root = tmp_path / "catalog"
        for relative, obj in objects.items():
            write_json_atomic(root / relative, obj)
        return root

    return write


@pytest.fixture
def error_lines() -> Callable[[ValidationReport, Path], list[str]]:
    """A report's error lines, with file names relative to the catalog root."""

    def lines(report: ValidationReport, root: Path) -> list[str]:
        return [str(error).removeprefix(f"{root}/") for error in report.errors]

    return lines


@dataclass
class SchemaServer:
    """Publishes documents at paths on 127.0.0.1 and counts requests per path."""

    documents: dict[str, bytes] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path.lstrip("/")
        self.requests[path] = self.requests.get(path, 0) + 1
        if path not in self.documents:
            raise web.HTTPNotFound()
        return web.Response(body=self.documents[path], content_type="application/schema+json")


@pytest.fixture
def schema_server() -> Iterator[SchemaServer]:
    """A real aiohttp server on 127.0.0.1, in a thread of its own."""
    server = SchemaServer()
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/{path:.*}", server.handle)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server.port = sock.getsockname()[1]
    loop.run_until_complete(web.SockSite(runner, sock).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def store(shared: Path) -> SchemaStore:
    """A schema store with the shared schemas only: no cache, no download."""
    return SchemaStore([shared / "schemas"], cache_dir=None, allow_download=False)
