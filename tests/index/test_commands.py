"""``stacforge index`` and ``stacforge search`` on real catalogs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pystac
import pytest
from click.testing import CliRunner

from stacforge.cli import cli

Item = dict[str, Any]


@pytest.fixture
def indexed(realworld: Path, tmp_path: Path, runner: CliRunner) -> Path:
    """The index of pystac's label test catalog (case 4), written by ``stacforge index``."""
    result = runner.invoke(
        cli, ["index", str(realworld / "pystac-test-case-4"), str(tmp_path / "index")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("indexed 62 items (62 assets, 31 label rows)")
    return tmp_path / "index"


def search(runner: CliRunner, *args: str) -> list[str]:
    result = runner.invoke(cli, ["search", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_index_and_search_every_format(
    indexed: Path,
    runner: CliRunner,
    realworld: Path,
    catalog_items: Callable[[Path], list[tuple[Item, str]]],
) -> None:
    source = {
        item["id"]: (item, href)
        for item, href in catalog_items(realworld / "pystac-test-case-4" / "catalog.json")
    }
    ids = search(runner, str(indexed), "--collections", "dar", "--sortby", "id")
    assert ids == sorted(i for i, (item, _) in source.items() if item["collection"] == "dar")
    assert search(runner, str(indexed), "--label", "yes>=1000", "--format", "count") == [
        str(
            sum(
                1
                for item, _ in source.values()
                for o in item["properties"].get("label:overviews", [])
                for c in o["counts"]
                if c["count"] >= 1000
            )
        )
    ]
    hrefs = search(runner, str(indexed), "--ids", "3b20d4-labels", "--format", "hrefs")
    assert hrefs == [source["3b20d4-labels"][0]["assets"]["labels"]["href"]]
    result = runner.invoke(
        cli, ["search", str(indexed), "--max-items", "3", "--limit", "2", "--format", "items"]
    )
    collection = pystac.ItemCollection.from_dict(json.loads(result.stdout))
    assert len(collection) == 3
    for item in collection:
        assert item.get_self_href() == source[item.id][1]
        assert item.get_collection() is not None  # relative links resolve from the self href


def test_search_bbox_and_datetime(indexed: Path, runner: CliRunner) -> None:
    ids = search(
        runner,
        str(indexed),
        "--bbox",
        "39.1,-7.0,39.4,-5.5",
        "--datetime",
        "2017/..",
        "--sortby",
        "-datetime",
    )
    assert ids
    assert search(runner, str(indexed), "--bbox", "-180,-90,180,90", "--format", "count") == ["62"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bbox", "0,0,1,1", "--intersects", '{"type":"Point","coordinates":[0,0]}'], "together"),
        (["--bbox", "1,2,3"], "bbox must be 4 or 6 numbers"),
        (["--filter", "gsd <"], "invalid CQL2"),
        (["--label", "yes"], "CLASS<op>NUMBER"),
        (["--datetime", "soon"], "not RFC 3339"),
    ],
)
def test_bad_searches_are_one_line_errors(
    indexed: Path, runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(cli, ["search", str(indexed), *args])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_index_refuses_to_overwrite(indexed: Path, runner: CliRunner, realworld: Path) -> None:
    catalog = str(realworld / "pystac-test-case-1")
    result = runner.invoke(cli, ["index", catalog, str(indexed)])
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    result = runner.invoke(cli, ["index", catalog, str(indexed), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert search(runner, str(indexed), "--format", "count") == ["8"]


def test_index_of_a_broken_catalog_indexes_the_rest_and_fails(
    realworld: Path, tmp_path: Path, runner: CliRunner
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(realworld / "pystac-test-case-1", catalog)
    broken = next(catalog.rglob("area-1-1-imagery.json"))
    broken.write_text("{ not json")
    result = runner.invoke(cli, ["index", str(catalog), str(tmp_path / "index")])
    assert result.exit_code == 1
    assert f"failed: {broken}: invalid JSON" in result.stderr
    # Like a crawl: what could be read is indexed.
    assert search(runner, str(tmp_path / "index"), "--format", "count") == ["7"]


def test_search_a_catalog_through_its_mirror_assets(
    realworld: Path, tmp_path: Path, runner: CliRunner
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(realworld / "pystac-test-case-4", catalog)
    expected = sorted(path.stem for c in ("dar", "acc") for path in (catalog / c).glob("*/*.json"))
    for collection in ("dar", "acc"):
        folder = catalog / collection
        result = runner.invoke(
            cli, ["index", str(folder / "collection.json"), str(folder / "index")]
        )
        assert result.exit_code == 0, result.output
        document = json.loads((folder / "collection.json").read_text())
        document["assets"] = {
            "mirror": {
                "href": "./index/items.parquet",
                "type": "application/vnd.apache.parquet",
                "roles": ["collection-mirror"],
            }
        }
        (folder / "collection.json").write_text(json.dumps(document))
    assert search(runner, str(catalog), "--sortby", "id") == expected
    assert search(runner, str(catalog / "dar"), "--format", "count") == ["12"]


def test_index_skips_items_that_cannot_be_indexed(
    realworld: Path, tmp_path: Path, runner: CliRunner
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(realworld / "pystac-test-case-1", catalog)
    bad = next(catalog.rglob("area-1-1-imagery.json"))
    item = json.loads(bad.read_text())
    item["properties"]["datetime"] = "not a date"
    bad.write_text(json.dumps(item))
    result = runner.invoke(cli, ["index", str(catalog), str(tmp_path / "index")])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"warning: {bad}: item not indexed: cannot index item")
    assert result.stdout.rstrip().endswith("; 1 not indexed")
    ids = search(runner, str(tmp_path / "index"), "--sortby", "id")
    assert len(ids) == 7 and "area-1-1-imagery" not in ids
