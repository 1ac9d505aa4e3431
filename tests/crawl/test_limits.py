"""Resource limits against hostile servers on loopback: bytes held at once across requests,
an overall deadline per request, and how deeply a crawled item may nest."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from stacforge.crawl import CrawlOptions, crawl
from stacforge.crawl.client import ByteBudget, HttpClient, RetryPolicy
from stacforge.crawl.documents import FetchError
from stacforge.crawl.indexing import crawl_into_index
from stacforge.crawl.report import CrawlReport
from stacforge.errors import InputError
from stacforge.index.convert import prepare

MIB = 1 << 20


@contextlib.contextmanager
def hostile_server(handler: Any) -> Iterator[str]:
    """Runs ``handler`` for every GET on 127.0.0.1 in a thread; yields the base URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return int(runner.addresses[0][1])

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)


async def endless(request: web.Request) -> web.StreamResponse:
    """A body that never ends (no Content-Length), 64 KiB at a time."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    chunk = b" " * (64 << 10)
    with contextlib.suppress(ConnectionError):
        for _ in range(10_000):  # bounded: about 640 MB, far past any limit under test
            await response.write(chunk)
    return response


async def trickle(request: web.Request) -> web.StreamResponse:
    """One byte every 50 ms, forever (bounded to 10 minutes): never idle long enough to time
    out a read."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    with contextlib.suppress(ConnectionError):
        for _ in range(12_000):
            await response.write(b" ")
            await asyncio.sleep(0.05)
    return response


def fetch_all(urls: list[str], **settings: Any) -> tuple[list[Any], HttpClient]:
    report = CrawlReport()

    async def run() -> tuple[list[Any], HttpClient]:
        async with HttpClient(report, retry=RetryPolicy(retries=0), **settings) as client:
            results = await asyncio.gather(
                *(client.fetch(url) for url in urls), return_exceptions=True
            )
            return list(results), client

    return asyncio.run(run())


def test_bytes_in_flight_stay_within_the_budget_across_endless_streams() -> None:
    with hostile_server(endless) as base:
        urls = [f"{base}/{n}.json" for n in range(16)]
        results, client = fetch_all(
            urls, connections=16, max_bytes=2 * MIB, max_bytes_in_flight=4 * MIB
        )
    assert all(isinstance(r, FetchError) and "size limit" in r.reason for r in results)
    # Sixteen streams at the 2 MiB cap would hold 32 MiB; the budget holds them to 4 MiB plus
    # the one read that may always go on.
    assert client.budget.peak <= 4 * MIB + 2 * MIB


def test_a_request_that_trickles_bytes_hits_the_deadline() -> None:
    with hostile_server(trickle) as base:
        (result,), _ = fetch_all([f"{base}/slow.json"], timeout=30.0, deadline=1.0)
    assert isinstance(result, FetchError) and result.reason == "timed out"


def test_the_oldest_read_always_goes_on() -> None:
    async def run() -> list[int]:
        budget = ByteBudget(10)
        first, second = budget.open(), budget.open()
        await budget.take(second, 8)
        await budget.take(first, 8)  # over the budget, but the oldest read: it goes on
        waiting = asyncio.create_task(budget.take(second, 8))
        await asyncio.sleep(0)
        assert not waiting.done()  # the younger one waits for room
        await budget.close(first)
        await waiting
        held = [budget.peak]
        await budget.close(second)
        return held

    assert asyncio.run(run()) == [16]


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


def test_an_item_nested_too_deeply_is_not_indexed() -> None:
    item = {"id": "deep", "properties": {"a": nested(900)}, "geometry": None}
    with pytest.raises(InputError, match="item deep: nested deeper than 255 levels"):
        prepare(item, "deep.json")
    shallow = {"id": "ok", "properties": {"a": nested(250)}, "geometry": None}
    assert prepare(shallow, "ok.json")[0]["id"] == "ok"


def test_a_deep_item_is_reported_and_the_crawl_goes_on(tmp_path: Any) -> None:
    import orjson

    (tmp_path / "deep").mkdir()
    ring = [[0, 0], [1, 0], [1, 1], [0, 0]]
    item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": "deep",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [0, 0, 1, 1],
        "properties": {"datetime": "2020-01-01T00:00:00Z", "a": nested(400)},
        "links": [],
        "assets": {},
    }
    (tmp_path / "deep" / "deep.json").write_text(json.dumps(item))  # orjson stops at 255
    catalog = {
        "type": "Catalog",
        "stac_version": "1.1.0",
        "id": "c",
        "description": "c",
        "links": [{"rel": "item", "href": "./deep/deep.json"}],
    }
    (tmp_path / "catalog.json").write_bytes(orjson.dumps(catalog))
    done = crawl_into_index(tmp_path / "catalog.json", tmp_path / "index")
    assert done.manifest.items == 0 and done.report.not_indexed == 1
    assert [w.message for w in done.report.warnings] == [
        "item not indexed: nested deeper than 255 levels"
    ]


def test_a_local_document_over_the_size_limit_is_reported_not_read(tmp_path: Any) -> None:
    import orjson

    catalog = {
        "type": "Catalog",
        "stac_version": "1.1.0",
        "id": "c",
        "description": "c" * 5000,
        "links": [],
    }
    (tmp_path / "catalog.json").write_bytes(orjson.dumps(catalog))
    report = crawl(tmp_path / "catalog.json", options=CrawlOptions(max_bytes=4096))
    assert [f.message for f in report.failures] == ["file exceeds the 4096 byte size limit"]
