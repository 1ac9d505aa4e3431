"""The RapidAI4EO tutorial's queries on the indexes of the built sample catalog.

Ground truth comes from the corpus' own resource files the sample was built from: shapely over
the footprints of ``rapidai4eo_geometries.geojson.gz``, pandas over ``rapidai4eo_labels.csv.gz``,
and asset URLs built with the tutorial's URL pattern.
"""

from __future__ import annotations

import gzip
import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
import shapely
import shapely.geometry
from click.testing import CliRunner

from stacforge.cli import cli
from stacforge.index import Index, open_index

PF = "rapidai4eo_v1_source_pf"
S2 = "rapidai4eo_v1_source_s2"
LABELS = "rapidai4eo_v1_labels"
BERLIN = (13.05, 52.35, 13.72, 52.69)
FOREST = "clc_311,clc_312,clc_313"
BASE = "https://radiantearth.blob.core.windows.net/mlhub/rapidai4eo/imagery"
# A rough outline of Germany (concave on purpose: exact geometry tests matter).
GERMANY = shapely.Polygon(
    [
        (6.0, 51.0), (6.2, 49.5), (7.6, 47.6), (10.2, 47.3), (13.0, 47.5), (13.8, 48.8),
        (12.1, 50.3), (15.0, 51.0), (14.6, 52.6), (14.2, 53.9), (11.0, 54.0), (9.0, 54.9),
        (8.5, 53.6), (7.0, 53.5), (7.0, 52.2),
    ]
)  # fmt: skip


@pytest.fixture(scope="module")
def indexes(rapidai4eo_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One index per top-level collection, written with ``stacforge index``."""
    folder = tmp_path_factory.mktemp("rapidai4eo-indexes")
    found = {}
    for collection in (PF, S2, LABELS):
        source = rapidai4eo_catalog.parent / collection / "collection.json"
        result = CliRunner().invoke(cli, ["index", str(source), str(folder / collection)])
        assert result.exit_code == 0, result.output
        found[collection] = folder / collection
    return found


@pytest.fixture(scope="module")
def index(indexes: dict[str, Path]) -> Index:
    return open_index(*indexes.values())


@pytest.fixture(scope="module")
def footprints(rapidai4eo_source: Path) -> dict[str, shapely.Geometry]:
    with gzip.open(rapidai4eo_source / "rapidai4eo_geometries.geojson.gz") as f:
        features = json.load(f)["features"]
    return {f["properties"]["sample_id"]: shapely.geometry.shape(f["geometry"]) for f in features}


@pytest.fixture(scope="module")
def shares(rapidai4eo_source: Path) -> pd.DataFrame:
    return pd.read_csv(rapidai4eo_source / "rapidai4eo_labels.csv.gz").set_index("sample_id")


def samples(ids: list[str] | set[str], collection: str) -> set[str]:
    prefix = f"{collection}_"
    assert all(i.startswith(prefix) for i in ids)
    return {i.removeprefix(prefix) for i in ids}


def tutorial_hrefs(sample_id: str, *, qa: bool = True, year: int | None = None) -> list[str]:
    """The tutorial's URL pattern: Planet Fusion every 5 days over 2018-2019, Sentinel-2 monthly
    in 2018."""
    zone, tile = sample_id.split("_")[:2]
    folder = f"{BASE}/{zone}/{tile}/{sample_id}"
    days = [date(2018, 1, 3) + timedelta(days=5 * i) for i in range(146)]
    if year is not None:
        days = [d for d in days if d.year == year]
    hrefs = [f"{folder}/PF-SR/{d.isoformat()}.tif" for d in days]
    if qa:
        hrefs += [f"{folder}/PF-QA/{d.isoformat()}.tif" for d in days]
    return hrefs + [f"{folder}/S2-SR/2018-{m:02d}.tif" for m in range(1, 13)]


def test_berlin_box(index: Index, footprints: dict[str, shapely.Geometry]) -> None:
    box = shapely.box(*BERLIN)
    expected = {s for s, geometry in footprints.items() if geometry.intersects(box)}
    assert expected
    for collection in (PF, S2, LABELS):
        found = list(index.ids(bbox=BERLIN, collections=[collection]))
        assert samples(found, collection) == expected


def test_label_threshold(index: Index, shares: pd.DataFrame) -> None:
    expected = set(shares[shares["clc_412"] > 0.8].index)
    assert expected
    assert samples(list(index.ids(labels="clc_412>0.8", collections=PF)), PF) == expected
    assert samples(list(index.ids(labels="clc_412>0.8", collections=LABELS)), LABELS) == expected


def test_germany_and_all_forest(
    index: Index, footprints: dict[str, shapely.Geometry], shares: pd.DataFrame
) -> None:
    forest = shares[FOREST.split(",")].sum(axis=1)
    in_germany = {s for s, geometry in footprints.items() if geometry.intersects(GERMANY)}
    expected = in_germany & set(forest[forest == 1.0].index)
    assert expected
    found = index.ids(
        intersects=shapely.geometry.mapping(GERMANY), label_any=f"{FOREST}=1.0", collections=S2
    )
    assert samples(list(found), S2) == expected


def test_tutorial_figures_304_hrefs_per_location_and_85_data_hrefs_in_2018(
    index: Index, footprints: dict[str, shapely.Geometry]
) -> None:
    box = shapely.box(*BERLIN)
    berlin = sorted(s for s, geometry in footprints.items() if geometry.intersects(box))
    everything = list(index.hrefs(bbox=BERLIN, collections=[PF, S2]))
    assert len(everything) == 304 * len(berlin)
    assert set(everything) == {h for s in berlin for h in tutorial_hrefs(s)}
    data_2018 = list(
        index.hrefs(bbox=BERLIN, collections=[PF, S2], asset_roles="data", asset_datetime="2018")
    )
    assert len(data_2018) == 85 * len(berlin)
    assert set(data_2018) == {h for s in berlin for h in tutorial_hrefs(s, qa=False, year=2018)}


def test_germany_forest_image_hrefs_of_2018(
    index: Index, footprints: dict[str, shapely.Geometry], shares: pd.DataFrame
) -> None:
    forest = shares[FOREST.split(",")].sum(axis=1)
    chosen = {s for s, g in footprints.items() if g.intersects(GERMANY)} & set(
        forest[forest == 1.0].index
    )
    hrefs = index.hrefs(
        intersects=GERMANY,
        label_any=f"{FOREST}=1.0",
        asset_roles=["data"],
        asset_datetime="2018-01-01T00:00:00Z/2018-12-31T23:59:59Z",
    )
    assert sorted(hrefs) == sorted(
        h for s in chosen for h in tutorial_hrefs(s, qa=False, year=2018)
    )


def test_the_builders_indexes_answer_the_same(rapidai4eo_catalog: Path, index: Index) -> None:
    built = open_index(rapidai4eo_catalog.parent)
    assert len(built.directories) == 3
    queries: list[dict[str, object]] = [
        {"bbox": BERLIN},
        {"labels": "clc_412>0.8"},
        {"intersects": GERMANY, "label_any": f"{FOREST}=1.0", "datetime": "2018-06"},
    ]
    for query in queries:
        assert sorted(built.ids(**query)) == sorted(index.ids(**query))  # type: ignore[arg-type]
        assert sorted(built.hrefs(**query)) == sorted(index.hrefs(**query))  # type: ignore[arg-type]
