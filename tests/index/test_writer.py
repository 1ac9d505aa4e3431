"""IndexWriter: stac-geoparquet items, derived tables, sort order, spills, atomic output."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pystac
import pytest
import shapely
import shapely.geometry

from stacforge.errors import InputError, StacforgeError
from stacforge.index.hilbert import hilbert_keys
from stacforge.index.label_order import ROW_GROUP_ROWS, LabelsByClass
from stacforge.index.layout import LABELS_SCHEMA
from stacforge.index.manifest import FORMAT, Manifest, read_manifest
from stacforge.index.reader import read_items
from stacforge.index.writer import IndexWriter

Item = dict[str, Any]
CatalogItems = Callable[[Path], list[tuple[Item, str]]]
WriteIndex = Callable[..., dict[str, Any]]
MakeItem = Callable[..., Item]

TIMESTAMPS = ("datetime", "start_datetime", "end_datetime", "created", "updated")


def comparable(item: Item, self_href: str) -> Item:
    """``item`` as the index gives it back: a ``self`` link, 2D float bbox, parsed times."""
    links = [dict(link) for link in item.get("links", []) if link["rel"] != "self"]
    links.append({"rel": "self", "href": self_href, "type": "application/geo+json"})
    properties = dict(item["properties"])
    for name in TIMESTAMPS:
        if properties.get(name):
            properties[name] = pystac.utils.str_to_datetime(properties[name])
    bbox = item["bbox"]
    return {
        "id": item["id"],
        "collection": item.get("collection"),
        "bbox": [float(v) for v in (bbox if len(bbox) == 4 else bbox[:2] + bbox[3:5])],
        "properties": properties,
        "links": links,
        "assets": item.get("assets", {}),
        "stac_extensions": item.get("stac_extensions", []),
    }


def assert_same_items(read: list[Item], source: list[tuple[Item, str]]) -> None:
    by_href = {href: item for item, href in source}
    assert len(read) == len(source)
    for item in read:
        self_href = next(link["href"] for link in item["links"] if link["rel"] == "self")
        original = by_href[self_href]
        assert comparable(item, self_href) == comparable(original, self_href)
        assert shapely.equals(
            shapely.geometry.shape(item["geometry"]), shapely.geometry.shape(original["geometry"])
        )


def test_items_round_trip_from_real_catalogs(
    realworld_catalog: Path, tmp_path: Path, catalog_items: CatalogItems, write_index: WriteIndex
) -> None:
    source = catalog_items(realworld_catalog)
    manifest = write_index(tmp_path / "index", source)
    assert manifest["items"] == len(source)
    assert_same_items(list(read_items(tmp_path / "index")), source)


def test_spilled_runs_give_the_same_files(
    rapidai4eo_catalog: Path, tmp_path: Path, catalog_items: CatalogItems, write_index: WriteIndex
) -> None:
    source = catalog_items(rapidai4eo_catalog)
    write_index(tmp_path / "memory", source)
    write_index(tmp_path / "spilled", source, memory_limit=1 << 20, row_group_bytes=1 << 20)
    for name in ("items", "search", "assets", "labels"):
        in_memory = pq.read_table(tmp_path / "memory" / f"{name}.parquet")
        spilled = pq.read_table(tmp_path / "spilled" / f"{name}.parquet")
        assert spilled.equals(in_memory), name
    groups = pq.ParquetFile(tmp_path / "spilled" / "items.parquet").metadata.num_row_groups
    assert groups > 1
    assert_same_items(list(read_items(tmp_path / "spilled")), source)


@pytest.mark.parametrize("arrival", ["random", "along the curve", "against the curve"])
def test_many_runs_merge_in_passes_to_the_same_files(
    tmp_path: Path, write_index: WriteIndex, make_item: MakeItem, arrival: str
) -> None:
    """A small ``memory_limit`` makes more runs than one merge takes: they are merged in
    passes. Items that arrive in curve order are gathered as slices rather than copied; columns
    that only later items have are added to the rows of earlier runs."""
    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(-20, 20, 2600), rng.uniform(-10, 10, 2600)
    items = [
        (
            make_item(
                f"p{i}",
                lon[i],
                lat[i],
                properties={"late": i} if i >= 2400 else {},
                assets={
                    f"a{i % 3}": {"href": f"{i}.tif"},
                    **({"b": {"title": "B"}} if i >= 2500 else {}),
                },
            ),
            f"p{i}.json",
        )
        for i in range(2600)
    ]
    order = np.argsort(hilbert_keys(lon + 0.005, lat + 0.005), kind="stable")
    if arrival != "random":
        items = [items[i] for i in (order if arrival == "along the curve" else order[::-1])]
    write_index(tmp_path / "memory", items, relative=False, row_group_bytes=1)
    write_index(tmp_path / "spilled", items, relative=False, row_group_bytes=1, memory_limit=50_000)
    for name in ("items", "search", "assets", "labels"):
        in_memory = pq.read_table(tmp_path / "memory" / f"{name}.parquet")
        spilled = pq.read_table(tmp_path / "spilled" / f"{name}.parquet")
        assert spilled.equals(in_memory), name
    assert not (tmp_path / "spilled" / ".runs").exists()
    read = {item["id"]: item for item in read_items(tmp_path / "spilled")}
    assert read["p2550"]["properties"]["late"] == 2550
    assert set(read["p2550"]["assets"]) == {"a0", "b"}
    assert set(read["p10"]["assets"]) == {"a1"}


def test_assets_come_in_row_groups_of_65536_rows_and_labels_sorted_by_class(
    tmp_path: Path, write_index: WriteIndex, make_item: MakeItem
) -> None:
    assets = {f"k{k:03d}": {"href": f"{k}.tif"} for k in range(300)}
    overviews = [
        {"property_key": "c", "counts": [{"name": f"c{c}", "count": 1} for c in range(300)]}
    ]
    items = [
        (
            make_item(
                f"i{i}", i / 100, 0, assets=assets, properties={"label:overviews": overviews}
            ),
            f"i{i}.json",
        )
        for i in range(500)
    ]
    write_index(tmp_path / "index", items, relative=False, row_group_bytes=1)
    metadata = pq.ParquetFile(tmp_path / "index" / "assets.parquet").metadata
    sizes = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
    assert sizes == [65_536, 65_536, 150_000 - 2 * 65_536]
    rows = pq.read_table(tmp_path / "index" / "assets.parquet", columns=["row", "key"])
    assert rows["row"].to_pylist() == [row for row in range(500) for _ in range(300)]
    assert rows["key"].to_pylist() == [key for _ in range(500) for key in assets]
    # Labels by class name (c0, c1, c10, c100, ...), then row, in groups of ROW_GROUP_ROWS.
    labels = pq.ParquetFile(tmp_path / "index" / "labels.parquet")
    sizes = [labels.metadata.row_group(g).num_rows for g in range(labels.metadata.num_row_groups)]
    assert sizes == [ROW_GROUP_ROWS] * 9 + [150_000 - 9 * ROW_GROUP_ROWS]
    rows = labels.read(columns=["name", "row"])
    assert list(zip(rows["name"].to_pylist(), rows["row"].to_pylist(), strict=True)) == sorted(
        (f"c{c}", row) for c in range(300) for row in range(500)
    )
    # The sorts by class spill with a small memory limit, and write the same file.
    write_index(
        tmp_path / "spilled", items, relative=False, row_group_bytes=1, memory_limit=1 << 20
    )
    spilled = pq.read_table(tmp_path / "spilled" / "labels.parquet")
    assert spilled.equals(labels.read())


def test_labels_by_class_spill_both_sorts_over_the_memory_limit(tmp_path: Path) -> None:
    """Rows arrive in item order; with a tiny memory limit both sorts spill runs (and merge
    them in passes), and the file is the same as one sorted in memory."""
    rng = np.random.default_rng(3)
    names = [f"class {c}" for c in rng.permutation(60)]
    rows = np.repeat(np.arange(3000), 5)
    labels = pa.table(
        {
            "row": rows,
            "id": [f"i{row}" for row in rows],
            "property_key": pa.nulls(len(rows), pa.string()),
            "name": [names[c] for c in rng.integers(0, 60, len(rows))],
            "count": rng.integers(0, 100, len(rows)),
            "value": pa.nulls(len(rows), pa.float64()),
            "share": rng.uniform(0, 1, len(rows)),
        },
        schema=LABELS_SCHEMA,
    )
    written = {}
    for limit in (1 << 30, 20_000):
        folder = tmp_path / str(limit)
        by_class = LabelsByClass(folder / "runs", limit)
        for start in range(0, labels.num_rows, 1000):
            by_class.add(labels.slice(start, 1000))
        by_class.write(folder / "labels.parquet")
        written[limit] = pq.read_table(folder / "labels.parquet")
        runs = {path.parent.name for path in (folder / "runs").rglob("*.arrow")}
        assert runs == (set() if limit == 1 << 30 else {"by-item", "by-class"})
    assert written[20_000].equals(written[1 << 30])
    order = pc.sort_indices(labels, [("name", "ascending"), ("row", "ascending")])
    assert written[20_000].equals(labels.take(order))


def test_rows_follow_the_hilbert_curve_in_compact_row_groups(
    tmp_path: Path, write_index: WriteIndex, make_item: MakeItem
) -> None:
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-170, 170, 3000), rng.uniform(-80, 80, 3000)
    items = [(make_item(f"p{i}", lon[i], lat[i]), f"p{i}.json") for i in range(3000)]
    write_index(tmp_path / "index", items, relative=False, row_group_bytes=1)
    search = pq.read_table(tmp_path / "index" / "search.parquet")
    bbox = search["bbox"].combine_chunks()
    centre_x = (bbox.field("xmin").to_numpy() + bbox.field("xmax").to_numpy()) / 2
    centre_y = (bbox.field("ymin").to_numpy() + bbox.field("ymax").to_numpy()) / 2
    assert np.all(np.diff(hilbert_keys(centre_x, centre_y).astype(np.int64)) >= 0)
    # Row groups of 128 rows along the curve each cover a small part of the area (in random
    # order each would span nearly all of it, 24 times the area in sum).
    metadata = pq.ParquetFile(tmp_path / "index" / "search.parquet").metadata
    assert metadata.num_row_groups == 24
    columns = {metadata.schema.column(i).path: i for i in range(metadata.num_columns)}
    areas = []
    for group in range(metadata.num_row_groups):
        stats = {
            name: metadata.row_group(group).column(columns[f"bbox.{name}"]).statistics
            for name in ("xmin", "ymin", "xmax", "ymax")
        }
        width = stats["xmax"].max - stats["xmin"].min
        height = stats["ymax"].max - stats["ymin"].min
        areas.append(width * height)
    assert sum(areas) < 2 * 340 * 160


def test_derived_tables_of_a_label_catalog(
    realworld: Path, tmp_path: Path, catalog_items: CatalogItems, write_index: WriteIndex
) -> None:
    source = catalog_items(realworld / "pystac-test-case-4" / "catalog.json")
    manifest = write_index(tmp_path / "index", source)
    expected = sorted(
        (item["id"], overview.get("property_key"), count["name"], count["count"])
        for item, _ in source
        for overview in item["properties"].get("label:overviews", [])
        for count in overview.get("counts", [])
    )
    labels = pq.read_table(tmp_path / "index" / "labels.parquet").to_pylist()
    assert sorted((r["id"], r["property_key"], r["name"], r["count"]) for r in labels) == expected
    assert all(r["value"] is None for r in labels)
    assert manifest["label_rows"] == len(expected)
    assert manifest["label_classes"] == {"yes": len(expected)}
    search = pq.read_table(tmp_path / "index" / "search.parquet")
    assert all(search["id"][row["row"]].as_py() == row["id"] for row in labels)
    assets = pq.read_table(tmp_path / "index" / "assets.parquet")
    assert assets.num_rows == manifest["assets"] == sum(len(i["assets"]) for i, _ in source)


def test_manifest_counts_and_extents(
    realworld: Path, tmp_path: Path, catalog_items: CatalogItems, write_index: WriteIndex
) -> None:
    source = catalog_items(realworld / "pystac-test-case-4" / "catalog.json")
    manifest = write_index(tmp_path / "index", source, source="test-case-4")
    assert manifest["source"] == "test-case-4"
    assert manifest["stacforge_version"]
    per_collection: dict[str, list[Item]] = {}
    for item, _ in source:
        per_collection.setdefault(item["collection"], []).append(item)
    assert {cid: c["items"] for cid, c in manifest["collections"].items()} == {
        cid: len(items) for cid, items in per_collection.items()
    }
    for cid, items in per_collection.items():
        bounds = shapely.total_bounds([shapely.geometry.shape(i["geometry"]) for i in items])
        assert manifest["collections"][cid]["extent"]["spatial"]["bbox"] == [list(bounds)]
        times = sorted(i["properties"]["datetime"] for i in items)
        assert manifest["collections"][cid]["extent"]["temporal"]["interval"] == [
            [times[0], times[-1]]
        ]


def test_assets_take_their_item_time_when_they_have_none(
    tmp_path: Path, write_index: WriteIndex, make_item: MakeItem
) -> None:
    timed = {"href": "a.tif", "datetime": "2021-03-01T10:00:00Z", "roles": ["data"]}
    ranged = {
        "href": "b.tif",
        "start_datetime": "2021-01-01T00:00:00Z",
        "end_datetime": "2021-06-30T00:00:00Z",
    }
    plain = {"href": "c.tif"}
    item = make_item(
        "x",
        10,
        50,
        datetime=None,
        properties={
            "start_datetime": "2020-01-01T00:00:00Z",
            "end_datetime": "2022-01-01T00:00:00Z",
        },
        assets={"timed": timed, "ranged": ranged, "plain": plain},
    )
    write_index(tmp_path / "index", [(item, "x.json")], relative=False)
    rows = {
        r["key"]: (r["start"].isoformat(), r["end"].isoformat())
        for r in pq.read_table(tmp_path / "index" / "assets.parquet").to_pylist()
    }
    assert rows == {
        "timed": ("2021-03-01T10:00:00+00:00", "2021-03-01T10:00:00+00:00"),
        "ranged": ("2021-01-01T00:00:00+00:00", "2021-06-30T00:00:00+00:00"),
        "plain": ("2020-01-01T00:00:00+00:00", "2022-01-01T00:00:00+00:00"),
    }


def test_heterogeneous_items_come_back_without_foreign_fields(
    tmp_path: Path, write_index: WriteIndex, make_item: MakeItem
) -> None:
    raster_labels = make_item(
        "labels",
        1,
        1,
        properties={"label:type": "raster", "label:properties": None, "label:classes": []},
        assets={"labels": {"href": "l.tif", "roles": ["labels"]}},
    )
    imagery = make_item(
        "image",
        2,
        2,
        properties={"gsd": 10},
        assets={"b1": {"href": "b1.tif", "title": "Band 1"}},
    )
    write_index(
        tmp_path / "index", [(raster_labels, "l.json"), (imagery, "i.json")], relative=False
    )
    read = {item["id"]: item for item in read_items(tmp_path / "index")}
    assert read["labels"]["properties"] == raster_labels["properties"]
    assert read["image"]["properties"] == {"datetime": "2020-01-01T00:00:00Z", "gsd": 10}
    assert read["image"]["assets"] == imagery["assets"]
    assert read["labels"]["assets"] == raster_labels["assets"]


def test_item_without_bbox_gets_one_from_its_geometry(
    tmp_path: Path, write_index: WriteIndex, make_item: MakeItem
) -> None:
    item = make_item("x", 5, 6, size=1)
    del item["bbox"]
    write_index(tmp_path / "index", [(item, "x.json")], relative=False)
    (read,) = read_items(tmp_path / "index")
    assert read["bbox"] == [5.0, 6.0, 6.0, 7.0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda item: item.pop("id"), "item has no id"),
        (lambda item: item.update(geometry={"type": "Polygon"}), "no readable geometry"),
        (lambda item: item["properties"].update(datetime="yesterday"), "cannot index item"),
        (lambda item: item["assets"]["data"].update(datetime="soon"), "is not an RFC 3339"),
    ],
)
def test_bad_items_are_reported_with_file_and_id(
    tmp_path: Path, change: Any, message: str, make_item: MakeItem
) -> None:
    good = [(make_item(f"ok{i}", i, i), f"/cat/ok{i}.json") for i in range(5)]
    bad = make_item("bad", 9, 9)
    change(bad)
    with (
        pytest.raises(InputError, match=message) as raised,
        IndexWriter(tmp_path / "index") as writer,
    ):
        for item, href in [*good, (bad, "/cat/bad.json")]:
            writer.add(item, href)
    assert raised.value.path == "/cat/bad.json"
    assert not (tmp_path / "index").exists()
    assert list(tmp_path.iterdir()) == []


def test_an_exception_leaves_nothing_behind(tmp_path: Path, make_item: MakeItem) -> None:
    with pytest.raises(RuntimeError), IndexWriter(tmp_path / "index", memory_limit=1) as writer:
        for i in range(300):
            writer.add(make_item(f"i{i}", i / 10, 0), f"i{i}.json")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_existing_index_needs_overwrite(
    tmp_path: Path, write_index: WriteIndex, make_item: MakeItem
) -> None:
    items = [(make_item("a", 0, 0), "a.json")]
    write_index(tmp_path / "index", items, relative=False)
    with pytest.raises(StacforgeError, match="already exists"):
        IndexWriter(tmp_path / "index")
    write_index(tmp_path / "index", [(make_item("b", 0, 0), "b.json")], overwrite=True)
    assert [item["id"] for item in read_items(tmp_path / "index")] == ["b"]


def test_the_manifest_is_typed_and_reads_back_as_written(
    tmp_path: Path, make_item: MakeItem
) -> None:
    items = [
        make_item(
            f"i{i}",
            i,
            0,
            collection="a" if i % 2 else "b",
            assets={"data": {"href": f"./{i}.tif", "roles": ["data"]}},
            properties={"label:overviews": [{"counts": [{"name": "corn", "count": i}]}]},
        )
        for i in range(5)
    ]
    with IndexWriter(tmp_path / "index", source="catalog.json") as writer:
        for item in items:
            writer.add(item, f"{item['id']}.json")
        manifest = writer.close()
    assert isinstance(manifest, Manifest)
    assert (manifest.items, manifest.assets, manifest.label_rows) == (5, 5, 5)
    assert {cid: c.items for cid, c in manifest.collections.items()} == {"a": 2, "b": 3}
    assert manifest.extent.bbox == (0.0, 0.0, 4.01, 0.01)
    assert manifest.label_classes == {"corn": 5}
    assert manifest.asset_keys is not None and manifest.asset_keys["data"].roles == ("data",)
    assert read_manifest(tmp_path / "index") == manifest
    written = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert written == manifest.to_json()
    assert written["format"] == FORMAT


def test_a_batch_rejected_whole_after_adding_fields(tmp_path: Path, make_item: MakeItem) -> None:
    """The last batch's items all fail on asset times after their new field joined the
    schema: the rows kept are still written with every column of that schema."""
    good = [make_item(f"g{i}", i / 10, 0) for i in range(128)]
    bad = [
        make_item(
            f"b{i}",
            i / 10,
            1,
            properties={"extra": "x"},
            assets={"data": {"href": "./x.tif", "datetime": "not a time"}},
        )
        for i in range(3)
    ]
    rejected: list[InputError] = []
    with IndexWriter(tmp_path / "index", on_invalid=rejected.append) as writer:
        for item in [*good, *bad]:
            writer.add(item, f"{item['id']}.json")
    assert len(rejected) == 3
    assert {item["id"] for item in read_items(tmp_path / "index")} == {i["id"] for i in good}


def test_empty_index(tmp_path: Path) -> None:
    with IndexWriter(tmp_path / "index"):
        pass
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["items"] == 0
    assert list(read_items(tmp_path / "index")) == []


def test_read_items_from_an_open_file_not_from_a_url(
    realworld: Path,
    tmp_path: Path,
    catalog_items: CatalogItems,
    write_index: WriteIndex,
) -> None:
    """Fetching is the crawler's job: read_items takes the body it fetched, never a URL."""
    source = catalog_items(realworld / "pystac-test-case-1" / "catalog.json")
    write_index(tmp_path / "site" / "index", source)
    url = "http://127.0.0.1:9/index/items.parquet"
    with pytest.raises(InputError, match="remote file: crawl it"):
        list(read_items(url))
    body = (tmp_path / "site" / "index" / "items.parquet").read_bytes()
    from_file = list(read_items(io.BytesIO(body), base=url))
    assert sorted(i["id"] for i in from_file) == sorted(i["id"] for i, _ in source)
    for item in from_file:
        self_href = next(link["href"] for link in item["links"] if link["rel"] == "self")
        assert self_href.startswith("http://127.0.0.1:9/")
        assert self_href.endswith(f"/{item['id']}.json")


def test_unreadable_sources_are_input_errors(tmp_path: Path) -> None:
    (tmp_path / "items.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        list(read_items(tmp_path))


def test_a_rejected_item_costs_only_itself(tmp_path: Path, make_item: MakeItem) -> None:
    """With ``on_invalid`` (as a crawl uses it) bad items are reported and left out."""
    items = [make_item(f"i{i:03d}", i / 10, 0, properties={"x": "text"}) for i in range(400)]
    items[20]["geometry"] = {"type": "Polygon"}  # caught as it is added
    items[50]["properties"]["datetime"] = "not a time"  # fails its batch's conversion
    items[60]["properties"]["x"] = 5  # clashes with its batch
    items[300]["properties"]["x"] = [1, 2]  # clashes with earlier batches
    items[390]["assets"]["data"]["datetime"] = "2020-13-45"  # in the batch converted at close
    rejected: list[InputError] = []
    with IndexWriter(tmp_path / "index", on_invalid=rejected.append) as writer:
        for item in items:
            writer.add(item, f"{item['id']}.json")
    assert [error.path for error in rejected] == [
        "i020.json",
        "i050.json",
        "i060.json",
        "i300.json",
        "i390.json",
    ]
    assert "no readable geometry" in rejected[0].message
    assert "type differs" in rejected[2].message
    assert "'2020-13-45' is not an RFC 3339 timestamp" in rejected[4].message
    ids = {item["id"] for item in read_items(tmp_path / "index")}
    assert ids == {item["id"] for item in items} - {"i020", "i050", "i060", "i300", "i390"}
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["rejected_items"] == 5


def test_empty_objects_nested_in_fields_do_not_fail_the_index(tmp_path: Path) -> None:
    # Parquet cannot store a struct without fields: "statistics": {} in a band once failed
    # the whole index when it was written.
    with IndexWriter(tmp_path / "index") as writer:
        for i, extra in enumerate([{"a": {"x": {}}}, {"b": [{"statistics": {}}]}, {"d": 1}]):
            item = {
                "type": "Feature",
                "stac_version": "1.1.0",
                "id": f"i{i}",
                "geometry": {"type": "Point", "coordinates": [0.0, 0.0]},
                "properties": {"datetime": "2020-01-01T00:00:00Z", **extra},
                "links": [],
                "assets": {"x": {"href": "a.tif", "raster:bands": [{"statistics": {}}]}},
            }
            writer.add(item, f"i{i}.json")
    assert sorted(item["id"] for item in read_items(tmp_path / "index")) == ["i0", "i1", "i2"]
