"""Collections that advertise a stac-geoparquet mirror are read from it instead of walked."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from click.testing import CliRunner

from stacforge.cli import cli
from stacforge.crawl import CrawlOptions, CrawlReport, crawl
from stacforge.crawl.cache import ResponseCache
from stacforge.index.layout import MEDIA_TYPE, MIRROR_ROLE
from stacforge.index.writer import IndexWriter

if TYPE_CHECKING:
    from conftest import CatalogFiles, CatalogServer

Serve = Callable[..., "CatalogServer"]


@pytest.fixture
def mirrored(files: CatalogFiles) -> set[str]:
    """A tree whose collection ``a`` advertises a mirror at ``a/index/items.parquet``."""
    ids = files.tree({"a": 5, "b": 2})
    collection = files.root / "a" / "collection.json"
    with IndexWriter(files.root / "a" / "index", source=str(collection)) as writer:
        for item_id in sorted(i for i in ids if i.startswith("a-")):
            path = files.root / "a" / item_id / f"{item_id}.json"
            writer.add(orjson.loads(path.read_bytes()), f"../{item_id}/{item_id}.json")
    data = orjson.loads(collection.read_bytes())
    data["assets"] = {
        "mirror": {"href": "./index/items.parquet", "type": MEDIA_TYPE, "roles": [MIRROR_ROLE]}
    }
    collection.write_bytes(orjson.dumps(data))
    return ids


def crawl_items(href: str | Path, **kwargs: Any) -> tuple[dict[str, str], CrawlReport]:
    items: dict[str, str] = {}

    def collect(item: dict[str, Any], href: str) -> None:
        assert item["id"] not in items
        items[item["id"]] = href

    return items, crawl(href, collect, **kwargs)


def test_mirror_replaces_the_walk_over_http(
    serve: Serve, files: CatalogFiles, mirrored: set[str], tmp_path: Path
) -> None:
    server = serve(files.root)
    items, report = crawl_items(server.url("catalog.json"), cache=tmp_path / "cache")
    assert set(items) == mirrored and report.ok
    assert report.mirrors == 1
    assert items["a-00003"] == server.url("a/a-00003/a-00003.json")  # the item's own URL
    assert not any(r.path.startswith("/a/a-") for r in server.requests)
    assert server.count("a/index/items.parquet") == 1
    # a warm run revalidates the mirror like any document
    _, warm = crawl_items(server.url("catalog.json"), cache=tmp_path / "cache")
    assert warm.mirrors == 1 and server.count("a/index/items.parquet", status=304) == 1


def test_mirror_on_disk(files: CatalogFiles, mirrored: set[str]) -> None:
    items, report = crawl_items(files.root / "catalog.json")
    assert set(items) == mirrored and report.mirrors == 1
    assert items["a-00000"] == str(files.root / "a" / "a-00000" / "a-00000.json")


def test_no_use_mirrors_walks(files: CatalogFiles, mirrored: set[str]) -> None:
    items, report = crawl_items(
        files.root / "catalog.json", options=CrawlOptions(use_mirrors=False)
    )
    assert set(items) == mirrored and report.mirrors == 0
    assert report.documents == 1 + 2 + len(mirrored)


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_unreadable_mirror_falls_back_to_the_walk(
    serve: Serve, files: CatalogFiles, mirrored: set[str], quick: CrawlOptions, damage: str
) -> None:
    parquet = files.root / "a" / "index" / "items.parquet"
    if damage == "missing":
        parquet.unlink()
    else:
        parquet.write_bytes(parquet.read_bytes()[:-100])
    server = serve(files.root)
    items, report = crawl_items(server.url("catalog.json"), options=quick)
    assert set(items) == mirrored and report.ok and report.mirrors == 0
    (warning,) = report.warnings
    assert warning.href == server.url("a/index/items.parquet")
    assert warning.message.endswith("; walking the collection instead")
    reason = "HTTP 404 Not Found" if damage == "missing" else "not a whole Parquet file"
    assert f"mirror not read ({reason}" in warning.message


def test_mirror_of_a_collection_not_chosen_is_not_read(
    serve: Serve, files: CatalogFiles, mirrored: set[str]
) -> None:
    server = serve(files.root)
    items, report = crawl_items(server.url("catalog.json"), options=CrawlOptions(collections={"b"}))
    assert set(items) == {"b-00000", "b-00001"} and report.mirrors == 0
    assert server.count("a/index/items.parquet") == 0


def test_command_uses_mirrors_unless_told_not_to(
    files: CatalogFiles, mirrored: set[str], runner: CliRunner
) -> None:
    catalog = str(files.root / "catalog.json")
    assert (
        ": 5 documents, 1 mirrors, 7 items, 0 not indexed"
        in runner.invoke(cli, ["crawl", catalog]).stdout
    )
    walked = runner.invoke(cli, ["crawl", catalog, "--no-use-mirrors"]).stdout
    assert ": 10 documents, 0 mirrors, 7 items, 0 not indexed" in walked


def test_unreadable_mirror_on_disk_falls_back_to_the_walk(
    files: CatalogFiles, mirrored: set[str]
) -> None:
    parquet = files.root / "a" / "index" / "items.parquet"
    parquet.write_bytes(parquet.read_bytes()[:-100])
    items, report = crawl_items(files.root / "catalog.json")
    assert set(items) == mirrored and report.ok and report.mirrors == 0
    (warning,) = report.warnings
    assert warning.href == str(parquet)
    assert warning.message.startswith("mirror not read (not a readable Parquet file")


def test_a_damaged_mirror_is_walked_instead_and_dropped_from_the_cache(
    rapidai4eo_catalog: Path,
    serve: Serve,
    tmp_path: Path,
    damage_a_page: Callable[[Path], None],
) -> None:
    damaged = tmp_path / "catalog"
    shutil.copytree(rapidai4eo_catalog.parent, damaged)
    damage_a_page(damaged / "rapidai4eo_v1_labels" / "index" / "items.parquet")
    server = serve(damaged)
    cache = ResponseCache(tmp_path / "cache")
    seen: set[str] = set()
    options = CrawlOptions()
    report = crawl(
        server.url("catalog.json"),
        lambda i, _: seen.add(i["id"]),
        cache=cache.directory,
        options=options,
    )
    assert report.failures == [] and report.mirrors == 2  # the two undamaged ones
    assert len(seen) == 360  # every item, the label items walked
    (warning,) = [w for w in report.warnings if "mirror not read" in w.message]
    assert "damaged Parquet data" in warning.message
    mirror = server.url("rapidai4eo_v1_labels/index/items.parquet")
    assert cache.get(mirror) is None  # not kept: the next crawl fetches it again, not a 304
    report = crawl(server.url("catalog.json"), cache=cache.directory, options=options)
    assert server.count("rapidai4eo_v1_labels/index/items.parquet", status=200) == 2
