"""Kill a crawl (SIGKILL) mid-way: no cache entry is damaged, and a rerun resumes from the cache."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from stacforge.crawl import CrawlOptions, crawl

if TYPE_CHECKING:
    from conftest import CatalogFiles, CatalogServer

Serve = Callable[..., "CatalogServer"]


def cache_entries(cache: Path) -> dict[str, bytes]:
    """Every entry in the cache as ``{url: body}``, checking that each one is whole."""
    entries = {}
    for path in cache.glob("*/*"):
        if path.name.endswith(".tmp"):  # a write the kill interrupted: never read as an entry
            continue
        header_line, _, body = path.read_bytes().partition(b"\n")
        header = orjson.loads(header_line)
        assert header["length"] == len(body), path
        assert hashlib.sha256(header["url"].encode()).hexdigest() == path.name
        orjson.loads(body)  # a complete JSON document
        entries[header["url"]] = body
    return entries


def test_killed_crawl_leaves_a_sound_cache_and_resumes(
    serve: Serve, files: CatalogFiles, tmp_path: Path
) -> None:
    ids = files.tree({"a": 150, "b": 150})
    server = serve(files.root, latency=0.02)
    cache = tmp_path / "cache"
    command = [sys.executable, "-c", "from stacforge.cli import cli; cli()", "crawl"]
    crawler = subprocess.Popen(
        [*command, server.url("catalog.json"), "--cache", str(cache), "--concurrency", "4"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # A third of the catalog answered: about as many entries in the cache, the rest to come.
        assert server.wait_for_answers(100), "the crawl made no progress"
        os.kill(crawler.pid, signal.SIGKILL)
    finally:
        crawler.wait()
    assert crawler.returncode == -signal.SIGKILL, "the crawl ended before it was killed"

    server.wait_until_quiet()  # requests the killed crawl had sent belong to the first run
    cached = cache_entries(cache)
    assert 50 <= len(cached) < 303  # (interrupted writes may be among the 60 files)
    first_run = len(server.requests)
    items: set[str] = set()

    def collect(item: dict[str, Any], href: str) -> None:
        items.add(item["id"])

    report = crawl(server.url("catalog.json"), collect, cache=cache, options=CrawlOptions())
    assert report.ok and items == ids
    rerun = server.requests[first_run:]
    assert len(rerun) == 303  # every document (catalog, 2 collections, 300 items) once
    for request in rerun:
        if server.url(request.path.lstrip("/")) in cached:
            assert request.status == 304, request.path
        else:
            assert request.status == 200, request.path
    assert set(cache_entries(cache)) == {server.url(r.path.lstrip("/")) for r in rerun}
