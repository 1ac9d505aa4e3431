"""The DeepOrchidSeries builder: footprints, assets and dates, species classes, splits, regions,
search, and bad input, on real CSV and 16-bit PNG files written by the sample writer."""

from __future__ import annotations

import csv
import json
import os
import shutil
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import shapely
import shapely.geometry
from pyproj import Transformer

from stacforge import open_index
from stacforge.builder import build
from stacforge.cli import cli
from stacforge.datasets.deeporchidseries import constants as c
from stacforge.datasets.deeporchidseries.footprint import patch_footprint
from stacforge.datasets.deeporchidseries.png import encode_png, read_png_header
from stacforge.datasets.deeporchidseries.reader import Occurrence, folder_tasks, scan_occurrences
from stacforge.datasets.deeporchidseries.regions import Regions
from stacforge.datasets.deeporchidseries.sample import write_sample
from stacforge.datasets.deeporchidseries.split import block_split
from stacforge.errors import InputError, StacforgeError

NAME = c.NAME


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("dos-source"), count=36, seed=0)


@pytest.fixture(scope="module")
def catalog(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dos-catalog") / "catalog"
    return build(NAME, source, out, workers=2).catalog


@pytest.fixture(scope="module")
def rows(source: Path) -> dict[str, dict[str, str]]:
    with (source / c.CSV_FILE).open(newline="") as f:
        return {row["gbifid"]: row for row in csv.DictReader(f, delimiter=";")}


@pytest.fixture(scope="module")
def items(catalog: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    found = {}
    for path in catalog.parent.rglob("deeporchidseries_*.json"):
        item = json.loads(path.read_bytes())
        found[item["properties"]["gbif_id"]] = (path, item)
    return {str(k): v for k, v in found.items()}


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A fresh sample of six occurrences, to break."""
    return write_sample(tmp_path / "source", count=6, seed=1)


def _collection(catalog: Path) -> dict[str, Any]:
    return json.loads((catalog.parent / c.COLLECTION / "collection.json").read_bytes())


def _csv_rows(source: Path) -> list[list[str]]:
    with (source / c.CSV_FILE).open(newline="") as f:
        return list(csv.reader(f, delimiter=";"))


def _write_csv(source: Path, rows: list[list[str]]) -> None:
    with (source / c.CSV_FILE).open("w", newline="") as f:
        csv.writer(f, delimiter=";", lineterminator="\n").writerows(rows)


def _first_patch(source: Path, gbifid: str, kind: str = "RGB") -> Path:
    folder = source / c.IMAGES_FOLDER / gbifid[-2:] / gbifid[-4:-2]
    return sorted(folder.glob(f"{kind}_*_{gbifid}_.png"))[0]


# Footprints


def _side_lengths(geometry: dict[str, Any], code: str) -> list[float]:
    to_utm = Transformer.from_crs("EPSG:4326", code, always_xy=True)
    shape = shapely.geometry.shape(geometry)
    parts = list(shape.geoms) if shape.geom_type == "MultiPolygon" else [shape]
    xs, ys = [], []
    for part in parts:
        for lon, lat in part.exterior.coords:
            x, y = to_utm.transform(lon, lat)
            xs.append(x)
            ys.append(y)
    return [max(xs) - min(xs), max(ys) - min(ys)]


@pytest.mark.parametrize(
    ("longitude", "latitude", "code"),
    [
        (3.87, 43.61, "EPSG:32631"),  # north, east
        (-75.57, 6.24, "EPSG:32618"),  # north, west
        (47.52, -18.91, "EPSG:32738"),  # south, east
        (-78.50, -0.20, "EPSG:32717"),  # south, west, at the equator
    ],
)
def test_footprint_is_the_640_m_utm_square_around_the_point(
    longitude: float, latitude: float, code: str
) -> None:
    footprint = patch_footprint(longitude, latitude)
    assert footprint.proj_code == code
    assert footprint.geometry["type"] == "Polygon"
    polygon = shapely.geometry.shape(footprint.geometry)
    assert polygon.contains(shapely.Point(longitude, latitude))
    assert polygon.exterior.is_ccw
    assert _side_lengths(footprint.geometry, code) == pytest.approx([640.0, 640.0], abs=1e-3)
    west, south, east, north = footprint.bbox
    assert west < longitude < east and south < latitude < north
    # proj:transform puts the 64 x 64 grid's upper-left corner 320 m west and north of the point.
    x, y = Transformer.from_crs("EPSG:4326", code, always_xy=True).transform(longitude, latitude)
    size, _, left, _, negative, top = footprint.proj_transform
    assert (size, negative) == (10.0, -10.0)
    assert (left, top) == pytest.approx((x - 320.0, y + 320.0))


@pytest.mark.parametrize(
    ("longitude", "latitude", "code"),
    [
        (179.9995, -16.80, "EPSG:32760"),  # south, just west of the antimeridian
        (-179.9995, 65.80, "EPSG:32601"),  # north, just east of it
    ],
)
def test_footprint_next_to_the_antimeridian_is_split_along_it(
    longitude: float, latitude: float, code: str
) -> None:
    footprint = patch_footprint(longitude, latitude)
    assert footprint.proj_code == code
    assert footprint.geometry["type"] == "MultiPolygon"
    west, _, east, _ = footprint.bbox
    assert west > east  # the box runs east across the antimeridian
    assert 179.99 < west < 180.0 and -180.0 < east < -179.99
    for polygon in shapely.geometry.shape(footprint.geometry).geoms:
        lons = [lon for lon, _ in polygon.exterior.coords]
        assert max(lons) - min(lons) < 0.01  # no piece wraps around the globe
    # The split points are interpolated in longitude/latitude: millimetres off the UTM edges.
    assert _side_lengths(footprint.geometry, code) == pytest.approx([640.0, 640.0], abs=0.01)


def test_items_in_both_hemispheres_and_across_the_antimeridian(
    items: dict[str, tuple[Path, dict[str, Any]]], rows: dict[str, dict[str, str]]
) -> None:
    assert set(items) == set(rows)
    codes = set()
    split_items = 0
    for gbifid, (_, item) in items.items():
        row = rows[gbifid]
        point = shapely.Point(float(row["decimallongitude"]), float(row["decimallatitude"]))
        footprint = shapely.geometry.shape(item["geometry"])
        if item["geometry"]["type"] == "MultiPolygon":
            split_items += 1
            assert item["bbox"][0] > item["bbox"][2]
        else:
            assert footprint.contains(point)
        codes.add(item["properties"]["proj:code"][:8])
        assert item["properties"]["proj:shape"] == [64, 64]
    assert codes == {"EPSG:326", "EPSG:327"}
    assert split_items >= 4


# Assets and dates


def test_24_monthly_assets_with_dates_bands_and_relative_hrefs(
    catalog: Path, source: Path, items: dict[str, tuple[Path, dict[str, Any]]]
) -> None:
    for gbifid, (path, item) in items.items():
        assets = item["assets"]
        keys = {f"{kind}_{m:02d}" for kind in ("rgb", "ir") for m in range(1, 13)}
        assert set(assets) == keys | {"labels"}
        months = []
        for key in sorted(keys):
            asset = assets[key]
            assert asset["type"] == "image/png" and asset["roles"] == ["data"]
            assert asset["data_type"] == "uint16"
            # The catalog root is published at SOURCE: the href leads from the item there.
            relative = os.path.relpath(path.parent / asset["href"], catalog.parent)
            file = source / relative
            assert file.is_file(), asset["href"]
            kind, year, month = file.name.split("_")[:3]
            assert key == f"{'rgb' if kind == 'RGB' else 'ir'}_{month}"
            assert gbifid in file.name
            assert asset["datetime"] == f"{year}-{month}-15T00:00:00Z"
            assert asset["file:size"] == file.stat().st_size
            names = [band["eo:common_name"] for band in asset["bands"]]
            assert names == (["red", "green", "blue"] if kind == "RGB" else ["nir"])
            months.append(f"{year}-{month}")
        first, last = min(months), max(months)
        properties = item["properties"]
        assert properties["datetime"] is None
        assert properties["start_datetime"] == f"{first}-01T00:00:00Z"
        assert properties["end_datetime"].startswith(last)
        assert properties["end_datetime"].endswith("T23:59:59Z")
        assert len(set(months)) == 12


def test_a_series_across_new_year(items: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    crossing = [
        item
        for _, item in items.values()
        if item["properties"]["start_datetime"] == "2017-10-01T00:00:00Z"
    ]
    assert crossing
    for item in crossing:
        assert item["properties"]["end_datetime"] == "2018-09-30T23:59:59Z"
        assert item["assets"]["rgb_10"]["datetime"] == "2017-10-15T00:00:00Z"
        assert item["assets"]["rgb_09"]["datetime"] == "2018-09-15T00:00:00Z"


def test_asset_href_base_makes_absolute_hrefs(small: Path, tmp_path: Path) -> None:
    base = "https://example.org/deeporchidseries"
    out = build(NAME, small, tmp_path / "out", asset_href_base=base, index=False).catalog
    item_file = next(out.parent.rglob("deeporchidseries_*.json"))
    item = json.loads(item_file.read_bytes())
    gbifid = str(item["properties"]["gbif_id"])
    href = item["assets"]["ir_05"]["href"]
    assert href.startswith(f"{base}/{c.IMAGES_FOLDER}/{gbifid[-2:]}/{gbifid[-4:-2]}/IR0_")
    assert _collection(out)["assets"]["occurrences"]["href"] == f"{base}/{c.CSV_FILE}"


# Species classes and labels


def test_collection_lists_every_species_and_the_model_class_index(
    catalog: Path, source: Path, rows: dict[str, dict[str, str]]
) -> None:
    collection = _collection(catalog)
    summaries = collection["summaries"]
    index = json.loads((source / c.CLASS_INDEX_FILE).read_text())
    species = {int(row["speciesKey"]) for row in rows.values()} | set(index.values())
    assert summaries["label:classes"] == [{"name": "species_key", "classes": sorted(species)}]
    assert summaries["deeporchidseries:class_index"] == [index[str(i)] for i in range(len(index))]
    assert summaries["label:type"] == ["vector"]
    assert summaries["label:tasks"] == ["classification"]
    assert summaries["ml-aoi:split"]
    assert collection["assets"]["occurrences"]["href"] == f"../{c.CSV_FILE}"
    assert collection["assets"]["class_index"]["href"] == f"../{c.CLASS_INDEX_FILE}"
    assert any(link["rel"] == "cite-as" for link in collection["links"])


def test_items_carry_their_species_as_vector_label(
    source: Path, items: dict[str, tuple[Path, dict[str, Any]]], rows: dict[str, dict[str, str]]
) -> None:
    index = {v: int(k) for k, v in json.loads((source / c.CLASS_INDEX_FILE).read_text()).items()}
    for gbifid, (path, item) in items.items():
        row, properties = rows[gbifid], item["properties"]
        key = int(row["speciesKey"])
        assert properties["species_key"] == key
        assert properties["canonical_name"] == row["canonical_name"]
        assert properties["class_index"] == index[key]
        assert properties["label:type"] == "vector"
        assert properties["label:tasks"] == ["classification"]
        assert properties["label:properties"] == ["species_key"]
        assert properties["label:classes"] == [{"name": "species_key", "classes": [key]}]
        assert properties["label:overviews"][0]["counts"] == [{"name": str(key), "count": 1}]
        assert properties["bot_code"] == row["bot_code"]
        assert properties["continent_code"] == row["continent_code"]
        assert properties["lvl2_code"] == row["lvl2_code"]
        labels = item["assets"]["labels"]
        assert labels["roles"] == ["labels", "labels-vector"]
        assert labels["href"] == "./labels.geojson"
        geojson = json.loads((path.parent / "labels.geojson").read_bytes())
        (feature,) = geojson["features"]
        assert feature["geometry"] == {
            "type": "Point",
            "coordinates": [float(row["decimallongitude"]), float(row["decimallatitude"])],
        }
        assert feature["properties"]["species_key"] == key
        assert any(link["rel"] == "via" and gbifid in link["href"] for link in item["links"])


def test_without_index_json_there_is_no_class_index(small: Path, tmp_path: Path) -> None:
    (small / c.CLASS_INDEX_FILE).unlink()
    out = build(NAME, small, tmp_path / "out", index=False).catalog
    assert "deeporchidseries:class_index" not in _collection(out)["summaries"]
    for path in out.parent.rglob("deeporchidseries_*.json"):
        assert "class_index" not in json.loads(path.read_bytes())["properties"]


# Splits


def test_occurrences_of_one_block_share_a_split(
    items: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    by_block = defaultdict(set)
    for _, item in items.values():
        by_block[item["properties"]["cell_index"]].add(item["properties"]["ml-aoi:split"])
    assert any(len(v) == 1 for v in by_block.values())
    assert all(len(splits) == 1 for splits in by_block.values())
    assert len(by_block) < len(items)  # the sample has blocks with several occurrences


def test_block_split_follows_fractions_and_seed() -> None:
    blocks = [str(n) for n in range(20_000)]
    splits = [block_split(b, seed=0, train=0.8, validate=0.1) for b in blocks]
    assert splits == [block_split(b, seed=0, train=0.8, validate=0.1) for b in blocks]
    shares = {s: splits.count(s) / len(blocks) for s in ("train", "validate", "test")}
    assert shares == pytest.approx({"train": 0.8, "validate": 0.1, "test": 0.1}, abs=0.01)
    reseeded = [block_split(b, seed=7, train=0.8, validate=0.1) for b in blocks]
    assert reseeded != splits
    assert {block_split(b, seed=0, train=1.0, validate=0.0) for b in blocks} == {"train"}


def test_split_options(small: Path, tmp_path: Path) -> None:
    out = build(
        NAME, small, tmp_path / "out", index=False, train_fraction=0.0, validate_fraction=0.0
    )
    for path in out.catalog.parent.rglob("deeporchidseries_*.json"):
        assert json.loads(path.read_bytes())["properties"]["ml-aoi:split"] == "test"
    with pytest.raises(StacforgeError, match="> 1"):
        build(NAME, small, tmp_path / "bad", train_fraction=0.8, validate_fraction=0.5)
    assert not (tmp_path / "bad").exists()


# Regions


def _occurrence(gbifid: str, lat: float, lon: float, code: str = "FRA") -> Occurrence:
    return Occurrence(1, gbifid, "Ophrys apifera", lat, lon, 1, "7", "France", code, "12", "1")


def test_regions_go_deeper_only_where_a_country_is_crowded() -> None:
    regions = Regions(limit=4)
    crowded = [_occurrence(str(1000 + i), 43.5 + (i % 2) * 0.1, 3.5) for i in range(12)]
    spread = [_occurrence(str(2000 + i), 43.5 + i, 3.5 + i) for i in range(6)]
    quiet = [_occurrence("3000", 50.0, 4.0, code="BGM")]
    for occurrence in crowded + spread + quiet:
        regions.count(occurrence)
    assert regions.partition(quiet[0]) == ("1-europe", "12", "bgm")
    # FRA has 18 occurrences: by 1-degree cell; the cell n43e003 holds 13: in buckets.
    assert regions.partition(spread[3]) == ("1-europe", "12", "fra", "n46e006")
    buckets = {regions.partition(o) for o in crowded}
    assert all(p[:4] == ("1-europe", "12", "fra", "n43e003") and len(p) == 5 for p in buckets)
    assert len(buckets) > 1


# Reading


def test_each_image_folder_is_listed_once(source: Path) -> None:
    scan = scan_occurrences(source, skip_row=pytest.fail)
    tasks = list(folder_tasks(scan, sorted(scan.top_folders)))
    folders = [task.folder for task in tasks]
    assert len(folders) == len(set(folders))
    assert sum(len(task.occurrences) for task in tasks) == 36
    assert max(len(task.occurrences) for task in tasks) > 1  # occurrences share folders


def test_png_header_reader(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(
        encode_png(bytes(64 * 48 * 6), width=64, height=48, bit_depth=16, colour_type=2)
    )
    header = read_png_header(path)
    assert (header.width, header.height, header.bit_depth, header.channels) == (64, 48, 16, 3)
    assert header.size == path.stat().st_size


def test_a_csv_with_a_byte_order_mark_and_name_variants(small: Path, tmp_path: Path) -> None:
    text = (small / c.CSV_FILE).read_bytes()
    (small / c.CSV_FILE).write_bytes(b"\xef\xbb\xbf" + text)
    # File names without the trailing underscore or the month's leading zero, in lower case.
    gbifid = _csv_rows(small)[1][0]
    for patch in _first_patch(small, gbifid).parent.glob(f"*_{gbifid}_.png"):
        kind, year, month = patch.name.split("_")[:3]
        patch.rename(patch.with_name(f"{kind.lower()}_{year}_{int(month)}_{gbifid}.PNG"))
    result = build(NAME, small, tmp_path / "out", index=False)
    assert result.items == {c.COLLECTION: 6} and not result.skipped


# Search


def test_species_in_a_box_with_march_to_june_rgb_is_one_search(
    catalog: Path, rows: dict[str, dict[str, str]]
) -> None:
    species = max(
        {r["speciesKey"] for r in rows.values()},
        key=lambda k: sum(r["speciesKey"] == k for r in rows.values()),
    )
    bbox = [-180.0, -60.0, 180.0, 60.0]
    expected = {
        f"{NAME}_{gbifid}"
        for gbifid, row in rows.items()
        if row["speciesKey"] == species and abs(float(row["decimallatitude"])) < 60
    }
    assert expected
    index = open_index(catalog.parent)
    found = list(
        index.search(bbox=bbox, filter=f"species_key = {species}", asset_keys="rgb_0[3-6]").items()
    )
    assert {item.id for item in found} == expected
    for item in found:
        assert sorted(item.assets) == ["rgb_03", "rgb_04", "rgb_05", "rgb_06"]
    hrefs = list(index.hrefs(bbox=bbox, filter=f"species_key = {species}", asset_keys="rgb_0[3-6]"))
    assert len(hrefs) == 4 * len(expected)
    assert all(Path(h).name.startswith("RGB_") for h in hrefs)
    # The label filter names the species too.
    assert set(index.ids(bbox=bbox, labels=f"{species}>=1")) == expected


# Bad input


def test_a_row_with_bad_coordinates_is_a_reported_skip(small: Path, tmp_path: Path) -> None:
    rows = _csv_rows(small)
    rows[2][2] = "95.5"  # latitude
    gbifid = rows[2][0]
    _write_csv(small, rows)
    result = build(NAME, small, tmp_path / "out", index=False)
    assert result.items == {c.COLLECTION: 5}
    (skipped,) = result.skipped
    assert f"gbifid {gbifid}" in str(skipped) and "latitude 95.5 out of range" in str(skipped)

    with pytest.raises(InputError, match=rf"line 3, gbifid {gbifid}: latitude 95.5 out of range"):
        build(NAME, small, tmp_path / "strict", strict=True)
    assert not (tmp_path / "strict").exists()


def test_a_row_without_images_is_a_reported_skip(small: Path, tmp_path: Path) -> None:
    rows = _csv_rows(small)
    rows.append(["987654321", *rows[1][1:]])
    _write_csv(small, rows)
    result = build(NAME, small, tmp_path / "out", index=False)
    assert result.items == {c.COLLECTION: 6}
    assert [str(e) for e in result.skipped] == [
        f"{small / c.CSV_FILE}: line 8, gbifid 987654321: no images in {c.IMAGES_FOLDER}/21/43"
    ]
    with pytest.raises(InputError, match="gbifid 987654321: no images"):
        build(NAME, small, tmp_path / "strict", strict=True)
    assert not (tmp_path / "strict").exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:-40]), "truncated PNG"),
        (lambda p: p.write_bytes(b"GIF89a" + p.read_bytes()[6:]), "not a PNG file"),
        (lambda p: p.write_bytes(p.read_bytes()[:20] + b"\xff" + p.read_bytes()[21:]), "checksum"),
        (
            lambda p: p.write_bytes(
                encode_png(bytes(32 * 32 * 6), width=32, height=32, bit_depth=16, colour_type=2)
            ),
            "32 x 32 px, expected 64 x 64",
        ),
        (
            lambda p: p.write_bytes(
                encode_png(bytes(64 * 64 * 3), width=64, height=64, bit_depth=8, colour_type=2)
            ),
            "8-bit samples, expected 16-bit",
        ),
        (
            lambda p: p.write_bytes(
                encode_png(bytes(64 * 64 * 2), width=64, height=64, bit_depth=16, colour_type=0)
            ),
            "1 channel",
        ),
    ],
    ids=["truncated", "not-png", "bad-crc", "wrong-size", "8-bit", "grey-rgb"],
)
def test_a_bad_png_is_a_one_line_error_or_a_skip(
    small: Path, tmp_path: Path, damage: Any, message: str
) -> None:
    gbifid = _csv_rows(small)[1][0]
    patch = _first_patch(small, gbifid)
    damage(patch)
    with pytest.raises(InputError) as failure:
        build(NAME, small, tmp_path / "out")
    assert str(failure.value).startswith(f"{patch}: ")
    assert message in str(failure.value) and "\n" not in str(failure.value)
    assert not (tmp_path / "out").exists()

    result = build(NAME, small, tmp_path / "skip", skip_invalid=True, index=False)
    assert result.items == {c.COLLECTION: 5}
    assert [str(patch) in str(e) for e in result.skipped] == [True]


def test_a_missing_month_names_the_missing_file(small: Path, tmp_path: Path) -> None:
    gbifid = _csv_rows(small)[1][0]
    patches = sorted(_first_patch(small, gbifid, "IR0").parent.glob(f"IR0_*_{gbifid}_.png"))
    missing = patches[5]
    missing.unlink()
    with pytest.raises(InputError, match="has no IR0 patch for") as failure:
        build(NAME, small, tmp_path / "out")
    assert str(failure.value).startswith(f"{missing}: missing")


def test_a_month_outside_the_series_is_bad_input(small: Path, tmp_path: Path) -> None:
    gbifid = _csv_rows(small)[1][0]
    last = sorted(_first_patch(small, gbifid).parent.glob(f"RGB_*_{gbifid}_.png"))[-1]
    stray = last.with_name(f"RGB_2031_01_{gbifid}_.png")
    shutil.copy(last, stray)
    with pytest.raises(InputError, match="outside the twelve months"):
        build(NAME, small, tmp_path / "out")


def test_a_duplicate_gbifid_is_bad_input(small: Path, tmp_path: Path) -> None:
    rows = _csv_rows(small)
    _write_csv(small, [*rows, rows[2]])
    with pytest.raises(InputError, match=rf"line 8, gbifid {rows[2][0]}: duplicate gbifid"):
        build(NAME, small, tmp_path / "out")


def test_a_missing_column_or_csv(small: Path, tmp_path: Path) -> None:
    rows = _csv_rows(small)
    _write_csv(small, [[v for i, v in enumerate(row) if i != 4] for row in rows])
    with pytest.raises(InputError, match="line 1: no column 'speciesKey'"):
        build(NAME, small, tmp_path / "out")
    (small / c.CSV_FILE).unlink()
    with pytest.raises(InputError, match=r"DeepOrchidSeries\.csv: missing file"):
        build(NAME, small, tmp_path / "out")


def test_a_bad_index_json(small: Path, tmp_path: Path) -> None:
    (small / c.CLASS_INDEX_FILE).write_text('{"0": "not a key"}')
    with pytest.raises(InputError, match=r"index\.json: not a class index and speciesKey"):
        build(NAME, small, tmp_path / "out")


def test_cli_strict_fails_with_one_line(small: Path, tmp_path: Path, runner: Any) -> None:
    rows = _csv_rows(small)
    rows[3][3] = "-200"
    _write_csv(small, rows)
    help_text = runner.invoke(cli, ["build", NAME, "--help"]).output
    for flag in ("--strict", "--train-fraction", "--validate-fraction", "--split-seed"):
        assert flag in help_text
    ok = runner.invoke(cli, ["build", NAME, str(small), str(tmp_path / "out"), "--no-index"])
    assert ok.exit_code == 0, ok.output
    assert f"skipped: {small / c.CSV_FILE}: line 4, gbifid {rows[3][0]}" in ok.stderr
    failed = runner.invoke(cli, ["build", NAME, str(small), str(tmp_path / "s"), "--strict"])
    assert failed.exit_code != 0
    assert "longitude -200.0 out of range" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1


def test_sample_pngs_are_real_16_bit_pngs(source: Path) -> None:
    rgb = next((source / c.IMAGES_FOLDER).rglob("RGB_*.png"))
    ir = next((source / c.IMAGES_FOLDER).rglob("IR0_*.png"))
    assert (read_png_header(rgb).bit_depth, read_png_header(rgb).channels) == (16, 3)
    assert (read_png_header(ir).bit_depth, read_png_header(ir).channels) == (16, 1)
    # The pixels decode: one IDAT of 64 filtered rows of 64 big-endian 16-bit RGB samples.
    data = rgb.read_bytes()
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8 : start - 4], "big")
    assert len(zlib.decompress(data[start : start + length])) == 64 * (1 + 64 * 3 * 2)


def test_collection_extents_cover_the_items_across_the_antimeridian(catalog: Path) -> None:
    collection = _collection(catalog)
    assert collection["extent"]["spatial"]["bbox"][0][::2] == [-180.0, 180.0]
    fiji = json.loads(next(catalog.parent.rglob("fij/collection.json")).read_bytes())
    assert fiji["extent"]["spatial"]["bbox"][0][::2] == [-180.0, 180.0]
    france = json.loads(next(catalog.parent.rglob("fra/collection.json")).read_bytes())
    assert 3.0 < france["extent"]["spatial"]["bbox"][0][0] < 4.0
