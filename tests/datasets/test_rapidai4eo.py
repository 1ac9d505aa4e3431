"""The RapidAI4EO builder: what the corpus tutorial says its STAC holds, and bad input."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pystac
import pytest
import shapely.geometry

from stacforge.builder import build
from stacforge.datasets.rapidai4eo.constants import (
    GEOMETRIES_FILE,
    LABEL_MAPPINGS_FILE,
    LABELS_COLLECTION,
    LABELS_FILE,
    PF_COLLECTION,
    S2_COLLECTION,
)
from stacforge.errors import InputError, StacforgeError

BASE = "https://radiantearth.blob.core.windows.net/mlhub/rapidai4eo/"


@pytest.fixture(scope="module")
def catalog(rapidai4eo_catalog: Path) -> pystac.Catalog:
    return pystac.Catalog.from_file(str(rapidai4eo_catalog))


@pytest.fixture(scope="module")
def items(catalog: pystac.Catalog) -> dict[str, pystac.Item]:
    return {item.id: item for item in catalog.get_items(recursive=True)}


@pytest.fixture(scope="module")
def source_rows(rapidai4eo_source: Path) -> dict[str, dict[str, float]]:
    with gzip.open(rapidai4eo_source / LABELS_FILE, "rt", newline="") as f:
        return {
            row.pop("sample_id"): {k: float(v) for k, v in row.items()} for row in csv.DictReader(f)
        }


@pytest.fixture(scope="module")
def source_geometries(rapidai4eo_source: Path) -> dict[str, dict]:
    with gzip.open(rapidai4eo_source / GEOMETRIES_FILE) as f:
        features = json.load(f)["features"]
    return {f["properties"]["sample_id"]: f["geometry"] for f in features}


def test_top_level_collections_and_partitions(catalog: pystac.Catalog) -> None:
    collections = {c.id: c for c in catalog.get_collections()}
    assert list(collections) == [PF_COLLECTION, S2_COLLECTION, LABELS_COLLECTION]
    for collection in collections.values():
        zones = list(collection.get_collections())
        assert zones and all(z.id.startswith(f"{collection.id}_") for z in zones)
        tiles = list(zones[0].get_collections())
        assert tiles and not list(tiles[0].get_collections())
        assert list(tiles[0].get_items())
        assert not list(collection.get_items())  # items live in tile sub-collections only
        assert collection.license and collection.providers
        assert collection.get_single_link("cite-as") is not None
        assert collection.extra_fields["item_assets"]


def test_items_per_location_with_ids_geometry_and_links(
    items: dict[str, pystac.Item], source_geometries: dict[str, dict]
) -> None:
    assert len(items) == 3 * len(source_geometries)
    for sample_id, geometry in source_geometries.items():
        pf = items[f"{PF_COLLECTION}_{sample_id}"]
        s2 = items[f"{S2_COLLECTION}_{sample_id}"]
        label = items[f"{LABELS_COLLECTION}_{sample_id}"]
        zone, tile = sample_id.split("_")[:2]
        for item, product in ((pf, PF_COLLECTION), (s2, S2_COLLECTION), (label, LABELS_COLLECTION)):
            assert item.collection_id == product
            assert item.geometry == geometry
            assert list(item.bbox) == list(shapely.geometry.shape(geometry).bounds)
            parent = item.get_parent()
            assert parent is not None and parent.id == f"{product}_{zone}_{tile}".lower()
        related = {
            link.resolve_stac_object().target.collection_id for link in pf.get_links("related")
        }
        assert related == {S2_COLLECTION, LABELS_COLLECTION}
        related = {link.resolve_stac_object().target.id for link in s2.get_links("related")}
        assert related == {pf.id, label.id}
        sources = {link.resolve_stac_object().target.id for link in label.get_links("source")}
        assert sources == {pf.id, s2.id}


def test_assets_reproduce_the_tutorial_counts(items: dict[str, pystac.Item]) -> None:
    pf = next(i for i in items.values() if i.collection_id == PF_COLLECTION)
    sample_id = pf.id.removeprefix(f"{PF_COLLECTION}_")
    s2 = items[f"{S2_COLLECTION}_{sample_id}"]
    zone, tile = sample_id.split("_")[:2]

    assets = {**pf.assets, **s2.assets}
    assert len(assets) == 304
    data_2018 = [
        a
        for a in assets.values()
        if a.has_role("data") and a.extra_fields["datetime"].startswith("2018")
    ]
    assert len(data_2018) == 85
    assert pf.assets["sr_2018-01-03"].to_dict() == {
        "href": f"{BASE}imagery/{zone}/{tile}/{sample_id}/PF-SR/2018-01-03.tif",
        "type": "image/tiff; application=geotiff",
        "datetime": "2018-01-03T10:30:00Z",
        "roles": ["data"],
    }
    assert pf.assets["qa_2019-12-29"].href.endswith("/PF-QA/2019-12-29.tif")
    assert pf.assets["qa_2019-12-29"].roles == ["metadata"]
    assert s2.assets["s2_2018-05"].to_dict() == {
        "href": f"{BASE}imagery/{zone}/{tile}/{sample_id}/S2-SR/2018-05.tif",
        "type": "image/tiff; application=geotiff",
        "datetime": "2018-05-15T10:30:00Z",
        "roles": ["data"],
    }
    # The tutorial's May 2018 filter: 12 Planet Fusion assets, 6 of them data.
    may = [
        k for k, a in pf.assets.items() if "2018-05-01" < a.extra_fields["datetime"] < "2018-06-01"
    ]
    assert len(may) == 12 and sum(k.startswith("sr_") for k in may) == 6


def test_label_items_carry_the_label_extension(
    catalog: pystac.Catalog, items: dict[str, pystac.Item], source_rows: dict[str, dict[str, float]]
) -> None:
    labels = catalog.get_child(LABELS_COLLECTION)
    assert isinstance(labels, pystac.Collection)
    classes = labels.summaries.to_dict()["label:classes"]
    assert len(classes[0]["classes"]) == 45 and "clc_412" in classes[0]["classes"]
    for sample_id, shares in source_rows.items():
        item = items[f"{LABELS_COLLECTION}_{sample_id}"]
        props = item.properties
        assert props["label:type"] == "vector"
        assert props["label:tasks"] == ["classification"]
        assert props["label:description"]
        statistics = props["label:overviews"][0]["statistics"]
        assert {s["name"]: s["value"] for s in statistics} == {k: v for k, v in shares.items() if v}
        zone, tile = sample_id.split("_")[:2]
        asset = item.assets["labels"]
        assert asset.href == f"{BASE}labels/{zone}/{tile}/labels_{sample_id}.geojson"
        assert asset.roles == ["labels", "labels-vector"]


def test_asset_href_base_and_root_href(rapidai4eo_source: Path, tmp_path: Path) -> None:
    result = build(
        "rapidai4eo",
        rapidai4eo_source,
        tmp_path / "out",
        asset_href_base="https://mirror.example.org/rai4eo",
        root_href="https://stac.example.org/rai4eo",
    )
    root = json.loads(result.catalog.read_text())
    assert {
        "rel": "self",
        "href": "https://stac.example.org/rai4eo/catalog.json",
        "type": "application/json",
    } in root["links"]
    item = next((tmp_path / "out" / PF_COLLECTION).rglob(f"{PF_COLLECTION}_*.json"))
    assert json.loads(item.read_text())["assets"]["sr_2018-01-03"]["href"].startswith(
        "https://mirror.example.org/rai4eo/imagery/"
    )


def corrupt(source: Path, tmp_path: Path, change: Callable[[Path], None]) -> Path:
    copy = tmp_path / "source"
    shutil.copytree(source, copy)
    change(copy)
    return copy


def rewrite_labels(edit: Callable[[list[list[str]]], None]) -> Callable[[Path], None]:
    def change(source: Path) -> None:
        with gzip.open(source / LABELS_FILE, "rt", newline="") as f:
            rows = list(csv.reader(f))
        edit(rows)
        with gzip.open(source / LABELS_FILE, "wt", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)

    return change


def rewrite_footprint(
    feature: int, change: Callable[[list[list[float]]], list[list[float]]]
) -> Callable[[Path], None]:
    """Replaces the outer ring of one feature of the geometries file."""

    def rewrite(source: Path) -> None:
        collection = json.loads(gzip.decompress((source / GEOMETRIES_FILE).read_bytes()))
        geometry = collection["features"][feature]["geometry"]
        geometry["coordinates"][0] = change(geometry["coordinates"][0])
        (source / GEOMETRIES_FILE).write_bytes(gzip.compress(json.dumps(collection).encode()))

    return rewrite


def footprint_id(source: Path, feature: int) -> str:
    collection = json.loads(gzip.decompress((source / GEOMETRIES_FILE).read_bytes()))
    return str(collection["features"][feature]["properties"]["sample_id"])


def set_cell(row: int, column: int, value: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        rows[row][column] = value

    return edit


BAD_INPUT = {
    "not gzip": (
        lambda s: (s / GEOMETRIES_FILE).write_bytes(b'{"type": "FeatureCollection"}'),
        rf"{GEOMETRIES_FILE}: not a gzip file",
    ),
    "missing file": (
        lambda s: (s / LABEL_MAPPINGS_FILE).unlink(),
        rf"{LABEL_MAPPINGS_FILE}: missing file",
    ),
    "row without geometry": (
        rewrite_labels(set_cell(3, 0, "33N_16E-243N_39_39")),
        rf"{LABELS_FILE}: line 4: sample_id 33N_16E-243N_39_39 has no geometry",
    ),
    "bad sample id": (
        rewrite_labels(set_cell(5, 0, "33N/16E-243N")),
        rf"{LABELS_FILE}: line 6: bad sample id '33N/16E-243N'",
    ),
    "non-numeric share": (
        rewrite_labels(set_cell(2, 7, "abc")),
        rf"{LABELS_FILE}: line 3: clc_131: 'abc' is not a number",
    ),
    "unclosed ring": (
        rewrite_footprint(0, lambda ring: ring[:-1]),
        r"footprint is not a valid polygon",
    ),
    "ring of three positions": (
        rewrite_footprint(0, lambda ring: [ring[0], ring[1], ring[0]]),
        r"footprint is not a valid polygon",
    ),
    "longitude 999": (
        rewrite_footprint(0, lambda ring: [[x + 986.0, y] for x, y in ring]),
        r"footprint outside longitude -180..180",
    ),
    "truncated gzip": (
        lambda s: (s / LABELS_FILE).write_bytes((s / LABELS_FILE).read_bytes()[:-40]),
        rf"{LABELS_FILE}: line \d+: unreadable",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_fails_with_one_line_and_writes_nothing(
    case: str, rapidai4eo_source: Path, tmp_path: Path
) -> None:
    change, message = BAD_INPUT[case]
    source = corrupt(rapidai4eo_source, tmp_path, change)
    with pytest.raises(InputError, match=message) as error:
        build("rapidai4eo", source, tmp_path / "out")
    assert "\n" not in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]


def test_skip_invalid_reports_bad_samples_and_builds_the_rest(
    rapidai4eo_source: Path, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        rows[2][7] = "abc"
        rows[4][0] = "bad-id"

    source = corrupt(rapidai4eo_source, tmp_path, rewrite_labels(edit))
    rewrite_footprint(0, lambda ring: ring[:-1])(source)
    result = build("rapidai4eo", source, tmp_path / "out", skip_invalid=True)
    # Three bad rows are skipped, each reported once; the row with a bad id leaves its footprint
    # without a label row, which is reported too.
    unclosed = footprint_id(source, 0)
    bad_rows = [e for e in result.skipped if e.path.endswith(LABELS_FILE)]
    assert len(bad_rows) == 3
    assert {"line 3", "line 5"} <= {e.record for e in bad_rows}
    assert any(unclosed in e.message for e in bad_rows)
    (orphan,) = [e for e in result.skipped if e.path.endswith(GEOMETRIES_FILE)]
    assert orphan.record == f"sample_id {rows_id(rapidai4eo_source, 4)}"
    assert result.items == {PF_COLLECTION: 117, S2_COLLECTION: 117, LABELS_COLLECTION: 117}


def test_a_byte_order_mark_before_the_headers_is_read_as_nothing(
    rapidai4eo_source: Path, tmp_path: Path
) -> None:
    def add_bom(source: Path) -> None:
        labels = gzip.decompress((source / LABELS_FILE).read_bytes())
        (source / LABELS_FILE).write_bytes(gzip.compress(b"\xef\xbb\xbf" + labels))
        mappings = (source / LABEL_MAPPINGS_FILE).read_bytes()
        (source / LABEL_MAPPINGS_FILE).write_bytes(b"\xef\xbb\xbf" + mappings)

    source = corrupt(rapidai4eo_source, tmp_path, add_bom)
    result = build("rapidai4eo", source, tmp_path / "out")
    assert sum(result.items.values()) == 360


def test_overwrite_never_replaces_the_source(rapidai4eo_source: Path, tmp_path: Path) -> None:
    source = corrupt(rapidai4eo_source, tmp_path, lambda s: None)
    for out in (source, tmp_path):
        with pytest.raises(StacforgeError, match="is SOURCE or a folder holding it"):
            build("rapidai4eo", source, out, overwrite=True)
    assert sorted(p.name for p in source.iterdir()) == sorted(
        p.name for p in rapidai4eo_source.iterdir()
    )


def rows_id(source: Path, row: int) -> str:
    with gzip.open(source / LABELS_FILE, "rt", newline="") as f:
        return list(csv.reader(f))[row][0]
