"""`stacforge stats`: class charts and footprint maps of label collections, from the indexes."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import stacforge
from stacforge.cli import cli
from stacforge.stats import figures

CATALOGS = Path(__file__).resolve().parents[1] / "catalogs"
EXAMPLES = sorted(path.parent.name for path in CATALOGS.glob("*/catalog.json"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def run_stats(runner: CliRunner, source: Path, out: Path, *options: str) -> list[Path]:
    result = runner.invoke(cli, ["stats", str(source), "--out", str(out), *options])
    assert result.exit_code == 0, result.output + result.stderr
    return [Path(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("dataset", EXAMPLES)
def test_pictures_of_every_example_catalog(dataset: str, tmp_path: Path, runner: CliRunner) -> None:
    written = run_stats(runner, CATALOGS / dataset, tmp_path)

    assert written
    assert {path.name.rsplit("-", 1)[1] for path in written} == {"classes.png", "footprints.png"}
    for path in written:
        width, height = png_size(path)
        assert width >= 400 and height >= 250, path
        assert path.stat().st_size > 5_000, path  # a drawn chart, not an empty canvas


def test_rapidai4eo_numbers_match_the_index(tmp_path: Path, runner: CliRunner) -> None:
    catalog = CATALOGS / "rapidai4eo"
    written = run_stats(runner, catalog, tmp_path, "--format", "json")
    index = stacforge.open_index(catalog)
    collection = "rapidai4eo_v1_labels"

    assert sorted(path.name for path in written) == [
        f"{collection}-classes.json",
        f"{collection}-footprints.json",
    ]
    classes = json.loads((tmp_path / f"{collection}-classes.json").read_text())
    items = list(index.item_dicts(collections=[collection]))
    assert classes["label_items"] == len(items) == index.count(collections=[collection])
    assert classes["splits"] == [{"split": None, "items": len(items)}]
    shares: dict[str, float] = {}
    for item in items:
        for overview in item["properties"]["label:overviews"]:
            for statistic in overview["statistics"]:
                shares[statistic["name"]] = shares.get(statistic["name"], 0) + statistic["value"]
    assert {entry["name"] for entry in classes["classes"]} == set(shares)
    for entry in classes["classes"]:
        found = index.count(collections=[collection], labels=[f"{entry['name']}>0"])
        assert entry["items"] == found, entry
        assert entry["count"] is None
        assert entry["share"] == pytest.approx(shares[entry["name"]] / len(items), abs=1e-6)

    footprints = json.loads((tmp_path / f"{collection}-footprints.json").read_text())
    grid = footprints["grid"]
    assert sum(map(sum, grid["items"])) == len(items)
    west, south, east, north = footprints["bbox"]
    assert grid["west"] <= west and grid["south"] <= south
    assert grid["west"] + grid["step"] * len(grid["items"][0]) >= east - grid["step"]
    assert grid["south"] + grid["step"] * len(grid["items"]) >= north - grid["step"]


def write_split_catalog(root: Path, *, overviews: bool = True) -> Path:
    """A catalog of 7 label items with counts (unless not ``overviews``) and ``ml-aoi:split``
    (train, validate, test, and one without), and 2 items without labels."""
    collection: dict[str, Any] = {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": "boats",
        "description": "Boats",
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [[-10, 30, 20, 60]]},
            "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]},
        },
        "links": [],
    }
    plan = [
        ("a", "train", {"boat": 3, "ship": 1}),
        ("b", "train", {"boat": 2}),
        ("c", "train", {"ship": 5}),
        ("d", "validate", {"boat": 1, "ship": 0}),
        ("e", "test", {"ship": 2}),
        ("f", None, {"boat": 4}),
        ("g", "train", {}),
        ("plain-1", "", None),
        ("plain-2", "", None),
    ]
    (root / "boats").mkdir(parents=True)
    for number, (name, split, counts) in enumerate(plan):
        lon, lat = -10 + 4 * number, 30 + 3 * number
        properties: dict[str, Any] = {"datetime": "2020-01-01T00:00:00Z"}
        if counts is not None:
            properties |= {
                "label:type": "vector",
                "label:properties": ["kind"],
                "label:description": "Boats",
                "label:classes": [{"name": "kind", "classes": ["boat", "ship"]}],
            }
            if overviews:
                properties["label:overviews"] = [
                    {
                        "property_key": "kind",
                        "counts": [{"name": k, "count": v} for k, v in counts.items()],
                    }
                ]
            if split:
                properties["ml-aoi:split"] = split
        item = {
            "type": "Feature",
            "stac_version": "1.1.0",
            "id": name,
            "collection": "boats",
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[lon, lat], [lon + 1, lat], [lon + 1, lat + 1], [lon, lat + 1], [lon, lat]]
                ],
            },
            "bbox": [lon, lat, lon + 1, lat + 1],
            "properties": properties,
            "assets": {},
            "links": [{"rel": "collection", "href": "../collection.json"}],
        }
        (root / "boats" / name).mkdir()
        (root / "boats" / name / f"{name}.json").write_text(json.dumps(item))
        collection["links"].append({"rel": "item", "href": f"./{name}/{name}.json"})
    (root / "boats" / "collection.json").write_text(json.dumps(collection))
    return root / "boats" / "collection.json"


def test_counts_by_split_from_an_index_folder(tmp_path: Path, runner: CliRunner) -> None:
    catalog = write_split_catalog(tmp_path / "catalog")
    index = tmp_path / "index"
    result = runner.invoke(cli, ["index", str(catalog), str(index)])
    assert result.exit_code == 0, result.output + result.stderr

    run_stats(runner, index, tmp_path / "json", "--format", "json")
    classes = json.loads((tmp_path / "json" / "boats-classes.json").read_text())

    assert classes["label_items"] == 7
    assert classes["splits"] == [
        {"split": "train", "items": 4},
        {"split": "validate", "items": 1},
        {"split": "test", "items": 1},
        {"split": None, "items": 1},
    ]
    got = {(c["name"], c["split"]): (c["items"], c["count"]) for c in classes["classes"]}
    assert got == {
        ("boat", "train"): (2, 5),
        ("ship", "train"): (2, 6),
        ("boat", "validate"): (1, 1),  # ship counted 0 in d: not listed
        ("ship", "test"): (1, 2),
        ("boat", None): (1, 4),
    }
    assert all(c["share"] is None for c in classes["classes"])

    for path in run_stats(runner, index, tmp_path / "png"):
        assert png_size(path)[0] >= 400


def test_label_items_without_overviews_get_an_empty_chart(
    tmp_path: Path, runner: CliRunner
) -> None:
    catalog = write_split_catalog(tmp_path / "catalog", overviews=False)
    index = tmp_path / "index"
    assert runner.invoke(cli, ["index", str(catalog), str(index)]).exit_code == 0

    run_stats(runner, index, tmp_path / "json", "--format", "json")
    classes = json.loads((tmp_path / "json" / "boats-classes.json").read_text())

    assert classes["label_items"] == 7
    assert classes["classes"] == []
    for path in run_stats(runner, index, tmp_path / "png"):
        assert png_size(path)[0] >= 400


def test_big_collections_get_a_density_map(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The outline limit is lowered so that this small catalog takes the million-item path.
    monkeypatch.setattr(figures, "OUTLINES_UP_TO", 0)
    stats = figures.label_stats(CATALOGS / "rapidai4eo" / "rapidai4eo_v1_labels" / "index")
    assert figures.footprint_rings(stats[0]) == []

    written = run_stats(runner, CATALOGS / "rapidai4eo", tmp_path)

    assert png_size(written[1])[0] >= 400


def test_a_folder_without_an_index_is_one_line_error(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(cli, ["stats", str(tmp_path), "--out", str(tmp_path / "out")])

    assert result.exit_code == 1
    assert "neither an index" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_catalog_without_label_items_is_an_error(tmp_path: Path, runner: CliRunner) -> None:
    collection = CATALOGS / "rapidai4eo" / "rapidai4eo_v1_source_s2" / "collection.json"

    result = runner.invoke(cli, ["stats", str(collection), "--out", str(tmp_path)])

    assert result.exit_code == 1
    assert "no label items" in result.stderr
