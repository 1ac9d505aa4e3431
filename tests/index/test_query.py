"""Search parameters: STAC API forms, partial dates, label conditions, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import shapely

from stacforge.errors import StacforgeError
from stacforge.index.query import Interval, LabelCondition, Query, SortKey, parse_interval


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018-05-03T10:30:00Z", Interval(at(2018, 5, 3, 10, 30), at(2018, 5, 3, 10, 30))),
        ("2018-05-03T12:30:00+02:00", Interval(at(2018, 5, 3, 10, 30), at(2018, 5, 3, 10, 30))),
        ("2018", Interval(at(2018, 1, 1), at(2018, 12, 31, 23, 59, 59, 999999))),
        ("2018-02", Interval(at(2018, 2, 1), at(2018, 2, 28, 23, 59, 59, 999999))),
        ("2020-02", Interval(at(2020, 2, 1), at(2020, 2, 29, 23, 59, 59, 999999))),
        ("2018-12-31", Interval(at(2018, 12, 31), at(2018, 12, 31, 23, 59, 59, 999999))),
        ("2018/2019", Interval(at(2018, 1, 1), at(2019, 12, 31, 23, 59, 59, 999999))),
        ("2018-05-01T00:00:00Z/..", Interval(at(2018, 5, 1), None)),
        ("../2018-05", Interval(None, at(2018, 5, 31, 23, 59, 59, 999999))),
        ("/2018-05-01T00:00:00Z", Interval(None, at(2018, 5, 1))),
    ],
)
def test_datetime_forms(text: str, expected: Interval) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("../..", "open at both ends"),
        ("2019/2018", "ends before it starts"),
        ("yesterday", "not RFC 3339"),
        ("2018-13", "not RFC 3339"),
    ],
)
def test_bad_datetimes(text: str, message: str) -> None:
    with pytest.raises(StacforgeError, match=message):
        parse_interval(text)


def test_bbox_forms() -> None:
    assert Query.from_params(bbox="1,2,3,4").bbox == (1.0, 2.0, 3.0, 4.0)
    assert Query.from_params(bbox=[1, 2, 0, 3, 4, 9]).bbox == (1.0, 2.0, 3.0, 4.0)
    crossing = Query.from_params(bbox=[170, -10, -170, 10]).spatial
    assert crossing is not None
    assert shapely.intersects(crossing, shapely.Point(179, 0))
    assert shapely.intersects(crossing, shapely.Point(-179, 0))
    assert not shapely.intersects(crossing, shapely.Point(0, 0))
    for bad in ("1,2,3", [1, 2, 3, 4, 5], "a,b,c,d", [0, 5, 1, 4]):
        with pytest.raises(StacforgeError, match="bbox"):
            Query.from_params(bbox=bad)


def test_bbox_and_intersects_are_exclusive() -> None:
    with pytest.raises(StacforgeError, match="cannot be used together"):
        Query.from_params(bbox=[0, 0, 1, 1], intersects={"type": "Point", "coordinates": [0, 0]})


def test_intersects_forms(tmp_path: Path) -> None:
    polygon = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 0]]]}
    feature = {"type": "Feature", "properties": {}, "geometry": polygon}
    collection = {
        "type": "FeatureCollection",
        "features": [feature, {**feature, "geometry": {"type": "Point", "coordinates": [5, 5]}}],
    }
    (tmp_path / "area.geojson").write_text(json.dumps(collection))
    assert shapely.equals(
        Query.from_params(intersects=polygon).intersects, shapely.geometry.shape(polygon)
    )
    assert Query.from_params(intersects=feature).intersects.geom_type == "Polygon"
    from_file = Query.from_params(intersects=str(tmp_path / "area.geojson")).intersects
    assert from_file.geom_type == "GeometryCollection"
    with pytest.raises(StacforgeError, match="cannot read"):
        Query.from_params(intersects=str(tmp_path / "missing.geojson"))
    with pytest.raises(StacforgeError, match="not a GeoJSON geometry"):
        Query.from_params(intersects={"type": "Polygon"})


def test_label_conditions() -> None:
    query = Query.from_params(labels=["clc_412>0.8", "clc_512 <= 10"], label_any="a, b,c>=1.0")
    assert query.labels == (
        LabelCondition(("clc_412",), ">", 0.8),
        LabelCondition(("clc_512",), "<=", 10.0),
        LabelCondition(("a", "b", "c"), ">=", 1.0),
    )
    with pytest.raises(StacforgeError, match="use label_any"):
        Query.from_params(labels=["a,b>1"])
    with pytest.raises(StacforgeError, match="CLASS<op>NUMBER"):
        Query.from_params(labels=["clc_412"])
    with pytest.raises(StacforgeError, match="no number"):
        Query.from_params(labels=["clc_412>high"])


def test_label_conditions_on_shares() -> None:
    query = Query.from_params(labels=["corn>=30%", "corn >= 5000"], label_any="corn,soy < 12.5 %")
    assert query.labels == (
        LabelCondition(("corn",), ">=", 0.3, share=True),
        LabelCondition(("corn",), ">=", 5000.0),
        LabelCondition(("corn", "soy"), "<", 0.125, share=True),
    )
    for text in ("corn>=%", "corn>=30%%", "corn>=3%0"):
        with pytest.raises(StacforgeError, match=r"PERCENT%|no number"):
            Query.from_params(labels=[text])


def test_sortby_and_limits() -> None:
    assert Query.from_params(sortby="-datetime,+id,properties.gsd").sortby == (
        SortKey("datetime", True),
        SortKey("id", False),
        SortKey("gsd", False),
    )
    assert Query.from_params(sortby=[{"field": "id", "direction": "desc"}]).sortby == (
        SortKey("id", True),
    )
    assert Query.from_params(limit=5, max_items=3).max_items == 3
    assert Query.from_params(limit=5, max_items=3).limit == 3  # as pystac-client
    assert Query.from_params(limit=5).max_items is None
    with pytest.raises(StacforgeError, match="direction"):
        Query.from_params(sortby=[{"field": "id", "direction": "up"}])


def test_filters_parse_text_and_json() -> None:
    text = Query.from_params(filter="gsd < 10 AND collection = 'a'").filter
    json = Query.from_params(
        filter={
            "op": "and",
            "args": [
                {"op": "<", "args": [{"property": "gsd"}, 10]},
                {"op": "=", "args": [{"property": "collection"}, "a"]},
            ],
        }
    ).filter
    assert text is not None and json is not None
    assert text["op"] == json["op"] == "and"
    with pytest.raises(StacforgeError, match="invalid CQL2"):
        Query.from_params(filter="gsd <")


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(StacforgeError, match="unknown search parameter"):
        Query.from_params(bboxx=[0, 0, 1, 1])


def test_asset_filters() -> None:
    query = Query.from_params(asset_keys=["sr_2018-*", "s2_*"], asset_roles="data")
    assert query.asset_keys is not None
    assert query.asset_keys.fullmatch("sr_2018-05-03")
    assert not query.asset_keys.fullmatch("qa_2018-05-03")
    assert query.asset_roles == frozenset({"data"})
    assert query.filters_assets
    assert not Query.from_params(bbox=[0, 0, 1, 1]).filters_assets


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ("181,0,190,10", "longitudes"),
        ("-200,-100,200,100", "longitudes"),
        ("13,52,14,95", "latitudes"),
        ([0, float("nan"), 1, 1], "finite"),
        ([0, 0, float("inf"), 1], "finite"),
        ("0,0,1", "4 or 6"),
        ("0,0,5,1,1,2", "bottom"),
        ("0,10,1,5", "north"),
    ],
)
def test_bbox_the_stac_api_rejects_is_rejected_in_one_line(bbox: Any, message: str) -> None:
    with pytest.raises(StacforgeError, match=message) as raised:
        Query.from_params(bbox=bbox)
    assert "\n" not in str(raised.value)


def test_bbox_across_the_antimeridian_and_3d_are_valid() -> None:
    assert Query.from_params(bbox="170,-10,-170,10").bbox == (170.0, -10.0, -170.0, 10.0)
    assert Query.from_params(bbox=[-180, -90, -5, 180, 90, 5]).bbox == (-180.0, -90.0, 180.0, 90.0)


@pytest.mark.parametrize("sortby", [",,", "", "-", "id,,datetime", []])
def test_empty_sortby_fields_are_rejected(sortby: Any) -> None:
    with pytest.raises(StacforgeError, match="sortby"):
        Query.from_params(sortby=sortby)
