"""CQL2 filters give cql2-rs's own answers (``cql2.Expr.matches`` on the item JSON).

Each catalog is indexed on its own and all are searched together, so a property one catalog
has is absent (a null column, or no column) in the others; cql2-rs sees such a property as
null. Expressions are made from the values the items hold: every comparison, ``IN``,
``LIKE``, ``BETWEEN``, ``IS NULL``, ``CASEI``, ``ACCENTI``, arithmetic, spatial and temporal
operator, and comparisons of mismatched types.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cql2
import pytest
import shapely
import shapely.geometry

from stacforge.index import open_index
from stacforge.index.search import Index

from .conftest import REALWORLD

Item = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
CATALOGS = [*(f"realworld/{name}" for name in REALWORLD), "catalogs/rapidai4eo"]


def _catalog_path(name: str, realworld: Path) -> Path:
    if name.startswith("realworld/"):
        return realworld / name.removeprefix("realworld/") / "catalog.json"
    return ROOT / name / "catalog.json"


@pytest.fixture(scope="module")
def searched(
    tmp_path_factory: pytest.TempPathFactory,
    realworld: Path,
    catalog_items: Callable[[Path], list[tuple[Item, str]]],
    write_index: Callable[..., dict[str, Any]],
) -> tuple[Index, list[Item]]:
    """Every catalog indexed on its own, opened together; and every item's JSON."""
    folder = tmp_path_factory.mktemp("parity")
    paths, everything = [], []
    for number, name in enumerate(CATALOGS):
        items = catalog_items(_catalog_path(name, realworld))
        if name == "realworld/pystac-test-case-1":
            # Items without geometry, and a property only some items have.
            items[0][0]["geometry"] = None
            items[0][0].pop("bbox", None)
            items[1][0]["properties"]["title"] = "Sentinel-2 Ĺevel 22_01"
        write_index(folder / str(number), items)
        paths.append(folder / str(number))
        everything += [item for item, _ in items]
    return open_index(*paths), everything


def _scalar_values(items: list[Item]) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    for item in items:
        for name, value in item["properties"].items():
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                values.setdefault(name, []).append(value)
    return values


def _quote(value: Any) -> str:
    return "'" + value.replace("'", "''") + "'" if isinstance(value, str) else repr(value)


def _expressions(items: list[Item]) -> list[str]:
    """CQL2 text expressions over the properties and values of ``items``."""
    found = ["id > 5", "id > '5'", "gsd = 'ten'", "title IS NULL", "NOT (gsd IN (3))"]
    found += ["gsd IN (3, 10)", "constellation IN ('sentinel-2')", "constellation LIKE 'sent%'"]
    found += ["CASEI(constellation) = CASEI('SENTINEL-2')", "ACCENTI(constellation) = ACCENTI('x')"]
    found += ["CASEI(title) LIKE CASEI('sentinel%')", "ACCENTI(title) LIKE ACCENTI('%22_01')"]
    found += ["ACCENTI(CASEI(title)) LIKE 'sentinel-2 level%'", "gsd + 1 > 10", "gsd * 2 <= 20"]
    for name, values in sorted(_scalar_values(items).items()):
        if name in ("datetime", "start_datetime", "end_datetime", "created", "updated"):
            continue
        first, last = values[0], values[-1]
        p = f'"{name}"' if ":" in name else name
        found += [f"{p} = {_quote(first)}", f"{p} <> {_quote(first)}", f"{p} IS NULL"]
        found += [f"{p} < {_quote(last)}", f"{p} >= {_quote(last)}"]
        found += [f"{p} IN ({_quote(first)}, {_quote(last)})", f"NOT ({p} IN ({_quote(first)}))"]
        found += [f"NOT ({p} = {_quote(first)})", f"{p} = {_quote(first)} OR id = 'none'"]
        if isinstance(first, str):
            found += [f"{p} LIKE {_quote(first[:3] + '%')}", f"{p} LIKE {_quote('%' + first[-2:])}"]
            found += [f"CASEI({p}) = CASEI({_quote(first.upper())})"]
            found += [f"CASEI({p}) LIKE CASEI({_quote(first[:3].upper() + '%')})"]
            found += [f"ACCENTI({p}) = ACCENTI({_quote(first)})", f"{p} = 3"]
        else:
            low, high = sorted((first, last))
            found += [f"{p} BETWEEN {low} AND {high}", f"{p} = 'text'", f"{p} - 1 < {low}"]
    located = [i for i in items if i["geometry"]]
    shape = shapely.geometry.shape(located[0]["geometry"])
    # Rounded outwards: cql2's text parser can move a 17-digit number by one ulp.
    west, south = (math.floor(v * 1e6) / 1e6 for v in shape.bounds[:2])
    east, north = (math.ceil(v * 1e6) / 1e6 for v in shape.bounds[2:])
    box = f"POLYGON(({west} {south},{east} {south},{east} {north},{west} {north},{west} {south}))"
    for op in ("S_INTERSECTS", "S_DISJOINT", "S_WITHIN", "S_CONTAINS", "S_EQUALS", "S_TOUCHES"):
        found.append(f"{op}(geometry, {box})")
    found.append(f"NOT S_INTERSECTS(geometry, POINT({shape.centroid.x} {shape.centroid.y}))")
    times = sorted(i["properties"]["datetime"] for i in items if i["properties"].get("datetime"))
    start, end = times[len(times) // 4], times[3 * len(times) // 4]
    interval = f"INTERVAL('{start}', '{end}')"
    for op in ("T_INTERSECTS", "T_DURING", "T_DISJOINT", "T_BEFORE", "T_AFTER"):
        found.append(f"{op}(datetime, {interval})")
    found += [f"datetime > TIMESTAMP('{start}')", f"datetime <= TIMESTAMP('{end}')"]
    found += [f"T_AFTER(datetime, TIMESTAMP('{start}'))", f"T_EQUALS(datetime, TIMESTAMP('{end}'))"]
    for name in ("start_datetime", "end_datetime", "created", "updated"):
        found += [f"{name} >= TIMESTAMP('{start}')", f"{name} IS NULL"]
        found += [f"T_BEFORE({name}, TIMESTAMP('{end}'))"]
    found += [f"T_INTERSECTS(INTERVAL(start_datetime, end_datetime), {interval})"]
    found += FIXED
    return found


FIXED = [
    "datetime > DATE('2018-01-01')",
    "datetime < DATE('2018-06-01')",
    "T_DURING(INTERVAL(start_datetime, end_datetime), INTERVAL('2017-01-01T00:00:00Z', '..'))",
    "T_INTERSECTS(datetime, INTERVAL('..', '2018-01-01T00:00:00Z'))",
    "S_INTERSECTS(geometry, BBOX(-180, -90, 0, 90))",
    "S_WITHIN(geometry, BBOX(-10, -10, 50, 10))",
    "\"label:type\" = 'vector'",
    "\"label:type\" IN ('vector', 'raster')",
    "CASEI(\"label:type\") = 'VECTOR'",
    "NOT (\"label:type\" = 'vector')",
    "gsd > 5 AND NOT (gsd < 100)",
    "collection = 'rapidai4eo_v1_labels' OR gsd IS NULL",
    "id LIKE '%labels%'",
    "id LIKE 'rapidai4eo\\_v1%'",
    "CASEI(id) LIKE '%LABELS%'",
    "datetime = TIMESTAMP('2018-01-01T00:00:00Z')",
    "datetime IS NULL",
    '"proj:epsg" = 32633',
    '"proj:epsg" BETWEEN 32600 AND 32700',
    "T_AFTER(datetime, DATE('2018-01-01'))",
    "gsd / 2 > 1",
    "-gsd < -5",
    "gsd ^ 2 > 1",
    "S_INTERSECTS(geometry, POINT(39.2 -6.8))",
    "S_CROSSES(geometry, LINESTRING(-180 0, 180 0))",
    "S_OVERLAPS(geometry, BBOX(39,-7,39.3,-6.5))",
    "S_TOUCHES(geometry, BBOX(0,0,1,1))",
    "T_STARTS(datetime, INTERVAL('2018-01-01T00:00:00Z','2019-01-01T00:00:00Z'))",
    "T_METBY(INTERVAL(start_datetime,end_datetime), TIMESTAMP('2018-12-31T00:00:00Z'))",
]
"""Dates, open intervals, BBOX literals, quoted names, unary minus, other spatial and temporal
relations, over the real and sample catalogs."""


def _with_nulls(item: Item, names: set[str]) -> Item:
    """The item JSON with each of ``names`` it lacks set to null (as the index reads it)."""
    nulled = copy.deepcopy(item)
    for name in names - {"id", "collection", "geometry"}:
        nulled["properties"].setdefault(name.removeprefix("properties."), None)
    return nulled


def _cql2_rs(expr: cql2.Expr, item: Item) -> bool:
    try:
        return bool(expr.matches(item))
    except Exception as error:  # cql2-rs: "Could not reduce expression to boolean" = unknown
        assert "reduce" in str(error), error
        return False


def test_every_expression_matches_what_cql2_rs_matches(searched: tuple[Index, list[Item]]) -> None:
    index, items = searched
    names = set().union(*(item["properties"] for item in items)) | {"gsd", "title"}
    nulled = [_with_nulls(item, names) for item in items]
    checked, differ = 0, []
    for text in _expressions(items):
        expr = cql2.Expr(text)
        expected = sorted(item["id"] for item in nulled if _cql2_rs(expr, item))
        found = sorted(index.ids(filter=text))
        if found != expected:
            differ.append((text, len(found), len(expected)))
        checked += 1
    assert checked > 150
    assert differ == [], "\n".join(map(str, differ))


ISSUE_EXAMPLES = [
    "gsd IN (3, 10)",
    "constellation IN ('sentinel-2')",
    "NOT (gsd IN (3))",
    "constellation LIKE 'sent%'",
    "CASEI(constellation) = CASEI('SENTINEL-2')",
    "ACCENTI(constellation) = ACCENTI('x')",
    "CASEI(title) LIKE CASEI('sentinel%')",
    "ACCENTI(title) LIKE ACCENTI('%22_01')",
    "id > 5",
    "gsd = 'ten'",
]


@pytest.mark.parametrize("text", ISSUE_EXAMPLES)
def test_one_index_with_and_without_the_property(
    text: str, index_of: Callable[..., Path], make_item: Callable[..., Item]
) -> None:
    """On one index: items with the property, items without it, and (second index) a whole
    index without it; formerly errors, tracebacks or silent misses."""
    having = [
        make_item("s2", 0, 0, properties={"gsd": 10, "constellation": "Sentinel-2"}),
        make_item("s1", 1, 1, properties={"gsd": 3, "title": "Sentinel-1 Ĺevel 22_01"}),
        make_item("bare", 2, 2),
    ]
    lacking = [make_item("other", 3, 3, properties={"platform": "x"})]
    index = open_index(
        index_of([(item, f"{item['id']}.json") for item in having]),
        index_of([(item, f"{item['id']}.json") for item in lacking]),
    )
    names = {"gsd", "constellation", "title"}
    expr = cql2.Expr(text)
    expected = sorted(i["id"] for i in having + lacking if _cql2_rs(expr, _with_nulls(i, names)))
    assert sorted(index.ids(filter=text)) == expected


@pytest.mark.parametrize(
    "text", ["n IN (3.5, 4)", "n IN (3.0)", "n IN ('3', 4)", "n BETWEEN 2.5 AND 3.5", "n < 3.5"]
)
def test_integers_against_fractions_and_text(
    text: str, index_of: Callable[..., Path], make_item: Callable[..., Item]
) -> None:
    having = [make_item(f"n{n}", n, 0, properties={"n": n}) for n in range(6)]
    index = open_index(index_of([(item, f"{item['id']}.json") for item in having]))
    expr = cql2.Expr(text)
    expected = sorted(i["id"] for i in having if _cql2_rs(expr, i))
    assert sorted(index.ids(filter=text)) == expected
