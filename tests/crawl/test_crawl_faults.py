"""A whole crawl against a server that fails in every way: all reachable items, exact failures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stacforge.crawl import CrawlOptions, crawl

if TYPE_CHECKING:
    from conftest import CatalogFiles, CatalogServer

Serve = Callable[..., "CatalogServer"]


def test_crawl_survives_faults_and_reports_exactly_what_failed(
    serve: Serve, files: CatalogFiles, quick: CrawlOptions, tmp_path: Path
) -> None:
    ids = files.tree({"a": 8, "b": 4, "c": 3})
    server = serve(files.root)
    server.fault("catalog.json", times=2, status=503)
    server.fault("a/collection.json", status=429, retry_after="0")
    server.fault("a/collection.json", cut="connection")
    server.fault("a/a-00001/a-00001.json", cut="json")
    server.fault("a/a-00002/a-00002.json", delay=1.0)
    server.fault("a/a-00003/a-00003.json", status=404)
    server.fault("a/a-00004/a-00004.json", times=4, status=500)
    server.fault("b/collection.json", times=4, status=503)
    items: dict[str, str] = {}

    def collect(item: dict[str, Any], href: str) -> None:
        items[item["id"]] = href

    options = replace(quick, timeout=0.3)
    report = crawl(server.url("catalog.json"), collect, cache=tmp_path / "cache", options=options)

    lost = {"a-00003", "a-00004"} | {i for i in ids if i.startswith("b-")}
    assert set(items) == ids - lost
    assert sorted(report.failures) == [
        (server.url("a/a-00003/a-00003.json"), "HTTP 404 Not Found"),
        (server.url("a/a-00004/a-00004.json"), "HTTP 500 (after 3 retries)"),
        (server.url("b/collection.json"), "HTTP 503 (after 3 retries)"),
    ]
    assert report.retries == 2 + 2 + 1 + 1 + 3 + 3
    assert report.requests == len(server.requests)
    assert not report.warnings
    # documents that answered at once were asked for once
    assert server.count("c/collection.json") == server.count("a/a-00000/a-00000.json") == 1

    # The faults are over: a rerun through the cache fetches only what failed.
    before = len(server.requests)
    rerun = crawl(server.url("catalog.json"), collect, cache=tmp_path / "cache", options=options)
    assert rerun.ok and set(items) == ids
    fetched = {r.path for r in server.requests[before:] if r.status == 200}
    assert fetched == {
        "/a/a-00003/a-00003.json",
        "/a/a-00004/a-00004.json",
        "/b/collection.json",
        *(f"/b/{i}/{i}.json" for i in ids if i.startswith("b-")),
    }
    assert rerun.not_modified == rerun.requests - len(fetched)
