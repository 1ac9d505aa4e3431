"""Search semantics against a ground truth computed straight from the source items.

The synthetic index has small row groups, so pruning by statistics is exercised on every query.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pystac
import pytest
import shapely
import shapely.geometry
from click.testing import CliRunner

from stacforge import hrefs
from stacforge.cli import cli
from stacforge.errors import InputError, StacforgeError
from stacforge.index import label_order, open_index
from stacforge.index.assets import keys_passing
from stacforge.index.directory import IndexDirectory
from stacforge.index.href_arrays import absolute, relative_to
from stacforge.index.prune import candidate_groups
from stacforge.index.query import LabelCondition, Query
from stacforge.index.search import Index

Item = dict[str, Any]
START = datetime(2020, 1, 1, tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def synthetic_items(n: int = 1500, seed: int = 7) -> list[tuple[Item, str]]:
    """Items all over the globe: squares and triangles, instants and ranges, varied assets."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        lon, lat = float(rng.uniform(-179.5, 179)), float(rng.uniform(-80, 80))
        size = float(rng.uniform(0.05, 1.0))
        if i % 3:
            ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size]]
        else:  # triangles: their bbox is twice their area, so bbox tests alone would be wrong
            ring = [[lon, lat], [lon + size, lat], [lon, lat + size]]
        moment = START + timedelta(hours=int(rng.integers(0, 24 * 730)))
        properties: dict[str, Any] = {
            "gsd": int(rng.integers(1, 40)),
            "platform": str(rng.choice(["a", "b", "c"])),
        }
        if i % 4 == 0:
            properties |= {
                "datetime": None,
                "start_datetime": _stamp(moment),
                "end_datetime": _stamp(moment + timedelta(days=int(rng.integers(1, 90)))),
            }
        else:
            properties["datetime"] = _stamp(moment)
        if i % 5:
            properties["eo:cloud_cover"] = float(rng.uniform(0, 100))
        assets = {
            f"b{k}": {
                "href": f"./b{k}.tif" if k % 2 else f"https://data.example/{i}/b{k}.tif",
                "roles": ["data"] if k < 3 else ["metadata"],
                "datetime": _stamp(moment + timedelta(days=10 * k)),
            }
            for k in range(int(rng.integers(1, 6)))
        }
        assets["thumbnail"] = {"href": f"../thumbs/{i}.png", "roles": ["thumbnail"]}
        item = {
            "type": "Feature",
            "stac_version": "1.1.0",
            "stac_extensions": [],
            "id": f"p{i:04d}",
            "collection": ["north", "south", "east"][i % 3],
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            "bbox": [lon, lat, lon + size, lat + size],
            "properties": properties,
            "links": [],
            "assets": assets,
        }
        items.append((item, f"/catalog/{item['collection']}/{item['id']}/{item['id']}.json"))
    return items


ITEMS = synthetic_items()
GEOMETRIES = {item["id"]: shapely.geometry.shape(item["geometry"]) for item, _ in ITEMS}


def interval(item: Item) -> tuple[datetime, datetime]:
    p = item["properties"]
    start = pystac.utils.str_to_datetime(p.get("start_datetime") or p["datetime"])
    end = pystac.utils.str_to_datetime(p.get("end_datetime") or p["datetime"])
    return start, end


def truth(predicate: Callable[[Item], bool]) -> set[str]:
    return {item["id"] for item, _ in ITEMS if predicate(item)}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, write_index: Callable[..., Any]) -> Index:
    directory = tmp_path_factory.mktemp("synthetic") / "index"
    write_index(directory, ITEMS, relative=False, row_group_bytes=1)
    return open_index(directory)


def random_boxes(n: int, seed: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(n):
        lon, lat = rng.uniform(-170, 150), rng.uniform(-80, 60)
        width, height = rng.uniform(0.5, 40), rng.uniform(0.5, 25)
        boxes.append([float(lon), float(lat), float(lon + width), float(lat + height)])
    return boxes


@pytest.mark.parametrize("box", random_boxes(12, seed=3))
def test_bbox_matches_shapely_over_the_source_geometries(index: Index, box: list[float]) -> None:
    area = shapely.box(*box)
    assert set(index.ids(bbox=box)) == truth(lambda i: area.intersects(GEOMETRIES[i["id"]]))


def test_bbox_across_the_antimeridian(index: Index) -> None:
    box = [170.0, -30.0, -170.0, 30.0]
    parts = shapely.MultiPolygon([shapely.box(170, -30, 180, 30), shapely.box(-180, -30, -170, 30)])
    expected = truth(lambda i: parts.intersects(GEOMETRIES[i["id"]]))
    assert expected
    assert set(index.ids(bbox=box)) == expected


def test_intersects_a_concave_multipolygon(index: Index) -> None:
    area = shapely.MultiPolygon(
        [
            shapely.Polygon([(0, 0), (40, 0), (40, 40), (30, 40), (30, 10), (0, 10)]),
            shapely.Polygon([(-100, -50), (-60, -50), (-80, -20)]),
        ]
    )
    expected = truth(lambda i: area.intersects(GEOMETRIES[i["id"]]))
    assert set(index.ids(intersects=shapely.geometry.mapping(area))) == expected
    assert index.count(intersects=area) == len(expected)


def test_small_box_reads_few_row_groups(index: Index) -> None:
    directory = index.directories[0]
    total = directory.search.metadata.num_row_groups
    query = Query.from_params(bbox=[10, 10, 12, 12])
    assert query.spatial is not None
    read = list(candidate_groups(directory, query, [(10.0, 10.0, 12.0, 12.0)]))
    assert total >= 10
    assert len(read) <= 3


@pytest.mark.parametrize(
    "text",
    [
        "2020-06-15T00:00:00Z",
        "2020-06",
        "2021",
        "2020-03-01/2020-04-15",
        "../2020-02",
        "2021-11-01T00:00:00Z/..",
    ],
)
def test_datetime_matches_item_instants_and_ranges(index: Index, text: str) -> None:
    wanted = Query.from_params(datetime=text).datetime
    assert wanted is not None
    low = wanted.start or datetime.min.replace(tzinfo=UTC)
    high = wanted.end or datetime.max.replace(tzinfo=UTC)

    def meets(item: Item) -> bool:
        start, end = interval(item)
        return start <= high and end >= low

    assert set(index.ids(datetime=text)) == truth(meets)


def test_ids_and_collections(index: Index) -> None:
    wanted = {"p0001", "p0500", "p1499", "missing"}
    assert set(index.ids(ids=sorted(wanted))) == wanted - {"missing"}
    assert set(index.ids(collections=["south", "east"])) == truth(
        lambda i: i["collection"] in ("south", "east")
    )
    # p0000 is in "north", p0001 in "south".
    assert set(index.ids(ids="p0000,p0001", collections="north")) == {"p0000"}


CQL2_CASES: list[tuple[str | dict[str, Any], Callable[[Item], bool]]] = [
    (
        "gsd < 20 AND platform = 'a'",
        lambda i: i["properties"]["gsd"] < 20 and i["properties"]["platform"] == "a",
    ),
    ("platform IN ('a', 'c')", lambda i: i["properties"]["platform"] in ("a", "c")),
    ("NOT (gsd BETWEEN 10 AND 20)", lambda i: not 10 <= i["properties"]["gsd"] <= 20),
    ("id LIKE 'p01%'", lambda i: i["id"].startswith("p01")),
    ("eo:cloud_cover IS NULL", lambda i: "eo:cloud_cover" not in i["properties"]),
    ("eo:cloud_cover > 50.5", lambda i: i["properties"].get("eo:cloud_cover", -1) > 50.5),
    ("casei(platform) = casei('B')", lambda i: i["properties"]["platform"] == "b"),
    (
        "collection = 'north' OR gsd >= 39",
        lambda i: i["collection"] == "north" or i["properties"]["gsd"] >= 39,
    ),
    (
        "s_intersects(geometry, POLYGON((0 0, 60 0, 60 60, 0 0)))",
        lambda i: shapely.Polygon([(0, 0), (60, 0), (60, 60)]).intersects(GEOMETRIES[i["id"]]),
    ),
    (
        "t_after(datetime, TIMESTAMP('2021-06-01T00:00:00Z'))",
        lambda i: (
            i["properties"]["datetime"] is not None
            and interval(i)[0] > datetime(2021, 6, 1, tzinfo=UTC)
        ),
    ),
    (
        {
            "op": "t_intersects",
            "args": [
                {"interval": [{"property": "start_datetime"}, {"property": "end_datetime"}]},
                {"interval": ["2020-05-01T00:00:00Z", "2020-05-31T00:00:00Z"]},
            ],
        },
        lambda i: (
            i["properties"].get("start_datetime") is not None
            and interval(i)[0] <= datetime(2020, 5, 31, tzinfo=UTC)
            and interval(i)[1] >= datetime(2020, 5, 1, tzinfo=UTC)
        ),
    ),
    (
        {"op": ">", "args": [{"op": "*", "args": [{"property": "gsd"}, 2]}, 70]},
        lambda i: i["properties"]["gsd"] * 2 > 70,
    ),
]


@pytest.mark.parametrize(("expression", "predicate"), CQL2_CASES)
def test_cql2_filters(
    index: Index, expression: str | dict[str, Any], predicate: Callable[[Item], bool]
) -> None:
    assert set(index.ids(filter=expression)) == truth(predicate)


def test_unsupported_cql2_is_a_clear_error(index: Index) -> None:
    with pytest.raises(StacforgeError, match="not supported"):
        list(index.ids(filter={"op": "a_contains", "args": [{"property": "x"}, ["a"]]}))


def test_filters_combine_with_and(index: Index) -> None:
    box = [-60.0, -40.0, 60.0, 40.0]
    area = shapely.box(*box)
    expected = truth(
        lambda i: (
            area.intersects(GEOMETRIES[i["id"]])
            and i["collection"] == "east"
            and i["properties"]["gsd"] > 20
            and interval(i)[1] >= datetime(2021, 1, 1, tzinfo=UTC)
        )
    )
    found = index.ids(bbox=box, collections=["east"], filter="gsd > 20", datetime="2021/..")
    assert set(found) == expected


def test_sortby_and_max_items(index: Index) -> None:
    everything = [item for item, _ in ITEMS]
    by_gsd = sorted(everything, key=lambda i: (-i["properties"]["gsd"], i["id"]))
    assert list(index.ids(sortby="-gsd,id", max_items=25)) == [i["id"] for i in by_gsd[:25]]
    by_time = sorted(everything, key=lambda i: (interval(i)[0], i["id"]))
    assert list(index.ids(sortby=["+datetime", "id"])) == [i["id"] for i in by_time]
    assert len(list(index.ids(max_items=7))) == 7
    assert index.count(max_items=0) == 0
    assert index.count(limit=3) == len(ITEMS)  # a page size, not a total
    assert index.count() == len(ITEMS)


def test_asset_filters_keep_matching_assets(index: Index) -> None:
    window = (datetime(2020, 6, 1, tzinfo=UTC), datetime(2020, 8, 31, 23, 59, 59, tzinfo=UTC))
    expected: list[str] = []
    for item, href in sorted(ITEMS, key=lambda pair: pair[0]["id"]):
        for key, asset in item["assets"].items():
            if "data" not in asset["roles"] or not fnmatch.fnmatch(key, "b[0-2]"):
                continue
            moment = pystac.utils.str_to_datetime(asset["datetime"])
            if window[0] <= moment <= window[1]:
                expected.append(
                    asset["href"]
                    if asset["href"].startswith("https:")
                    else str(Path(href).parent / asset["href"].removeprefix("./"))
                )
    params: dict[str, Any] = {
        "asset_roles": ["data"],
        "asset_keys": ["b[0-2]"],
        "asset_datetime": "2020-06/2020-08",
        "sortby": "id",
    }
    assert list(index.hrefs(**params)) == expected
    items = list(index.search(**params).items())
    assert sum(len(item.assets) for item in items) == len(expected)
    assert all(item.assets for item in items)


def test_hrefs_are_absolute_and_complete(index: Index) -> None:
    hrefs = list(index.hrefs(ids=["p0003"]))
    item = next(item for item, _ in ITEMS if item["id"] == "p0003")
    assert len(hrefs) == len(item["assets"])
    assert "/catalog/north/thumbs/3.png" in hrefs  # "../thumbs/3.png" from the item
    assert all(h.startswith(("https://", "/")) for h in hrefs)


def test_items_are_pystac_items_with_absolute_self_links(index: Index) -> None:
    collection = index.search(ids=["p0007", "p0008"]).item_collection()
    assert isinstance(collection, pystac.ItemCollection)
    by_id = {item.id: item for item in collection}
    assert by_id.keys() == {"p0007", "p0008"}
    source = dict(ITEMS[7][0])
    assert by_id["p0007"].get_self_href() == ITEMS[7][1]
    assert by_id["p0007"].properties == {
        k: v for k, v in source["properties"].items() if v is not None or k == "datetime"
    }
    assert by_id["p0008"].datetime is None and by_id["p0008"].properties["start_datetime"]


def test_several_indexes_together(
    tmp_path: Path, write_index: Callable[..., Any], index: Index
) -> None:
    first, second = ITEMS[:700], ITEMS[700:]
    write_index(tmp_path / "a", first, relative=False)
    write_index(tmp_path / "b", second, relative=False)
    both = open_index(tmp_path / "a", tmp_path / "b")
    box = [-100.0, -50.0, 100.0, 50.0]
    assert set(both.ids(bbox=box)) == set(index.ids(bbox=box))
    assert both.count() == len(ITEMS)
    assert list(both.ids(sortby="id", max_items=5)) == sorted(i["id"] for i, _ in ITEMS)[:5]


def test_labels_by_count_and_through_source_links(
    tmp_path: Path, write_index: Callable[..., Any], make_item: Callable[..., Item]
) -> None:
    images = [
        (make_item(f"img{i}", i, 0, collection="images"), f"/cat/img{i}.json") for i in range(6)
    ]
    labels = []
    for i in range(6):
        label = make_item(
            f"lab{i}",
            i,
            0,
            collection="labels",
            properties={
                "label:type": "vector",
                "label:overviews": [
                    {"property_key": "kind", "counts": [{"name": "tree", "count": i * 10}]},
                    {"property_key": "share", "statistics": [{"name": "bog", "value": i / 10}]},
                ],
            },
            links=[{"rel": "source", "href": f"./img{i}.json"}],
        )
        labels.append((label, f"/cat/lab{i}.json"))
    write_index(tmp_path / "images", images, relative=False)
    write_index(tmp_path / "labels", labels, relative=False)
    both = open_index(tmp_path / "images", tmp_path / "labels")
    assert set(both.ids(labels=["tree>=30"])) == {"lab3", "lab4", "lab5", "img3", "img4", "img5"}
    assert set(both.ids(labels=["tree>=30", "bog<0.45"], collections="images")) == {
        "img3",
        "img4",
    }
    assert set(both.ids(label_any=["tree,bog>=50.3"])) == {"lab5", "img5"}
    # The manifest tells that the images have no labels: their labels file stays closed.
    assert "labels" not in vars(both.directories[0])
    # A class an item does not list counts 0; items without overviews never match.
    assert set(both.ids(labels=["sand<1"], collections="labels")) == {f"lab{i}" for i in range(6)}
    assert set(open_index(tmp_path / "images").ids(labels=["tree>=0"])) == set()


def _random_label_items(make_item: Callable[..., Item]) -> list[tuple[Item, str]]:
    """Items with counts and statistics of random classes (some null), and every tenth item
    without labels."""
    rng = np.random.default_rng(4)
    classes = [f"c{c:02d}" for c in range(30)]
    items = []
    for i in range(400):
        overviews = []
        if i % 10:
            for key in ("crop", None):
                listed = rng.choice(classes, int(rng.integers(1, 6)), replace=False)
                counts = [
                    {"name": str(name), "count": None if rng.random() < 0.1 else int(n)}
                    for name, n in zip(listed, rng.integers(0, 50, len(listed)), strict=True)
                ]
                overviews.append({"property_key": key, "counts": counts})
            listed = rng.choice(classes, int(rng.integers(0, 4)), replace=False)
            values = [{"name": str(name), "value": float(rng.random())} for name in listed]
            overviews.append({"property_key": "cover", "statistics": values})
        properties = {"label:overviews": overviews} if overviews else {}
        items.append((make_item(f"i{i}", i % 40, i // 40, properties=properties), f"i{i}.json"))
    return items


def _meets(overviews: list[dict[str, Any]], condition: LabelCondition) -> bool:
    """The label semantics, item by item: the sum of the classes' numbers (statistics value,
    else count, or its share of its entry's counts), 0 when none is listed, NaN when all listed
    are null."""
    total, listed, known = 0.0, False, False
    for entry in overviews:
        counts = entry.get("counts", [])
        entry_total = sum(c["count"] or 0 for c in counts)
        for row in counts + entry.get("statistics", []):
            if row["name"] not in condition.names:
                continue
            listed = True
            number = row.get("value")
            if number is None and row.get("count") is not None:
                number = row["count"]
                if condition.share:
                    number = number / entry_total if entry_total else None
            if number is not None:
                total, known = total + number, True
    return bool(
        condition.compare(total if known or not listed else float("nan"), condition.threshold)
    )


@pytest.mark.parametrize(
    "params",
    [
        {"labels": "c03>10"},
        {"labels": "c03<10"},
        {"labels": "c04>=20%"},
        {"labels": "c04<20%"},
        {"labels": ["c05<=0.3", "c07>5"]},
        {"labels": ["c10!=0"]},
        {"labels": ["c11=0"]},
        {"label_any": "c01,c02,c29>=40%"},
        {"label_any": "c00,c15>=20", "labels": "c16<30%"},
        {"labels": "nothing>1"},
    ],
)
def test_labels_sorted_by_class_give_the_answers_of_the_item_by_item_semantics(
    tmp_path: Path,
    write_index: Callable[..., Any],
    make_item: Callable[..., Item],
    monkeypatch: pytest.MonkeyPatch,
    params: dict[str, Any],
) -> None:
    monkeypatch.setattr(label_order, "ROW_GROUP_ROWS", 64)  # many groups, classes across them
    items = _random_label_items(make_item)
    write_index(tmp_path / "index", items)
    conditions = Query.from_params(**params).labels
    expected = {
        item["id"]
        for item, _ in items
        if item["properties"].get("label:overviews")
        and all(_meets(item["properties"]["label:overviews"], c) for c in conditions)
    }
    assert set(open_index(tmp_path / "index").ids(**params)) == expected


def test_a_class_search_reads_only_the_row_groups_of_its_classes(
    tmp_path: Path,
    write_index: Callable[..., Any],
    make_item: Callable[..., Item],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(label_order, "ROW_GROUP_ROWS", 64)
    write_index(tmp_path / "index", _random_label_items(make_item))
    names = pq.read_table(tmp_path / "index" / "labels.parquet", columns=["name"])["name"]
    holding = sorted({i // 64 for i, name in enumerate(names.to_pylist()) if name == "c03"})
    index = open_index(tmp_path / "index")
    (directory,) = index.directories
    read: list[list[int]] = []
    whole_file = directory.labels.read_row_groups

    def read_row_groups(groups: list[int], **options: Any) -> pa.Table:
        read.append(list(groups))
        return whole_file(groups, **options)

    monkeypatch.setattr(directory.labels, "read_row_groups", read_row_groups)
    monkeypatch.setattr(directory.labels, "read", None)  # the whole file is never read
    assert index.count(labels="c03>10") > 0
    assert read == [holding]
    assert 0 < len(holding) < directory.labels.metadata.num_row_groups / 10
    # Every item with labels may match "c03<10" (an item that lists no c03 counts 0): the
    # items without labels are told from the others by reading the rows column.
    monkeypatch.undo()
    assert "labelled_rows" not in vars(directory)
    assert index.count(labels="c03<10") > 0
    assert len(directory.labelled_rows) == 360


def test_labels_by_share_of_their_overview_entry(
    tmp_path: Path, write_index: Callable[..., Any], make_item: Callable[..., Item]
) -> None:
    """``corn>=30%``: a class's count over the total of its entry's counts (a raster label's
    pixel histogram); statistics values are shares already."""
    histograms = {  # chip: pixel counts of a 100-pixel mask
        "a": {"corn": 30, "soy": 70},
        "b": {"corn": 29, "soy": 1, "water": 70},
        "c": {"soy": 100},
        "d": {"corn": 0, "soy": 0},  # an empty histogram: no share is known
        "e": {"corn": 6000, "water": 14000},
    }
    items = [
        (
            make_item(
                chip,
                i,
                0,
                properties={
                    "label:type": "raster",
                    "label:properties": None,
                    "label:overviews": [
                        {"counts": [{"name": name, "count": n} for name, n in counts.items()]}
                    ],
                },
            ),
            f"{chip}.json",
        )
        for i, (chip, counts) in enumerate(histograms.items())
    ]
    # Two entries: the share counts within the entry the class is listed in.
    items.append(
        (
            make_item(
                "f",
                9,
                0,
                properties={
                    "label:overviews": [
                        {"property_key": "crop", "counts": [{"name": "corn", "count": 1}]},
                        {"property_key": "cover", "counts": [{"name": "soy", "count": 99}]},
                    ]
                },
            ),
            "f.json",
        )
    )
    # Statistics overviews: the value is compared with the percentage as a fraction.
    items.append(
        (
            make_item(
                "g",
                10,
                0,
                properties={"label:overviews": [{"statistics": [{"name": "corn", "value": 0.4}]}]},
            ),
            "g.json",
        )
    )
    write_index(tmp_path / "index", items)
    index = open_index(tmp_path / "index")

    def ids(**params: Any) -> set[str]:
        return set(index.ids(**params))

    assert ids(labels="corn>=30%") == {"a", "e", "f", "g"}
    assert ids(labels="corn>=5000") == {"e"}
    assert ids(labels="corn<30%") == {"b", "c"}  # c lists no corn: its share is 0
    assert ids(labels=["corn>=25%", "corn<1000"]) == {"a", "b", "f", "g"}
    assert ids(label_any="corn,soy>=50%") == {"a", "c", "f"}
    assert ids(label_any="corn,soy>150%") == {"f"}  # shares of two entries add up
    assert ids(label_any="corn,water>=99.5 %") == {"e", "f"}
    # The same through the command line.
    result = CliRunner().invoke(
        cli, ["search", str(tmp_path / "index"), "--label", "corn>=30%", "--format", "ids"]
    )
    assert result.exit_code == 0, result.output
    assert set(result.output.split()) == {"a", "e", "f", "g"}


def test_label_shares_with_many_property_keys(
    tmp_path: Path, write_index: Callable[..., Any], make_item: Callable[..., Item]
) -> None:
    """Entries are told apart by property key however many keys there are."""
    items = [
        (
            make_item(
                f"i{i}",
                i,
                0,
                properties={
                    "label:overviews": [
                        {
                            "property_key": f"key{i}",
                            "counts": [{"name": "corn", "count": i}, {"name": "soy", "count": 10}],
                        },
                        {"property_key": f"other{i}", "counts": [{"name": "soy", "count": 1000}]},
                    ]
                },
            ),
            f"i{i}.json",
        )
        for i in range(40)
    ]
    write_index(tmp_path / "index", items)
    found = set(open_index(tmp_path / "index").ids(labels="corn>=50%"))
    assert found == {f"i{i}" for i in range(10, 40)}


def test_an_item_with_labels_of_its_own_is_judged_by_them(
    tmp_path: Path, write_index: Callable[..., Any], make_item: Callable[..., Item]
) -> None:
    """A label item another label item names as its source does not match through that link."""

    def label(name: str, count: int, source: str) -> Item:
        overviews = [{"counts": [{"name": "tree", "count": count}]}]
        return make_item(
            name,
            0,
            0,
            properties={"label:overviews": overviews},
            links=[{"rel": "source", "href": source}],
        )

    items = [
        (label("many", 9, "./few.json"), "/cat/many.json"),
        (label("few", 1, "./img.json"), "/cat/few.json"),
        (make_item("img", 0, 0), "/cat/img.json"),
    ]
    write_index(tmp_path / "index", items, relative=False)
    assert set(open_index(tmp_path / "index").ids(labels="tree>5")) == {"many"}
    assert set(open_index(tmp_path / "index").ids(labels="tree<5")) == {"few", "img"}


def test_labels_through_relative_source_links(
    tmp_path: Path, write_index: Callable[..., Any], make_item: Callable[..., Item]
) -> None:
    """Hrefs stored relative to each index, links written in several spellings."""
    spellings = [
        "../../img/{i}/img{i}.json",
        "./../../img/{i}/img{i}.json",
        "../x/../../img/{i}/img{i}.json",
    ]
    images, labels = [], []
    for i in range(6):
        images.append((make_item(f"img{i}", i, 0), str(tmp_path / f"cat/img/{i}/img{i}.json")))
        label = make_item(
            f"lab{i}",
            i,
            0,
            properties={"label:overviews": [{"counts": [{"name": "tree", "count": i}]}]},
            links=[{"rel": "source", "href": spellings[i % 3].format(i=i)}],
        )
        labels.append((label, str(tmp_path / f"cat/lab/{i}/lab{i}.json")))
    write_index(tmp_path / "cat/img/index", images)
    write_index(tmp_path / "cat/lab/index", labels)
    both = open_index(tmp_path / "cat/img/index", tmp_path / "cat/lab/index")
    assert set(both.ids(labels="tree>=3")) == {"lab3", "lab4", "lab5", "img3", "img4", "img5"}
    assert set(both.ids(labels="tree<2", collections="demo", bbox=[0.5, -1, 9, 1])) == {
        "img1",
        "lab1",
    }


def test_stored_hrefs_resolve_as_one_at_a_time(
    tmp_path: Path, write_index: Callable[..., Any], make_item: Callable[..., Item]
) -> None:
    write_index(tmp_path / "a/b/index", [(make_item("x", 0, 0), str(tmp_path / "a/b/x.json"))])
    directory = IndexDirectory(tmp_path / "a/b/index")
    stored = [
        "x.json", "../x.json", "../../c/d/e.json", "../" * 40 + "f.json", "./x.json",
        "c/./d.json", "c/../d.json", "../c/../d.json", "c//d.json", "c/d/", "", ".", "..", "../",
        "../.", "..//c", ".hidden/x.json", "..x/y.json", "...", "c/...", "a\nb.json", None,
        "https://example.com/c/../d.json", "file:///c/d.json", "/c/../d.json", "ab:c", "a:b.json",
    ]  # fmt: skip
    expected = [None if href is None else directory.absolute(href) for href in stored]
    assert absolute(directory, pa.array(stored, pa.string())).to_pylist() == expected
    chunked = pa.chunked_array([pa.array(stored[:5], pa.string()), pa.array(stored[5:])])
    assert absolute(directory, chunked).to_pylist() == expected


def test_asset_hrefs_resolve_as_one_at_a_time(
    tmp_path: Path, write_index: Callable[..., Any], make_item: Callable[..., Item]
) -> None:
    """Asset hrefs are resolved a folder per item at a time; every form gives what resolving
    each href against its item gives."""
    forms = [
        "x.tif", "./x.tif", "../x.tif", "../../c/d/e.tif", "../" * 40 + "f.tif", "c/./d.tif",
        "c/../d.tif", "c//d.tif", "c/d/", "", ".", "..", "../", "../.", ".hidden", "..x/y.tif",
        "...", "c/...", "c:d.tif", "ab:c", "?q=1", "#frag", "c/?q=a/b", "c/d.tif?sig=../x#y",
        "https://example.com/c/../d.tif", "file:///c/d.tif", "/c/../d.tif", "//host/x.tif",
    ]  # fmt: skip
    assets = {f"a{i}": {"href": href, "roles": ["data"]} for i, href in enumerate(forms)}
    places = {"local": str(tmp_path / "a/b/local.json"), "url": "https://host/c/d/url.json"}
    items = [
        (make_item(name, i, 0, assets=assets), href)
        for i, (name, href) in enumerate(places.items())
    ]
    write_index(tmp_path / "a/b/index", items)
    directory = IndexDirectory(tmp_path / "a/b/index")
    index = open_index(tmp_path / "a/b/index")
    for name in places:
        stored = directory.search.read(columns=["id", "href"]).to_pylist()
        base = directory.absolute(next(row["href"] for row in stored if row["id"] == name))
        expected = [hrefs.join(base, href) for href in forms]
        assert sorted(index.hrefs(ids=[name])) == sorted(expected)
        assert sorted(index.hrefs(ids=[name], asset_roles=["data"])) == sorted(expected)


def test_relative_forms_of_absolute_paths() -> None:
    paths = ["/a/b/c/x.json", "/a/b/y.json", "/a/bc/z.json", "/q.json", "/a/b/c/d/e/f.json"]
    for directory in ("/a/b/c", "/a/b/c/d", "/", "/z"):
        found = relative_to(directory, pa.array([*paths, "https://host/a/b.json"]))
        assert found.to_pylist() == [*(os.path.relpath(p, directory) for p in paths), None]


def test_opening_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a stacforge index"):
        open_index(tmp_path)
    (tmp_path / "catalog.json").write_text('{"type": "Catalog", "id": "x", "links": []}')
    with pytest.raises(InputError, match="no index advertised"):
        open_index(tmp_path)


@pytest.mark.parametrize("written", [1, 2])
def test_an_index_of_another_format_is_a_clear_error(
    tmp_path: Path,
    write_index: Callable[..., dict[str, Any]],
    make_item: Callable[..., dict[str, Any]],
    written: int,
) -> None:
    """Format 1 recorded no format; format 2 kept labels in item order, without shares."""
    write_index(tmp_path / "index", [(make_item("a", 0, 0), "a.json")])
    manifest_path = tmp_path / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if written == 1:
        del manifest["format"]  # as stacforge wrote it before the format was recorded
    else:
        manifest["format"] = written
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=f"index format {written}, this stacforge reads format 3"):
        open_index(tmp_path / "index")


def _keyed_items() -> list[tuple[Item, str]]:
    """Items whose keys have the same roles and time in every item (``k0``..``k4``), and a key
    whose roles and times vary (``varied``), as RapidAI4EO's dated keys and a messy catalog's."""
    items = []
    for i in range(40):
        assets = {
            f"k{k}": {
                "href": f"https://data.example/{i}/k{k}.tif",
                "roles": ["data"] if k % 2 else ["metadata"],
                "datetime": f"2018-0{k + 1}-15T10:30:00Z",
            }
            for k in range(5)
        }
        assets["varied"] = {
            "href": f"https://data.example/{i}/varied.tif",
            "roles": ["data"] if i % 3 else ["overview", "data"] if i % 2 else [],
            **({"datetime": f"2018-0{i % 6 + 1}-01T00:00:00Z"} if i % 4 else {}),
        }
        item = {
            "type": "Feature",
            "stac_version": "1.1.0",
            "id": f"i{i:02d}",
            "geometry": {"type": "Point", "coordinates": [i / 10, 0]},
            "bbox": [i / 10, 0, i / 10, 0],
            "properties": {"datetime": "2017-12-31T00:00:00Z"},
            "links": [],
            "assets": assets,
        }
        items.append((item, f"/catalog/{item['id']}.json"))
    return items


@pytest.mark.parametrize(
    ("params", "by_key"),
    [
        ({"asset_roles": ["data"]}, False),
        ({"asset_roles": ["overview"]}, False),
        ({"asset_datetime": "2018-02/2018-03"}, False),
        ({"asset_datetime": "2019"}, True),
        ({"asset_keys": ["k*"], "asset_roles": ["data"]}, True),
        ({"asset_keys": ["k*"], "asset_datetime": "2018-02-15T10:30:00Z"}, True),
        ({"asset_keys": ["k*"], "asset_datetime": "2018-03-01/.."}, True),
        (
            {"asset_keys": ["k*"], "asset_roles": ["data"], "asset_datetime": "2018-01/2018-04"},
            True,
        ),
        ({"asset_keys": ["k[0-3]", "varied"], "asset_datetime": "2018-02/.."}, False),
    ],
)
def test_asset_filters_decided_by_key_match_asset_by_asset(
    tmp_path: Path, write_index: Callable[..., Any], params: dict[str, Any], by_key: bool
) -> None:
    """The manifest's per-key summary decides filters for whole keys only when it may: the
    hrefs match a ground truth over the source items, with and without the summary."""
    items = _keyed_items()
    query = Query.from_params(**params)
    expected = set()
    for item, _ in items:
        for key, asset in item["assets"].items():
            moment = pystac.utils.str_to_datetime(
                asset.get("datetime") or item["properties"]["datetime"]
            )
            interval = query.asset_datetime
            if (
                (query.asset_keys is None or query.asset_keys.fullmatch(key))
                and (query.asset_roles is None or query.asset_roles & set(asset["roles"]))
                and (
                    interval is None
                    or (
                        (interval.start is None or moment >= interval.start)
                        and (interval.end is None or moment <= interval.end)
                    )
                )
            ):
                expected.add(asset["href"])
    write_index(tmp_path / "summarised", items, relative=False)
    shutil.copytree(tmp_path / "summarised", tmp_path / "plain")
    manifest_path = tmp_path / "plain" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["asset_keys"]["k1"]["roles"] == ["data"]
    assert manifest["asset_keys"]["varied"]["roles"] is None
    manifest["asset_keys"] = None
    manifest_path.write_text(json.dumps(manifest))
    summarised = open_index(tmp_path / "summarised")
    assert (keys_passing(summarised.directories[0], query) is not None) == by_key
    for index in (summarised, open_index(tmp_path / "plain")):
        assert set(index.hrefs(**params)) == expected, index
