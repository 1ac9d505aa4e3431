"""`stacforge crawl --index`: an item the index cannot hold is reported, and the rest indexed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from stacforge.catalog.model import CatalogSpec, CollectionSpec, PlacedItem
from stacforge.catalog.writer import CatalogWriter
from stacforge.cli import cli
from stacforge.index import open_index


def item(i: int, value: object) -> dict:
    ring = [[i, 0], [i + 1, 0], [i + 1, 1], [i, 1], [i, 0]]
    return {
        "type": "Feature",
        "id": f"item-{i}",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"datetime": "2020-01-01T00:00:00Z", "x": value},
        "assets": {},
    }


def test_an_item_with_clashing_field_types_is_skipped_not_fatal(
    runner: CliRunner, tmp_path: Path
) -> None:
    spec = CollectionSpec(id="c", title="C", description="C.", license="CC0-1.0")
    with CatalogWriter(tmp_path / "cat", CatalogSpec("r", "R", "R."), [spec]) as w:
        for i in range(10):  # "x" is a number in nine items and text in the last one
            w.add(PlacedItem("c", (), item(i, "text" if i == 9 else i)))
        w.close()

    result = runner.invoke(cli, ["crawl", str(tmp_path / "cat"), "--index", str(tmp_path / "ix")])

    assert result.exit_code == 0, result.output
    assert "item-9.json: item not indexed: a field's type differs" in result.stderr
    assert ", 9 items, 1 not indexed in " in result.stdout
    assert sorted(open_index(tmp_path / "ix").ids()) == sorted(f"item-{i}" for i in range(9))


def test_an_item_without_geometry_is_indexed_and_found_by_id(
    runner: CliRunner, tmp_path: Path
) -> None:
    """``"geometry": null`` is valid STAC: crawled, indexed, counted and searchable."""
    spec = CollectionSpec(id="c", title="C", description="C.", license="CC0-1.0")
    with CatalogWriter(tmp_path / "cat", CatalogSpec("r", "R", "R."), [spec]) as w:
        for i in range(3):
            w.add(PlacedItem("c", (), item(i, i)))
        w.close()
    (path,) = (tmp_path / "cat").rglob("item-1.json")
    located = json.loads(path.read_text())
    located["geometry"] = None
    del located["bbox"]
    path.write_text(json.dumps(located))

    result = runner.invoke(cli, ["crawl", str(tmp_path / "cat"), "--index", str(tmp_path / "ix")])

    assert result.exit_code == 0, result.output
    assert ", 3 items, 0 not indexed in " in result.stdout
    index = open_index(tmp_path / "ix")
    assert list(index.ids(ids=["item-1"])) == ["item-1"]
    assert sorted(index.ids(bbox=[-180, -90, 180, 90])) == ["item-0", "item-2"]
