"""The HLS crop builder: footprints, bands, histograms, splits, hrefs and label searches on a
sample of real GeoTIFFs at real chip footprints, and each kind of bad input with real bytes.

Ground truth comes from the files themselves (rasterio reads of the masks and images), the
split lists, and, where ``../shared`` is present, the dataset's published chip footprints.
"""

from __future__ import annotations

import json
import posixpath
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import pytest
import rasterio
import shapely
import shapely.geometry
import shapely.ops
from click.testing import CliRunner

from stacforge import open_index
from stacforge.builder import build
from stacforge.cli import cli
from stacforge.datasets.hls_crop import reader
from stacforge.datasets.hls_crop.constants import LABELS_COLLECTION, SOURCE_COLLECTION
from stacforge.datasets.hls_crop.sample import (
    chip_origin,
    image_for,
    random_mask,
    write_chip,
    write_sample,
)
from stacforge.errors import InputError, StacforgeError

COUNT = 30
CLASS_NAMES = (
    "no_data", "natural_vegetation", "forest", "corn", "soybeans", "wetlands",
    "developed_barren", "open_water", "winter_wheat", "alfalfa", "fallow_idle_cropland",
    "cotton", "sorghum", "other",
)  # fmt: skip


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("hls-crop-source"), count=COUNT, seed=1)


@pytest.fixture(scope="module")
def catalog(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hls-crop-catalog") / "catalog"
    return build("hls-crop", source, out, workers=2).catalog


def _items(catalog: Path, collection: str) -> dict[str, tuple[Path, dict[str, Any]]]:
    found = {}
    for path in (catalog.parent / collection).rglob("*.json"):
        document = json.loads(path.read_bytes())
        if document.get("type") == "Feature":
            found[document["id"]] = (path, document)
    return found


@pytest.fixture(scope="module")
def sources(catalog: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    return _items(catalog, SOURCE_COLLECTION)


@pytest.fixture(scope="module")
def labels(catalog: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    return _items(catalog, LABELS_COLLECTION)


@pytest.fixture(scope="module")
def splits(source: Path) -> dict[str, str]:
    found = {}
    for name, split in (("training_data.txt", "train"), ("validation_data.txt", "validate")):
        for line in (source / name).read_text().split():
            found[line] = split
    return found


def _histogram(path: Path) -> list[int]:
    with rasterio.open(path) as mask:
        return np.bincount(mask.read(1).ravel(), minlength=14).tolist()


def _chip_file(source: Path, chip_id: str, suffix: str) -> Path:
    return next(source.rglob(f"{chip_id}{suffix}"))


def test_one_source_and_one_label_item_per_chip(
    sources: dict[str, Any], labels: dict[str, Any], splits: dict[str, str]
) -> None:
    assert sorted(sources) == sorted(splits)
    assert sorted(labels) == sorted(f"{chip}_labels" for chip in splits)


def test_footprints_are_the_chip_bounds_in_lonlat_with_densified_edges(
    source: Path, sources: dict[str, Any], labels: dict[str, Any]
) -> None:
    to_lonlat = pyproj.Transformer.from_crs("EPSG:5070", "EPSG:4326", always_xy=True)
    for chip_id, (_, item) in sources.items():
        with rasterio.open(_chip_file(source, chip_id, "_merged.tif")) as image:
            bounds = shapely.box(*image.bounds)
        expected = shapely.ops.transform(to_lonlat.transform, shapely.segmentize(bounds, 100))
        footprint = shapely.geometry.shape(item["geometry"])
        assert footprint.hausdorff_distance(expected) < 1e-6
        assert len(item["geometry"]["coordinates"][0]) > 5 * 4  # not just the four corners
        assert item["bbox"] == pytest.approx(list(footprint.bounds))
        assert labels[f"{chip_id}_labels"][1]["geometry"] == item["geometry"]


def test_footprints_match_the_published_chip_footprints(
    shared: Path, sources: dict[str, Any]
) -> None:
    payload = shared / "realworld" / "hls-multitemporal-crop" / "chip_payload_5070.geojson"
    published = {
        f["properties"]["id"]: shapely.geometry.shape(f["geometry"])
        for f in json.loads(payload.read_bytes())["features"]
    }
    real = [chip_id for chip_id in sources if chip_id in published]
    assert len(real) >= 24
    for chip_id in real:
        bbox = sources[chip_id][1]["properties"]["proj:bbox"]
        assert shapely.box(*bbox).equals(published[chip_id]), chip_id


def test_projection_and_bands(source: Path, sources: dict[str, Any]) -> None:
    names = ["B02", "B03", "B04", "B8A", "B11", "B12"]
    common = ["blue", "green", "red", "nir08", "swir16", "swir22"]
    for chip_id, (_, item) in sources.items():
        properties = item["properties"]
        with rasterio.open(_chip_file(source, chip_id, "_merged.tif")) as image:
            assert properties["proj:code"] == "EPSG:5070"
            assert properties["proj:shape"] == [224, 224]
            assert properties["proj:transform"][:6] == list(image.transform)[:6]
        asset = item["assets"]["image"]
        bands = asset["bands"]
        assert [b["name"] for b in bands] == [f"{n}_t{t}" for t in (1, 2, 3) for n in names]
        assert [b["eo:common_name"] for b in bands] == common * 3
        assert all(b["nodata"] == -9999 and b["data_type"] == "int16" for b in bands)
        assert all(f"time step {i // 6 + 1} of 3" in b["description"] for i, b in enumerate(bands))
        assert asset["roles"] == ["data"]
        assert properties["start_datetime"] == "2022-03-01T00:00:00Z"
        assert properties["end_datetime"] == "2022-09-30T23:59:59Z"


def test_label_items_count_the_mask_pixels_of_each_class(
    source: Path, labels: dict[str, Any]
) -> None:
    for label_id, (_, item) in labels.items():
        properties = item["properties"]
        counts = properties["label:overviews"][0]["counts"]
        expected = _histogram(_chip_file(source, label_id.removesuffix("_labels"), ".mask.tif"))
        assert [entry["name"] for entry in counts] == list(CLASS_NAMES)
        assert [entry["count"] for entry in counts] == expected
        assert sum(expected) == 224 * 224
        assert properties["label:type"] == "raster"
        assert properties["label:properties"] is None
        assert properties["label:tasks"] == ["segmentation"]
        assert properties["label:classes"] == [{"name": None, "classes": list(range(14))}]
        mask = item["assets"]["mask"]
        assert mask["roles"] == ["labels", "labels-raster"]
        classes = mask["classification:classes"]
        assert [(c["value"], c["name"]) for c in classes] == list(enumerate(CLASS_NAMES))
        assert classes[3]["description"] == "Corn"


def test_label_items_link_their_chip_item(sources: dict[str, Any], labels: dict[str, Any]) -> None:
    for label_id, (path, item) in labels.items():
        (link,) = [li for li in item["links"] if li["rel"] == "source"]
        assert link["label:assets"] == ["mask"]
        target = (path.parent / link["href"]).resolve()
        assert target == sources[label_id.removesuffix("_labels")][0].resolve()


def test_splits_follow_the_lists_on_both_items_and_in_sub_collections(
    catalog: Path, sources: dict[str, Any], labels: dict[str, Any], splits: dict[str, str]
) -> None:
    for chip_id, split in splits.items():
        for path, item in (sources[chip_id], labels[f"{chip_id}_labels"]):
            assert item["properties"]["ml-aoi:split"] == split
            assert path.parent.parent.name == split
    for collection in (SOURCE_COLLECTION, LABELS_COLLECTION):
        document = json.loads((catalog.parent / collection / "collection.json").read_bytes())
        assert document["summaries"]["ml-aoi:split"] == ["train", "validate"]
        children = [li["href"] for li in document["links"] if li["rel"] == "child"]
        assert children == ["./train/collection.json", "./validate/collection.json"]


def test_label_collection_summaries_total_the_pixels_of_each_class(
    catalog: Path, labels: dict[str, Any]
) -> None:
    document = json.loads((catalog.parent / LABELS_COLLECTION / "collection.json").read_bytes())
    summaries = document["summaries"]
    totals = np.zeros(14, dtype=np.int64)
    for _, item in labels.values():
        totals += [e["count"] for e in item["properties"]["label:overviews"][0]["counts"]]
    (overview,) = summaries["label:overviews"]
    assert [e["name"] for e in overview["counts"]] == list(CLASS_NAMES)
    assert [e["count"] for e in overview["counts"]] == totals.tolist()
    assert summaries["label:classes"] == [{"name": None, "classes": list(range(14))}]
    assert len(summaries["classification:classes"]) == 14


def test_asset_hrefs_are_relative_to_a_catalog_placed_at_the_source_root(
    catalog: Path, source: Path, sources: dict[str, Any], labels: dict[str, Any]
) -> None:
    for items, key, suffix in ((sources, "image", "_merged.tif"), (labels, "mask", ".mask.tif")):
        for item_id, (path, item) in items.items():
            href = item["assets"][key]["href"]
            assert not href.startswith("/") and "://" not in href
            in_catalog = path.relative_to(catalog.parent).parent.as_posix()
            relative = posixpath.normpath(posixpath.join(in_catalog, href))
            chip_id = item_id.removesuffix("_labels")
            assert source / relative == _chip_file(source, chip_id, suffix)


def test_asset_href_base_makes_hrefs_absolute(source: Path, tmp_path: Path) -> None:
    base = "https://data.example.org/hls-crop"
    result = build(
        "hls-crop", source, tmp_path / "out", asset_href_base=base, workers=1, index=False
    )
    for _, item in _items(result.catalog, LABELS_COLLECTION).values():
        href = item["assets"]["mask"]["href"]
        assert href.startswith(f"{base}/") and href.endswith(".mask.tif")
        assert (source / href.removeprefix(f"{base}/")).is_file()


def _expected_ids(source: Path, splits: dict[str, str], test: Any) -> set[str]:
    found = set()
    for chip_id in splits:
        counts = _histogram(_chip_file(source, chip_id, ".mask.tif"))
        if test(counts):
            found.update({chip_id, f"{chip_id}_labels"})
    return found


def test_label_search_on_pixel_counts(
    catalog: Path, source: Path, splits: dict[str, str], runner: CliRunner
) -> None:
    expected = _expected_ids(source, splits, lambda counts: counts[3] >= 5000)
    assert 0 < len(expected) < 2 * len(splits)
    index = open_index(catalog.parent)
    assert set(index.ids(labels="corn>=5000")) == expected
    result = runner.invoke(cli, ["search", str(catalog), "--label", "corn>=5000"])
    assert result.exit_code == 0, result.output
    assert set(result.output.split()) == expected


def test_label_search_on_shares(catalog: Path, source: Path, splits: dict[str, str]) -> None:
    from stacforge.index.query import parse_label

    try:
        parse_label("corn>=30%", single=True)
    except StacforgeError:
        pytest.skip("share syntax lands with the index work")
    expected = _expected_ids(source, splits, lambda counts: counts[3] >= 0.3 * sum(counts))
    assert set(open_index(catalog.parent).ids(labels="corn>=30%")) == expected


def test_big_splits_are_partitioned_by_chip_rows(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, splits: dict[str, str]
) -> None:
    monkeypatch.setattr(reader, "MAX_LINKS", 10)  # train: 24 chips, validate: 6
    out = build("hls-crop", source, tmp_path / "out", workers=1, index=False).catalog
    for _, (path, item) in _items(out, SOURCE_COLLECTION).items():
        split = splits[item["id"]]
        assert item["properties"]["ml-aoi:split"] == split
        if split == "validate":
            assert path.parents[1].name == "validate"
            continue
        first = int(item["id"].split("_")[1]) // 10 * 10
        assert path.parents[1].name == f"rows-{first:03d}-{first + 9:03d}"
        assert path.parents[2].name == "train"


# -- Other published layouts -------------------------------------------------------------------


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_source_cooperative_layout_pairs_by_id_and_splits_by_list(
    source: Path, tmp_path: Path, splits: dict[str, str]
) -> None:
    """``hls/`` and ``masks/`` apart, ``train_data.txt`` and ``validation_data.txt``."""
    layout = tmp_path / "coop"
    for path in source.rglob("*.tif"):
        folder = layout / ("masks" if path.name.endswith(".mask.tif") else "hls")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)
    shutil.copy(source / "training_data.txt", layout / "train_data.txt")
    shutil.copy(source / "validation_data.txt", layout / "validation_data.txt")
    out = build("hls-crop", layout, tmp_path / "out", workers=1, index=False).catalog
    found = _items(out, LABELS_COLLECTION)
    assert len(found) == len(splits)
    for label_id, (_, item) in found.items():
        assert item["properties"]["ml-aoi:split"] == splits[label_id.removesuffix("_labels")]
        assert item["assets"]["mask"]["href"].endswith(f"/masks/{label_id[:-7]}.mask.tif")


def test_without_split_lists_the_folder_decides(
    source: Path, tmp_path: Path, splits: dict[str, str]
) -> None:
    copy = _copy(source, tmp_path / "source")
    (copy / "training_data.txt").unlink()
    (copy / "validation_data.txt").unlink()
    out = build("hls-crop", copy, tmp_path / "out", workers=1, index=False).catalog
    for item_id, (_, item) in _items(out, SOURCE_COLLECTION).items():
        assert item["properties"]["ml-aoi:split"] == splits[item_id]


def test_chips_without_split_are_unsplit(source: Path, tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in sorted(source.rglob("*.tif"))[:4]:
        shutil.copy(path, flat / path.name)
    out = build("hls-crop", flat, tmp_path / "out", workers=1, index=False).catalog
    items = _items(out, SOURCE_COLLECTION)
    assert items
    for path, item in items.values():
        assert "ml-aoi:split" not in item["properties"]
        assert path.parents[1].name == "unsplit"


# -- Bad input -------------------------------------------------------------------------------


def _bad_copy(source: Path, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the sample and the id of a chip to spoil in it."""
    copy = _copy(source, tmp_path / "source")
    chip_id = sorted(p.name.removesuffix("_merged.tif") for p in copy.rglob("*_merged.tif"))[3]
    return copy, chip_id


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def _mask_off_grid(copy: Path, chip_id: str) -> None:
    image = _chip_file(copy, chip_id, "_merged.tif")
    row, col = (int(v) for v in chip_id.split("_")[1:])
    rng = np.random.default_rng(5)
    mask = random_mask(rng)
    west, north = chip_origin(row, col)
    write_chip(
        image.parent, chip_id, (west, north), mask, image_for(mask), mask_origin=(west + 30, north)
    )


def _image_of_three_bands(copy: Path, chip_id: str) -> None:
    image = _chip_file(copy, chip_id, "_merged.tif")
    row, col = (int(v) for v in chip_id.split("_")[1:])
    mask = random_mask(np.random.default_rng(5))
    write_chip(image.parent, chip_id, chip_origin(row, col), mask, image_for(mask)[:3])


def _mask_with_class(value: int) -> Any:
    def spoil(copy: Path, chip_id: str) -> None:
        path = _chip_file(copy, chip_id, ".mask.tif")
        with rasterio.open(path) as src:
            profile, data = src.profile, src.read(1)
        data[10:20, 10:20] = value
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data, 1)

    return spoil


BAD_INPUTS = {
    "truncated image": (
        lambda copy, chip: _truncate(_chip_file(copy, chip, "_merged.tif")),
        "_merged.tif",
        r"truncated: \d+ of \d+ blocks end past the file",
    ),
    "truncated mask": (
        lambda copy, chip: _truncate(_chip_file(copy, chip, ".mask.tif")),
        ".mask.tif",
        r"truncated",
    ),
    "not a tiff": (
        lambda copy, chip: _chip_file(copy, chip, "_merged.tif").write_bytes(b"<html></html>"),
        "_merged.tif",
        "not a TIFF file",
    ),
    "mask off the chip grid": (_mask_off_grid, ".mask.tif", "grid differs from its chip"),
    "three bands": (_image_of_three_bands, "_merged.tif", r"3 bands, expected 18"),
    "chip without mask": (
        lambda copy, chip: _chip_file(copy, chip, ".mask.tif").unlink(),
        "_merged.tif",
        "chip without its mask",
    ),
    "mask without chip": (
        lambda copy, chip: _chip_file(copy, chip, "_merged.tif").unlink(),
        ".mask.tif",
        "mask without its chip image",
    ),
    "class 14": (
        _mask_with_class(14),
        ".mask.tif",
        r"class value 14 outside 0\.\.13 \(100 pixels\)",
    ),
    "class 255": (_mask_with_class(255), ".mask.tif", r"class value 255 outside 0\.\.13"),
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_bad_input_fails_with_one_line_naming_the_file(
    kind: str, source: Path, tmp_path: Path
) -> None:
    spoil, suffix, message = BAD_INPUTS[kind]
    copy, chip_id = _bad_copy(source, tmp_path)
    path = _chip_file(copy, chip_id, suffix)
    spoil(copy, chip_id)
    out = tmp_path / "out"
    with pytest.raises(InputError, match=message) as caught:
        build("hls-crop", copy, out, workers=2)
    error = caught.value
    assert error.path == str(path)
    assert "\n" not in str(error)
    assert not out.exists()


@pytest.mark.parametrize("kind", ["truncated image", "mask off the chip grid", "class 14"])
def test_skip_invalid_reports_the_bad_chip_and_builds_the_others(
    kind: str, source: Path, tmp_path: Path
) -> None:
    spoil, suffix, _ = BAD_INPUTS[kind]
    copy, chip_id = _bad_copy(source, tmp_path)
    spoil(copy, chip_id)
    result = build("hls-crop", copy, tmp_path / "out", skip_invalid=True, workers=2)
    assert len(result.skipped) == 1
    assert f"{chip_id}{suffix}" in str(result.skipped[0])
    assert result.items == {SOURCE_COLLECTION: COUNT - 1, LABELS_COLLECTION: COUNT - 1}
    assert chip_id not in _items(result.catalog, SOURCE_COLLECTION)


def test_a_chip_in_both_split_lists_is_bad_input(source: Path, tmp_path: Path) -> None:
    copy, _ = _bad_copy(source, tmp_path)
    listed = (copy / "training_data.txt").read_text().split()[0]
    with (copy / "validation_data.txt").open("a") as f:
        f.write(f"{listed}\n")
    with pytest.raises(
        InputError, match=f"validation_data.txt: line \\d+: chip {listed} is in two"
    ):
        build("hls-crop", copy, tmp_path / "out", workers=1)


def test_the_cli_prints_one_line_and_exits_non_zero(
    source: Path, tmp_path: Path, runner: CliRunner
) -> None:
    copy, chip_id = _bad_copy(source, tmp_path)
    _truncate(_chip_file(copy, chip_id, "_merged.tif"))
    out = tmp_path / "out"
    result = runner.invoke(cli, ["build", "hls-crop", str(copy), str(out), "--workers", "2"])
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"{chip_id}_merged.tif" in result.stderr
    assert not out.exists()


def test_an_empty_source_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no chips"):
        build("hls-crop", tmp_path, tmp_path / "out")


# -- Scene table -----------------------------------------------------------------------------


def _granule(tile: str, day: int, hms: str) -> str:
    return f"HLS.S30.{tile}.2022{day:03d}T{hms}.v2.0"


def test_a_scene_table_of_granule_ids_dates_the_bands(
    source: Path, tmp_path: Path, splits: dict[str, str]
) -> None:
    copy = _copy(source, tmp_path / "source")
    chip_ids = sorted(splits)
    lines = ["chip_id,first_scene,second_scene,third_scene,tile"]
    for chip_id in chip_ids[:5]:
        granules = [_granule("T14TNS", d, "172109") for d in (92, 181, 263)]
        lines.append(",".join([chip_id, *granules, "T14TNS"]))
    (copy / "chips_scenes.csv").write_text("\n".join(lines) + "\n")
    out = build("hls-crop", copy, tmp_path / "out", workers=1, index=False).catalog
    items = _items(out, SOURCE_COLLECTION)
    for chip_id in chip_ids[:5]:
        properties = items[chip_id][1]["properties"]
        assert properties["start_datetime"] == "2022-04-02T17:21:09Z"  # day 92 of 2022
        assert properties["end_datetime"] == "2022-09-20T17:21:09Z"  # day 263
        bands = items[chip_id][1]["assets"]["image"]["bands"]
        assert bands[0]["datetime"] == "2022-04-02T17:21:09Z"
        assert bands[6]["datetime"] == "2022-06-30T17:21:09Z"
        assert bands[17]["description"].endswith(_granule("T14TNS", 263, "172109"))
    untabled = items[chip_ids[5]][1]
    assert untabled["properties"]["start_datetime"] == "2022-03-01T00:00:00Z"
    assert "datetime" not in untabled["assets"]["image"]["bands"][0]


def test_a_scene_table_of_dates_given_by_option(source: Path, tmp_path: Path) -> None:
    copy = _copy(source, tmp_path / "source")
    chip_id = sorted(p.name[:-11] for p in copy.rglob("*_merged.tif"))[0]
    table = tmp_path / "dates.csv"
    table.write_text(f"date_1,date_2,date_3,chip\n2022-03-20,2022-06-01,2022-08-15,{chip_id}\n")
    out = build(
        "hls-crop", copy, tmp_path / "out", workers=1, index=False, scenes=str(table)
    ).catalog
    properties = _items(out, SOURCE_COLLECTION)[chip_id][1]["properties"]
    assert (properties["start_datetime"], properties["end_datetime"]) == (
        "2022-03-20T00:00:00Z",
        "2022-08-15T00:00:00Z",
    )


def test_a_scene_table_row_without_three_scenes_is_bad_input(source: Path, tmp_path: Path) -> None:
    copy = _copy(source, tmp_path / "source")
    (copy / "scenes.csv").write_text("chip_id,scene\nchip_001_001,2022-03-20\n")
    with pytest.raises(InputError, match=r"scenes\.csv: line 2: chip chip_001_001: expected 3"):
        build("hls-crop", copy, tmp_path / "out", workers=1)


def test_a_crs_without_epsg_code_is_written_as_wkt2(tmp_path: Path, runner: CliRunner) -> None:
    albers = rasterio.crs.CRS.from_proj4(
        "+proj=aea +lat_0=23 +lon_0=-96 +lat_1=30 +lat_2=45 +x_0=0 +y_0=0 +datum=NAD83 +units=m"
    )
    assert albers.to_epsg() is None
    mask = random_mask(np.random.default_rng(2))
    image_path, mask_path = write_chip(
        tmp_path / "src" / "training_chips", "chip_100_400", chip_origin(100, 400), mask,
        image_for(mask),
    )  # fmt: skip
    for path in (image_path, mask_path):
        with rasterio.open(path, "r+") as dataset:
            dataset.crs = albers
    out = build("hls-crop", tmp_path / "src", tmp_path / "out", workers=1).catalog
    ((_, item),) = _items(out, SOURCE_COLLECTION).values()
    assert item["properties"]["proj:code"] is None
    assert "Albers" in item["properties"]["proj:wkt2"]
    assert item["properties"]["ml-aoi:split"] == "train"
    result = runner.invoke(cli, ["validate", str(out)])
    assert result.exit_code == 0, result.output
