"""pystac-client's vocabulary, from its documentation (``docs/usage.rst``, ``ItemSearch``).

``Client.open(url).search(...)`` there is ``open_index(path).search(...)`` here: an
``ItemSearch`` with ``items()``, ``items_as_dicts()``, ``pages()``, ``pages_as_dicts()``,
``item_collection()``, ``item_collection_as_dict()``, ``matched()`` and ``get_parameters()``;
``max_items`` the total and ``limit`` the page size. Expected answers come from the items' JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pystac
import pytest
import shapely
import shapely.geometry
from click.testing import CliRunner

from stacforge.cli import cli
from stacforge.errors import StacforgeError
from stacforge.index import open_index
from stacforge.index.item_search import ItemSearch
from stacforge.index.search import Index

Item = dict[str, Any]
START = datetime(2019, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def items(make_item: Callable[..., Item]) -> list[Item]:
    """40 items, one a day from 2019-01-01, west to east; two collections, gsd 10 or 30."""
    found = []
    for n in range(40):
        when = (START + timedelta(days=n)).isoformat().replace("+00:00", "Z")
        found.append(
            make_item(
                f"item-{n:02d}",
                -73.3 + n * 0.01,
                44.0,
                datetime=when,
                collection="sentinel" if n % 2 else "landsat",
                properties={"gsd": 10 if n % 3 else 30, "platform": f"landsat-{8 + n % 2}"},
            )
        )
    return found


@pytest.fixture(scope="module")
def index(
    items: list[Item], tmp_path_factory: pytest.TempPathFactory, write_index: Callable[..., Any]
) -> Index:
    folder = tmp_path_factory.mktemp("client")
    write_index(folder / "index", [(item, f"{item['id']}.json") for item in items])
    return open_index(folder / "index")


def ids_of(items: list[Item], keep: Callable[[Item], bool] = lambda _: True) -> list[str]:
    return [item["id"] for item in items if keep(item)]


def test_max_items_is_the_total_and_limit_the_page_size(index: Index) -> None:
    search = index.search(max_items=10, limit=3, sortby="id")
    assert isinstance(search, ItemSearch)
    assert len(list(search.items())) == 10
    assert [len(page) for page in search.pages()] == [3, 3, 3, 1]
    assert [page["numberReturned"] for page in search.pages_as_dicts()] == [3, 3, 3, 1]
    assert search.matched() == 40  # every match, not max_items
    assert len(list(index.search(limit=7).items())) == 40
    assert [len(p) for p in index.search(limit=25).pages()] == [25, 15]


def test_every_result_form_of_the_usage_table(index: Index, items: list[Item]) -> None:
    """Single items, pages or everything; pystac objects or plain dicts."""
    search = index.search(max_items=5, sortby="-id")
    expected = ids_of(items)[::-1][:5]
    assert [item.id for item in search.items()] == expected
    assert all(isinstance(item, pystac.Item) for item in search.items())
    assert [item["id"] for item in search.items_as_dicts()] == expected
    assert [item.id for page in search.pages() for item in page.items] == expected
    collection = search.item_collection()
    assert isinstance(collection, pystac.ItemCollection)
    assert [item.id for item in collection] == expected
    assert collection.extra_fields["numberMatched"] == 40
    as_dict = search.item_collection_as_dict()
    assert as_dict["type"] == "FeatureCollection"
    assert [f["id"] for f in as_dict["features"]] == expected
    assert (as_dict["numberMatched"], as_dict["numberReturned"]) == (40, 5)
    # Today's shortcuts stay, on the index and on the search.
    assert list(search.ids()) == list(index.ids(max_items=5, sortby="-id")) == expected
    assert search.count() == index.count(max_items=5) == 5
    assert len(list(search.hrefs())) == 5


def test_the_search_is_lazy_and_checks_its_parameters_at_once(index: Index) -> None:
    search = index.search(bbox=[-73.21, 43.99, -73.12, 44.05])
    assert "items" not in vars(search)
    with pytest.raises(StacforgeError, match="latitudes"):
        index.search(bbox=[-73.21, 43.99, -73.12, 95])


def test_the_documented_search(index: Index, items: list[Item]) -> None:
    """The example of pystac-client's usage page: max_items, bbox and a datetime list."""
    results = index.search(
        max_items=5,
        bbox=[-73.21, 43.99, -73.12, 44.05],
        datetime=["2019-01-01T00:00:00Z", "2019-01-20T00:00:00Z"],
    )
    box = shapely.box(-73.21, 43.99, -73.12, 44.05)
    expected = ids_of(
        items,
        lambda i: (
            shapely.intersects(box, shapely.geometry.shape(i["geometry"]))
            and i["properties"]["datetime"] <= "2019-01-20T00:00:00Z"
        ),
    )
    assert len(expected) > 5
    found = [item.id for item in results.items()]
    assert len(found) == 5 and set(found) <= set(expected)
    assert results.matched() == len(expected)
    parameters = results.get_parameters()
    assert parameters["bbox"] == [-73.21, 43.99, -73.12, 44.05]
    assert parameters["datetime"] == "2019-01-01T00:00:00Z/2019-01-20T00:00:00Z"
    assert "limit" not in parameters
    # A limit is sent as min(limit, max_items), as pystac-client sends it.
    assert index.search(max_items=5, limit=100).get_parameters()["limit"] == 5


@pytest.mark.parametrize(
    ("value", "days"),
    [
        (datetime(2019, 1, 3, tzinfo=UTC), [2]),
        (datetime(2019, 1, 3), [2]),  # naive: UTC
        (datetime(2019, 1, 3, 1, tzinfo=timezone(timedelta(hours=1))), [2]),
        ((datetime(2019, 1, 3, tzinfo=UTC), datetime(2019, 1, 5, tzinfo=UTC)), [2, 3, 4]),
        ([datetime(2019, 2, 7, tzinfo=UTC), None], [37, 38, 39]),
        ((None, "2019-01-02T00:00:00Z"), [0, 1]),
        (["2019-02-08", ".."], [38, 39]),
        (["2019-01"], list(range(31))),
        ("2019-02-08/..", [38, 39]),
    ],
)
def test_datetime_in_every_form_pystac_client_takes(
    index: Index, items: list[Item], value: Any, days: list[int]
) -> None:
    assert sorted(index.ids(datetime=value)) == [items[d]["id"] for d in days]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([None, None], "cannot create a double open-ended interval"),
        (["2019", "2020", "2021"], r"too many datetime components \(max=2, actual=3\)"),
        ([None], "cannot create a datetime query with None"),
        ("yesterday", "not RFC 3339"),
    ],
)
def test_bad_datetimes_are_rejected_as_pystac_client_does(
    index: Index, value: Any, message: str
) -> None:
    with pytest.raises(StacforgeError, match=message):
        index.search(datetime=value)


def test_collections_as_pystac_collections(index: Index, items: list[Item]) -> None:
    extent = pystac.Extent(
        pystac.SpatialExtent([[-180, -90, 180, 90]]), pystac.TemporalExtent([[START, None]])
    )
    landsat = pystac.Collection("landsat", "Landsat", extent)
    expected = ids_of(items, lambda i: i["collection"] == "landsat")
    assert sorted(index.ids(collections=landsat)) == expected
    assert sorted(index.ids(collections=[landsat])) == expected
    assert sorted(index.ids(collections=[landsat, "sentinel"])) == ids_of(items)
    assert sorted(index.ids(collections="landsat,sentinel")) == ids_of(items)
    with pytest.raises(StacforgeError, match="collections"):
        index.search(collections=[3])


class _Feature:
    """A third-party object exposing a GeoJSON Feature through ``__geo_interface__``."""

    def __init__(self, geometry: shapely.Geometry) -> None:
        self.geometry = geometry

    @property
    def __geo_interface__(self) -> dict[str, Any]:
        return {"type": "Feature", "properties": {}, "geometry": self.geometry.__geo_interface__}


def test_intersects_anything_with_a_geo_interface(index: Index, items: list[Item]) -> None:
    area = shapely.box(-73.2, 43.0, -73.1, 45.0)
    expected = ids_of(
        items, lambda i: shapely.intersects(area, shapely.geometry.shape(i["geometry"]))
    )
    assert expected
    assert sorted(index.ids(intersects=area)) == expected
    assert sorted(index.ids(intersects=_Feature(area))) == expected
    assert sorted(index.ids(intersects=area.__geo_interface__)) == expected
    assert sorted(index.ids(intersects=json.dumps(area.__geo_interface__))) == expected
    with pytest.raises(StacforgeError, match="implements __geo_interface__"):
        index.search(intersects=42)


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ({"gsd": {"lt": 20}}, lambda p: p["gsd"] < 20),
        (["gsd<20"], lambda p: p["gsd"] < 20),
        (["gsd>=30"], lambda p: p["gsd"] >= 30),
        (["platform=landsat-8"], lambda p: p["platform"] == "landsat-8"),
        (
            ["platform<>landsat-8", "gsd=10"],
            lambda p: p["platform"] != "landsat-8" and p["gsd"] == 10,
        ),
        (['{"gsd": {"eq": 30}}', "gsd>5"], lambda p: p["gsd"] == 30),
        ({"platform": {"startsWith": "landsat-9"}}, lambda p: p["platform"] == "landsat-9"),
        ({"platform": {"endsWith": "-8"}}, lambda p: p["platform"] == "landsat-8"),
        ({"platform": {"contains": "sat"}}, lambda p: True),
        ({"gsd": {"in": [30, 60]}}, lambda p: p["gsd"] == 30),
    ],
)
def test_query_extension(
    index: Index, items: list[Item], query: Any, keep: Callable[[dict[str, Any]], bool]
) -> None:
    assert sorted(index.ids(query=query)) == ids_of(items, lambda i: keep(i["properties"]))


def test_query_combines_with_filter_and_bad_query_is_rejected(
    index: Index, items: list[Item]
) -> None:
    found = sorted(index.ids(query=["gsd=10"], filter="collection = 'landsat'"))
    assert found == ids_of(
        items, lambda i: i["properties"]["gsd"] == 10 and i["collection"] == "landsat"
    )
    with pytest.raises(StacforgeError, match="must be a dict or a list"):
        index.search(query="gsd<10")
    with pytest.raises(StacforgeError, match="unknown operator"):
        index.search(query={"gsd": {"near": 10}})


@pytest.mark.parametrize(
    ("fields", "keys", "properties"),
    [
        (["id", "properties.gsd"], {"id", "properties"}, {"gsd"}),
        ("id,properties", {"id", "properties"}, {"gsd", "platform", "datetime"}),
        (["-assets", "-links"], None, {"gsd", "platform", "datetime"}),
        ({"include": ["properties"], "exclude": ["properties.gsd"]}, {"properties"}, None),
        ({"include": ["properties.gsd"], "exclude": ["properties"]}, {"properties"}, {"gsd"}),
    ],
)
def test_fields_extension(index: Index, fields: Any, keys: Any, properties: Any) -> None:
    (item,) = index.search(ids=["item-03"], fields=fields).items_as_dicts()
    if keys is not None:
        assert set(item) == keys
    else:
        assert "assets" not in item and "links" not in item and "geometry" in item
    if properties is not None:
        assert set(item["properties"]) == properties
    else:
        assert set(item["properties"]) == {"platform", "datetime"}


def test_fields_that_leave_no_item_say_so(index: Index) -> None:
    search = index.search(ids=["item-03"], fields=["id"])
    with pytest.raises(StacforgeError, match="items_as_dicts"):
        search.item_collection()


@pytest.mark.parametrize("limit", [0, -1, 10_001])
def test_limit_out_of_range_is_rejected_as_pystac_client_does(index: Index, limit: int) -> None:
    with pytest.raises(StacforgeError, match=f"Invalid limit of {limit}, must be between 1 and"):
        index.search(limit=limit)


def test_sortby_a_field_no_item_has_is_rejected(index: Index) -> None:
    with pytest.raises(StacforgeError, match="nonexistent"):
        list(index.ids(sortby="nonexistent"))
    assert list(index.ids(sortby="-properties.gsd,id", max_items=1)) == ["item-00"]


def test_cli_max_items_limit_query_and_fields(index: Index, items: list[Item]) -> None:
    runner = CliRunner()
    path = str(index.directories[0].path)

    def run(*args: str) -> Any:
        result = runner.invoke(cli, ["search", path, *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert len(run("--max-items", "10", "--limit", "3").split()) == 10
    assert len(run("--limit", "3").split()) == 40
    assert run("--query", "gsd=30", "--format", "count").strip() == str(
        len(ids_of(items, lambda i: i["properties"]["gsd"] == 30))
    )
    collection = json.loads(run("--ids", "item-01", "--fields", "id,-assets", "--format", "items"))
    assert collection["features"] == [{"id": "item-01"}]
    cut = json.loads(run("--max-items", "4", "--query", "gsd=10", "--format", "items"))
    assert (cut["numberReturned"], len(cut["features"])) == (4, 4)
    assert cut["numberMatched"] == len(ids_of(items, lambda i: i["properties"]["gsd"] == 10))
    whole = json.loads(run("--format", "items"))
    assert whole["numberMatched"] == whole["numberReturned"] == len(items)
    for bad in (["--limit", "0"], ["--bbox", "13,52,14,95"], ["--sortby", ",,"]):
        result = runner.invoke(cli, ["search", path, *bad])
        assert result.exit_code != 0
        assert len(result.output.strip().splitlines()) == 1 or "Usage" in result.output
