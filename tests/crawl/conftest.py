"""A real HTTP server on 127.0.0.1 that serves catalogs from disk and injects faults."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import encode_basic_auth, hdrs, web

from stacforge.crawl import CrawlOptions, RetryPolicy

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Fault:
    """What the server does instead of answering normally, once.

    Attributes:
        status: Answer with this status (and an empty body).
        retry_after: The ``Retry-After`` header sent with ``status``.
        delay: Seconds to wait before answering normally.
        cut: ``"connection"`` closes the connection halfway through the body;
            ``"json"`` sends the first half of the body as if it were all of it.
    """

    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    cut: str | None = None


@dataclass
class Request:
    """A request the server received, and what it answered."""

    path: str
    headers: dict[str, str]
    received: float
    status: int = 0
    body_bytes: int = 0


@dataclass
class CatalogServer:
    """Serves the files under ``root`` with ETag and Last-Modified; records every request.

    Attributes:
        faults: Per path, the faults to play (in order) before answering normally.
        latency: Seconds added to every request.
        etags: Send ETags (else only Last-Modified).
        auth: Required ``(user, password)``, if any.
        redirects: Paths answered with a ``301`` to the given URL (absolute or relative).
    """

    root: Path
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    latency: float = 0.0
    etags: bool = True
    auth: tuple[str, str] | None = None
    redirects: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _answered: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _answers: int = 0

    def wait_for_answers(self, count: int, timeout: float = 60.0) -> bool:
        """Blocks until ``count`` requests have been answered (False if ``timeout`` seconds,
        a bound for a broken test, pass first)."""
        with self._answered:
            return self._answered.wait_for(lambda: self._answers >= count, timeout)

    def url(self, path: str = "") -> str:
        """The URL of ``path`` (relative to ``root``) on this server."""
        return f"http://127.0.0.1:{self.port}/{path}"

    def count(self, path: str, status: int | None = None) -> int:
        """How many requests for ``/path`` were answered (with ``status``, if given)."""
        return sum(
            1
            for request in self.requests
            if request.path == "/" + path and status in (None, request.status)
        )

    def fault(self, path: str, times: int = 1, **fault: Any) -> None:
        """Answers the next ``times`` requests for ``path`` with a :class:`Fault` (keywords)."""
        self.faults.setdefault("/" + path, []).extend([Fault(**fault)] * times)

    def wait_until_quiet(self, seconds: float = 0.2) -> None:
        """Returns once no request has arrived for ``seconds`` (say, after killing a client)."""
        seen = -1
        while seen != len(self.requests):
            seen = len(self.requests)
            time.sleep(seconds)

    @web.middleware
    async def _inject(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        record = Request(request.path, dict(request.headers), time.monotonic())
        self.requests.append(record)
        planned = self.faults.get(request.path)
        fault = planned.pop(0) if planned else Fault()
        await asyncio.sleep(self.latency + fault.delay)
        if fault.status is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            response: web.StreamResponse = web.Response(status=fault.status, headers=headers)
        elif fault.cut == "connection":
            response = await self._cut_connection(request)
        else:
            response = await handler(request)
            if fault.cut == "json" and isinstance(response, web.Response) and response.body:
                body = bytes(response.body)  # type: ignore[arg-type]
                response.body = body[: len(body) // 2]
        record.status = response.status
        if isinstance(response, web.Response) and response.body:
            record.body_bytes = len(response.body)  # type: ignore[arg-type]
        with self._answered:
            self._answers += 1
            self._answered.notify_all()
        return response

    async def _cut_connection(self, request: web.Request) -> web.StreamResponse:
        body = self._file(request).read_bytes()
        response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        assert request.transport is not None
        request.transport.close()
        return response

    def _file(self, request: web.Request) -> Path:
        path = (self.root / request.path.lstrip("/")).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            raise web.HTTPNotFound()
        return path

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        if self.auth is not None and request.headers.get(hdrs.AUTHORIZATION) != (
            encode_basic_auth(*self.auth)
        ):
            raise web.HTTPUnauthorized()
        if (target := self.redirects.get(request.path.lstrip("/"))) is not None:
            raise web.HTTPMovedPermanently(location=target)
        path = self._file(request)
        body = path.read_bytes()
        mtime = int(path.stat().st_mtime)
        headers = {"Last-Modified": formatdate(mtime, usegmt=True)}
        if self.etags:
            headers["ETag"] = f'"{hashlib.sha1(body).hexdigest()}"'
            fresh = request.headers.get("If-None-Match") == headers["ETag"]
        else:
            since = request.headers.get("If-Modified-Since")
            fresh = since is not None and parsedate_to_datetime(since).timestamp() >= mtime
        if fresh:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type="application/json", headers=headers)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._inject])
        app.router.add_get("/{tail:.*}", self._serve)
        return app


@contextlib.contextmanager
def running(server: CatalogServer) -> Iterator[CatalogServer]:
    """Runs ``server`` on a free port of 127.0.0.1 in a thread of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(server.app(), access_log=None)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return int(runner.addresses[0][1])

    server.port = asyncio.run_coroutine_threadsafe(start(), loop).result()
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., CatalogServer]]:
    """Starts catalog servers (``serve(root, **settings)``) that stop after the test."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with contextlib.ExitStack() as stack:

        def start(root: Path, **settings: Any) -> CatalogServer:
            return stack.enter_context(running(CatalogServer(root, **settings)))

        yield start


@pytest.fixture
def quick() -> CrawlOptions:
    """Crawl options with short waits, so retries cost milliseconds."""
    return CrawlOptions(concurrency=8, retry=RetryPolicy(retries=3, backoff=0.01), timeout=5.0)


@dataclass
class CatalogFiles:
    """Writes small STAC catalogs under ``root``, for the crawler to read or a server to serve."""

    root: Path

    def write(self, path: str, obj: dict[str, Any]) -> None:
        """Writes ``obj`` as JSON to ``root/path``."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(orjson.dumps(obj))

    def item(self, path: str, item_id: str, **fields: Any) -> None:
        """Writes a small valid item; ``fields`` replace or add top-level fields."""
        obj = {
            "type": "Feature",
            "stac_version": "1.1.0",
            "id": item_id,
            "geometry": {"type": "Point", "coordinates": [10.0, 50.0]},
            "bbox": [10.0, 50.0, 10.0, 50.0],
            "properties": {"datetime": "2020-01-01T00:00:00Z"},
            "links": [],
            "assets": {"data": {"href": f"./{item_id}.tif", "type": "image/tiff"}},
        }
        self.write(path, obj | fields)

    def container(self, path: str, kind: str, object_id: str, links: list[Any]) -> None:
        """Writes a catalog or collection (``kind``) with ``links`` (dicts, or child hrefs)."""
        obj: dict[str, Any] = {
            "type": kind,
            "stac_version": "1.1.0",
            "id": object_id,
            "description": object_id,
            "links": [{"rel": "child", "href": x} if isinstance(x, str) else x for x in links],
        }
        if kind == "Collection":
            obj["license"] = "CC-BY-4.0"
            obj["extent"] = {
                "spatial": {"bbox": [[-180, -90, 180, 90]]},
                "temporal": {"interval": [[None, None]]},
            }
        self.write(path, obj)

    def tree(self, collections: dict[str, int]) -> set[str]:
        """Writes ``catalog.json`` with a collection per key holding that many items.

        Returns:
            The ids of all items.
        """
        ids = set()
        for name, count in collections.items():
            links = []
            for number in range(count):
                item_id = f"{name}-{number:05d}"
                self.item(f"{name}/{item_id}/{item_id}.json", item_id)
                links.append({"rel": "item", "href": f"./{item_id}/{item_id}.json"})
                ids.add(item_id)
            self.container(f"{name}/collection.json", "Collection", name, links)
        self.container(
            "catalog.json", "Catalog", "root", [f"./{name}/collection.json" for name in collections]
        )
        return ids


@pytest.fixture
def files(tmp_path: Path) -> CatalogFiles:
    """Writes catalogs under ``tmp_path / "www"``."""
    return CatalogFiles(tmp_path / "www")
