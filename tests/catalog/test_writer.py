"""The streaming catalog writer: layout, links, extents, summaries, item_assets, atomic output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pystac
import pytest

from stacforge.catalog.io import atomic_directory, write_json_atomic
from stacforge.catalog.layout import item_path, relative_href
from stacforge.catalog.model import CatalogSpec, CollectionSpec, PlacedItem
from stacforge.catalog.writer import CatalogWriter
from stacforge.errors import StacforgeError
from stacforge.geometry import geojson_bbox

CATALOG = CatalogSpec(id="demo", title="Demo", description="A demo catalog.")
SPEC = CollectionSpec(
    id="demo_source",
    title="Demo source",
    description="Demo source imagery.",
    license="CC-BY-4.0",
    summary_fields=("platform", "gsd"),
    summaries={"constellation": ["demo"]},
    links=({"rel": "cite-as", "href": "https://doi.org/10.0000/demo"},),
)


def make_item(i: int, *, day: int = 1, platform: str = "sat-a") -> dict[str, Any]:
    x, y = float(i), float(i) / 2
    return {
        "type": "Feature",
        "id": f"item-{i}",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]],
        },
        "properties": {
            "datetime": f"2020-01-{day:02d}T00:00:00Z",
            "platform": platform,
            "gsd": 10 + i,
        },
        "assets": {
            "image": {
                "href": f"https://example.com/{i}.tif",
                "type": "image/tiff",
                "roles": ["data"],
                "title": f"tile {i}",
            },
        },
    }


def write(
    root: Path, placed: list[PlacedItem], specs: tuple[CollectionSpec, ...] = (SPEC,)
) -> Path:
    writer = CatalogWriter(root, CATALOG, specs)
    for p in placed:
        writer.add(p)
    writer.close()
    return root / "catalog.json"


def test_layout_and_links_resolve_with_pystac(tmp_path: Path) -> None:
    placed = [
        PlacedItem("demo_source", ("a", "b") if i % 2 else ("c",), make_item(i)) for i in range(6)
    ]
    catalog = pystac.Catalog.from_file(str(write(tmp_path, placed)))

    items = list(catalog.get_items(recursive=True))
    assert sorted(item.id for item in items) == [f"item-{i}" for i in range(6)]
    for item in items:
        assert item.collection_id == "demo_source"
        collection = item.get_collection()
        assert collection is not None and collection.id == "demo_source"
    assert (tmp_path / item_path("demo_source", ("a", "b"), "item-1")).is_file()
    sub = json.loads((tmp_path / "demo_source/a/b/collection.json").read_text())
    assert sub["id"] == "demo_source_a_b"
    assert [(link["rel"], link["href"]) for link in sub["links"]][:2] == [
        ("root", "../../../catalog.json"),
        ("parent", "../collection.json"),
    ]
    root = json.loads((tmp_path / "catalog.json").read_text())
    assert not any(link["rel"] == "self" for link in root["links"])  # self-contained


def test_extents_summaries_and_item_assets_accumulate(tmp_path: Path) -> None:
    placed = [
        PlacedItem("demo_source", ("p",), make_item(0, day=3, platform="sat-a")),
        PlacedItem("demo_source", ("p",), make_item(4, day=9, platform="sat-b")),
    ]
    write(tmp_path, placed)
    top = json.loads((tmp_path / "demo_source/collection.json").read_text())

    assert top["extent"]["spatial"]["bbox"] == [[0.0, 0.0, 5.0, 3.0]]
    assert top["extent"]["temporal"]["interval"] == [
        ["2020-01-03T00:00:00Z", "2020-01-09T00:00:00Z"]
    ]
    assert top["summaries"] == {
        "constellation": ["demo"],
        "platform": ["sat-a", "sat-b"],
        "gsd": {"minimum": 10, "maximum": 14},
    }
    # The title differs between items, so item_assets keeps only the shared fields.
    assert top["item_assets"] == {"image": {"type": "image/tiff", "roles": ["data"]}}
    assert {"rel": "cite-as", "href": "https://doi.org/10.0000/demo"} in top["links"]
    sub = json.loads((tmp_path / "demo_source/p/collection.json").read_text())
    assert [link["href"] for link in sub["links"] if link["rel"] == "item"] == [
        "./item-0/item-0.json",
        "./item-4/item-4.json",
    ]


def test_root_href_adds_absolute_self_on_root_only(tmp_path: Path) -> None:
    writer = CatalogWriter(tmp_path, CATALOG, (SPEC,), root_href="https://example.com/demo/")
    writer.add(PlacedItem("demo_source", (), make_item(1)))
    writer.close()
    root = json.loads((tmp_path / "catalog.json").read_text())
    assert {
        "rel": "self",
        "href": "https://example.com/demo/catalog.json",
        "type": "application/json",
    } in root["links"]
    item = json.loads((tmp_path / item_path("demo_source", (), "item-1")).read_text())
    assert all(not link["href"].startswith("http") for link in item["links"])


def test_duplicate_item_id_and_unknown_collection_fail(tmp_path: Path) -> None:
    writer = CatalogWriter(tmp_path, CATALOG, (SPEC,))
    writer.add(PlacedItem("demo_source", (), make_item(1)))
    with pytest.raises(StacforgeError, match="duplicate item id 'item-1'"):
        writer.add(PlacedItem("demo_source", (), make_item(1)))
    with pytest.raises(StacforgeError, match="unknown collection 'nope'"):
        writer.add(PlacedItem("nope", (), make_item(2)))


def test_collection_with_too_many_links_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stacforge.catalog.writer.MAX_LINKS", 2)
    writer = CatalogWriter(tmp_path, CATALOG, (SPEC,))
    for i in range(3):
        writer.add(PlacedItem("demo_source", (), make_item(i)))
    assert "lists 3 children and items" in writer.close().warnings[0]


def test_atomic_directory_keeps_old_output_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(StacforgeError, match="already exists"), atomic_directory(out):
        pass
    with pytest.raises(RuntimeError), atomic_directory(out, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("build failed")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (out / "old.txt").read_text() == "old"
    with atomic_directory(out, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in out.iterdir()] == ["new.txt"]


def test_relative_href_and_geojson_bbox() -> None:
    assert relative_href("a/b/x.json", "catalog.json") == "../../catalog.json"
    assert relative_href("a/x.json", "a/y/z.json") == "./y/z.json"
    multi = {"type": "MultiPoint", "coordinates": [[1, 5], [-2, 3]]}
    assert geojson_bbox(multi) == [-2, 3, 1, 5]
    nested = {
        "type": "GeometryCollection",
        "geometries": [multi, {"type": "Point", "coordinates": [4, 0]}],
    }
    assert geojson_bbox(nested) == [-2, 0, 4, 5]


class RecordingSink:
    """An item sink that records what the writer hands it."""

    def __init__(self, log: list[tuple[str, ...]], collection: str) -> None:
        self.log, self.collection = log, collection

    def add(self, item: dict[str, Any], path: str, data: bytes) -> None:
        assert json.loads(data) == item  # the JSON written for the item
        self.log.append(("add", self.collection, item["id"], path))

    def close(self) -> None:
        self.log.append(("close", self.collection))

    def abort(self, error: BaseException) -> None:
        self.log.append(("abort", self.collection, str(error)))


def test_sinks_see_every_finished_item_and_close_first(tmp_path: Path) -> None:
    log: list[tuple[str, ...]] = []
    with CatalogWriter(
        tmp_path, CATALOG, (SPEC,), sinks=lambda c: RecordingSink(log, c), reserved=("index",)
    ) as writer:
        for i in range(2):
            # A file beside the item does not replace the item's JSON the sink is handed.
            writer.add(PlacedItem("demo_source", ("p",), make_item(i), {"labels.geojson": b"{}"}))
        (tmp_path / "demo_source" / "index").mkdir()  # where a sink writes: not an item
        writer.close()
    assert log == [
        ("add", "demo_source", "item-0", "demo_source/p/item-0/item-0.json"),
        ("add", "demo_source", "item-1", "demo_source/p/item-1/item-1.json"),
        ("close", "demo_source"),
    ]
    top = json.loads((tmp_path / "demo_source/collection.json").read_text())
    assert [link["rel"] for link in top["links"]].count("item") == 0


def test_sinks_are_aborted_when_the_write_fails(tmp_path: Path) -> None:
    log: list[tuple[str, ...]] = []
    with (
        pytest.raises(StacforgeError, match="reserved"),
        CatalogWriter(
            tmp_path, CATALOG, (SPEC,), sinks=lambda c: RecordingSink(log, c), reserved=("index",)
        ) as writer,
    ):
        writer.add(PlacedItem("demo_source", (), make_item(1)))
        writer.add(PlacedItem("demo_source", (), {**make_item(2), "id": "index"}))
    assert log[-1][0] == "abort"


def test_atomic_writes_are_world_readable(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "a" / "x.json", {"a": 1})
    assert (tmp_path / "a" / "x.json").stat().st_mode & 0o777 == 0o644
    assert json.loads((tmp_path / "a" / "x.json").read_text()) == {"a": 1}
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.json"]
