"""``serve``: a static catalog (and its indexes) over HTTP on loopback, with CORS.

Enough for STAC Browser, for crawling a local catalog over HTTP, and for tests; not a
production server. Files are served with ETag / Last-Modified, so revalidation answers 304.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath

from aiohttp import web

_MEDIA_TYPES = {
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".parquet": "application/vnd.apache.parquet",
}
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Content-Length",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=_CORS)
    response = await handler(request)
    response.headers.update(_CORS)
    # aiohttp guesses types from its own table; STAC media types are set here before prepare().
    if media_type := _MEDIA_TYPES.get(PurePosixPath(request.path).suffix):
        response.headers.setdefault("Content-Type", media_type)
    return response


def create_app(directory: str | Path) -> web.Application:
    """An aiohttp application serving the files below ``directory`` read-only."""
    root = Path(directory).resolve()
    app = web.Application(middlewares=[_cors])
    app.router.add_static("/", root, show_index=True, follow_symlinks=False)
    return app


def serve(directory: str | Path, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serves ``directory`` until interrupted."""
    web.run_app(
        create_app(directory), host=host, port=port, print=None, loop=asyncio.new_event_loop()
    )
