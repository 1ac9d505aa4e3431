"""The crawler core: real catalogs over HTTP and on disk, cycles, unfollowed links, messy items."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pystac
import pytest

from stacforge.crawl import CrawlOptions, CrawlReport, crawl
from stacforge.errors import InputError, StacforgeError

if TYPE_CHECKING:
    from conftest import CatalogFiles, CatalogServer

Serve = Callable[..., "CatalogServer"]
REALWORLD = ["pystac-test-case-1", "pystac-test-case-4", "pystac-test-case-6", "label-multidataset"]


def crawl_items(
    href: str | Path, **kwargs: Any
) -> tuple[dict[str, tuple[dict[str, Any], str]], CrawlReport]:
    """Crawls ``href``; returns ``{item id: (item, href)}`` and the report."""
    items: dict[str, tuple[dict[str, Any], str]] = {}

    def collect(item: dict[str, Any], href: str) -> None:
        assert item["id"] not in items, f"{item['id']} handed over twice"
        items[item["id"]] = (item, href)

    report = crawl(href, collect, **kwargs)
    return items, report


def pystac_ids(catalog: Path) -> set[str]:
    return {item.id for item in pystac.Catalog.from_file(str(catalog)).get_items(recursive=True)}


@pytest.mark.parametrize("name", REALWORLD)
def test_realworld_catalog_over_http_matches_pystac(
    serve: Serve, realworld: Path, tmp_path: Path, name: str
) -> None:
    server = serve(realworld)
    items, report = crawl_items(server.url(f"{name}/catalog.json"), cache=tmp_path / "cache")
    assert set(items) == pystac_ids(realworld / name / "catalog.json")
    assert report.ok and report.items == len(items)
    for _, href in items.values():
        assert href.startswith(server.url(name + "/")) and href.endswith(".json")
        assert (realworld / href.removeprefix(server.url())).is_file()
    # every document was requested once
    assert len(server.requests) == report.documents == len({r.path for r in server.requests})


@pytest.mark.parametrize("name", REALWORLD)
def test_realworld_catalog_on_disk_matches_pystac(realworld: Path, name: str) -> None:
    items, report = crawl_items(realworld / name / "catalog.json")
    assert set(items) == pystac_ids(realworld / name / "catalog.json")
    assert report.ok and report.requests == 0
    for _, href in items.values():
        assert Path(href).is_absolute() and Path(href).is_file()


def test_items_get_their_linking_collection_and_closed_rings(realworld: Path) -> None:
    items, report = crawl_items(realworld / "label-multidataset" / "catalog.json")
    item, href = items["znz001"]
    assert item["collection"] == "zanzibar-collection"  # the file names none
    ring = item["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    assert (href.removeprefix(str(realworld) + "/"), report.warnings[0].message) == (
        "label-multidataset/zanzibar/znz001.json",
        "closed 1 polygon ring(s) that did not end where they began",
    )


def test_cycles_and_duplicate_links_fetch_each_document_once(
    serve: Serve, files: CatalogFiles
) -> None:
    server = serve(files.root)
    files.container(
        "catalog.json",
        "Catalog",
        "root",
        ["./a/collection.json", "./b/catalog.json", "./a/collection.json#again"],
    )
    files.container(
        "a/collection.json",
        "Collection",
        "a",
        [
            "../catalog.json",  # a cycle back to the root
            {"rel": "item", "href": "./x.json"},
            {"rel": "item", "href": "x.json"},
            {"rel": "item", "href": server.url("a/x.json")},
            {"rel": "item", "href": "../b/y.json"},
            {"rel": "parent", "href": "../catalog.json"},
        ],
    )
    files.container(
        "b/catalog.json",
        "Catalog",
        "b",
        [
            "../a/collection.json",
            "./catalog.json",  # links itself
            {"rel": "item", "href": "./y.json"},
            {"rel": "item", "href": "../a/./x.json"},
        ],
    )
    files.item("a/x.json", "x")
    files.item("b/y.json", "y")
    items, report = crawl_items(server.url("catalog.json"))
    assert set(items) == {"x", "y"}
    assert report.ok and report.documents == 5
    paths = sorted(request.path for request in server.requests)
    assert paths == [
        "/a/collection.json",
        "/a/x.json",
        "/b/catalog.json",
        "/b/y.json",
        "/catalog.json",
    ]


def test_http_documents_never_lead_to_files_or_other_schemes(
    serve: Serve, files: CatalogFiles, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.json"
    files.item("../secret.json", "secret")  # a readable local item next to the server root
    files.container(
        "catalog.json",
        "Catalog",
        "root",
        [
            secret.as_uri(),
            "s3://bucket/catalog.json",
            "ftp://host/catalog.json",
            {"rel": "item", "href": "./ok.json"},
        ],
    )
    files.item("ok.json", "ok")
    server = serve(files.root)
    items, report = crawl_items(server.url("catalog.json"))
    assert set(items) == {"ok"}
    assert report.ok
    assert [w.message for w in report.warnings] == [
        f"child link to {secret.as_uri()} not followed",
        "child link to s3://bucket/catalog.json not followed",
        "child link to ftp://host/catalog.json not followed",
    ]


def test_local_catalogs_may_link_local_files_and_http(serve: Serve, files: CatalogFiles) -> None:
    server = serve(files.root)
    files.item("local/l.json", "l")
    files.item("local/elsewhere/f.json", "f")
    files.item("r.json", "r")
    files.container(
        "local/catalog.json",
        "Catalog",
        "root",
        [
            {"rel": "item", "href": "l.json"},
            {"rel": "item", "href": (files.root / "local/elsewhere/f.json").as_uri()},
            {"rel": "item", "href": server.url("r.json")},
        ],
    )
    items, report = crawl_items(files.root / "local" / "catalog.json")
    assert report.ok
    assert {key: href for key, (_, href) in items.items()} == {
        "l": str(files.root / "local/l.json"),
        "f": str(files.root / "local/elsewhere/f.json"),
        "r": server.url("r.json"),
    }


def test_messy_documents_are_reported_and_the_rest_indexed(files: CatalogFiles) -> None:
    files.container(
        "catalog.json",
        "Catalog",
        "root",
        ["./old/collection.json", "./not-stac.json", "./broken.json", "./missing.json"],
    )
    # STAC 0.8: collections and catalogs have no "type"
    files.write(
        "old/collection.json",
        {
            "stac_version": "0.8.0",
            "id": "old",
            "description": "old",
            "license": "proprietary",
            "extent": {
                "spatial": {"bbox": [[0, 0, 1, 1]]},
                "temporal": {"interval": [[None, None]]},
            },
            "links": [{"rel": "item", "href": f"{name}.json"} for name in ("a", "b", "c", "d")],
        },
    )
    files.item("old/a.json", "a", bbox=None)  # no bbox: computed from the geometry
    files.item("old/b.json", "b", id=None)  # no id: cannot be indexed
    files.item("old/c.json", "c", bbox=None, geometry={"type": "Polygon", "coordinates": "?"})
    files.item("old/d.json", "d", properties=None, geometry=None)
    files.write("not-stac.json", {"hello": "world"})
    (files.root / "broken.json").write_text('{"type": "Catalog", "id"')
    items, report = crawl_items(files.root / "catalog.json")
    assert set(items) == {"a", "d"}
    assert items["a"][0]["bbox"] == [10.0, 50.0, 10.0, 50.0]
    assert items["a"][0]["collection"] == "old"
    assert items["d"][0]["properties"] == {}
    root = str(files.root)
    failures = {p.href.removeprefix(root): p.message for p in report.failures}
    assert failures.keys() == {"/broken.json", "/missing.json"}
    assert failures["/broken.json"].startswith("invalid JSON (unexpected end of data")
    assert failures["/missing.json"] == "No such file or directory"
    assert sorted((p.href.removeprefix(root), p.message) for p in report.warnings) == [
        ("/not-stac.json", "not a STAC catalog, collection or item; skipped"),
        ("/old/a.json", "no bbox; computed from the geometry"),
        ("/old/b.json", "item not indexed: item has no id"),
        ("/old/c.json", "item not indexed: malformed Polygon geometry"),
        ("/old/d.json", "no properties; indexed with none"),
    ]


def test_collections_option_keeps_chosen_subtrees_and_skips_other_items(
    serve: Serve, files: CatalogFiles
) -> None:
    files.tree({"wanted": 2, "other": 3})
    # a chosen collection nested under one that is not chosen; and its own sub-collection
    files.container(
        "other/collection.json",
        "Collection",
        "other",
        [{"rel": "item", "href": f"./other-{n:05d}/other-{n:05d}.json"} for n in range(3)]
        + ["./nested/collection.json"],
    )
    files.container(
        "other/nested/collection.json",
        "Collection",
        "nested",
        [{"rel": "item", "href": "n.json"}, "./deeper/collection.json"],
    )
    files.container(
        "other/nested/deeper/collection.json",
        "Collection",
        "deeper",
        [{"rel": "item", "href": "d.json"}],
    )
    files.item("other/nested/n.json", "n")
    files.item("other/nested/deeper/d.json", "d")
    server = serve(files.root)
    options = CrawlOptions(collections={"wanted", "nested"})
    items, report = crawl_items(server.url("catalog.json"), options=options)
    assert set(items) == {"wanted-00000", "wanted-00001", "n", "d"}
    assert items["d"][0]["collection"] == "deeper"
    assert report.ok
    assert not any(request.path.startswith("/other/other-") for request in server.requests)


def test_max_depth_limits_link_hops(files: CatalogFiles) -> None:
    files.tree({"a": 2})
    items, report = crawl_items(files.root / "catalog.json", options=CrawlOptions(max_depth=1))
    assert (items, report.documents) == ({}, 2)
    items, _ = crawl_items(files.root / "catalog.json", options=CrawlOptions(max_depth=2))
    assert set(items) == {"a-00000", "a-00001"}


def test_an_item_the_sink_rejects_is_reported(files: CatalogFiles) -> None:
    files.tree({"a": 3})

    def picky(item: dict[str, Any], href: str) -> None:
        if item["id"] == "a-00001":
            raise InputError(href, "no datetime", record=item["id"])

    report = crawl(files.root / "catalog.json", picky)
    assert report.items == 2
    (warning,) = report.warnings
    assert warning.message == "item not indexed: no datetime"


def test_other_sink_errors_end_the_crawl(files: CatalogFiles) -> None:
    files.tree({"a": 3})

    def broken(item: dict[str, Any], href: str) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        crawl(files.root / "catalog.json", broken)
    # no sink call outlives the crawl (the caller may be aborting what the sink writes to)
    assert not [t for t in threading.enumerate() if t.name.startswith("stacforge-sink")]


def test_the_sink_runs_off_the_event_loop_one_call_at_a_time(files: CatalogFiles) -> None:
    ids = files.tree({"a": 30, "b": 30})
    running, calls = [], []

    def sink(item: dict[str, Any], href: str) -> None:
        running.append(item["id"])
        with pytest.raises(RuntimeError):
            asyncio.get_running_loop()  # none in this thread
        calls.append((item["id"], len(running), threading.current_thread().name))
        running.remove(item["id"])

    report = crawl(files.root / "catalog.json", sink)
    assert {item_id for item_id, _, _ in calls} == ids and report.items == len(ids)
    assert {(overlap, name.startswith("stacforge-sink")) for _, overlap, name in calls} == {
        (1, True)
    }


def test_a_slow_sink_does_not_hold_up_the_requests(serve: Serve, files: CatalogFiles) -> None:
    files.tree({"a": 8})
    server = serve(files.root)
    all_requested = []

    def slow(item: dict[str, Any], href: str) -> None:
        # The first call waits until every document was requested, which only happens if
        # the crawl goes on fetching while the sink works (60 s is a guard, not a timing).
        if not all_requested:
            deadline = time.monotonic() + 60
            while len(server.requests) < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            all_requested.append(len(server.requests) == 10)

    report = crawl(server.url("catalog.json"), slow)
    assert all_requested == [True] and report.items == 8


def test_offline_needs_a_cache(files: CatalogFiles) -> None:
    with pytest.raises(StacforgeError, match="offline crawl needs a cache"):
        crawl("http://127.0.0.1:9/catalog.json", options=CrawlOptions(offline=True))


def test_garbage_collector_settings_are_restored(files: CatalogFiles) -> None:
    files.tree({"a": 2})
    before = gc.get_threshold()
    crawl(files.root / "catalog.json")
    assert gc.get_threshold() == before
