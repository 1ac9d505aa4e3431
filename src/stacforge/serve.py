"""``serve``: a static catalog (and its indexes) over HTTP on loopback, with CORS.

Enough for STAC Browser, for crawling a local catalog over HTTP, and for tests; not a
production server. Files are served with ETag / Last-Modified (revalidation answers 304),
range requests and the media types STAC clients expect. Only files are served: no directory
listings, nothing whose path has a part starting with a dot (``.git``, a build's
``.OUT.*.partial``), nothing outside the folder and no symbolic links out of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath

from aiohttp import web

from stacforge import media_types

_MEDIA_TYPES = {
    ".json": media_types.JSON,
    ".geojson": media_types.GEOJSON,
    ".parquet": media_types.PARQUET,
    ".tif": media_types.GEOTIFF,
    ".tiff": media_types.GEOTIFF,
    ".png": media_types.PNG,
    ".h5": media_types.HDF5,
    ".hdf5": media_types.HDF5,
    ".csv": media_types.CSV,
    ".gz": media_types.GZIP,
    ".7z": media_types.SEVEN_ZIP,
    ".tfrecord": media_types.TFRECORD,
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
    if any(part.startswith(".") for part in PurePosixPath(request.path).parts[1:]):
        raise web.HTTPNotFound(headers=_CORS)
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
    app.router.add_static("/", root, show_index=False, follow_symlinks=False)
    return app


IDLE_TIMEOUT = 15.0
"""Seconds a connection may stay open without a complete request (aiohttp's default keeps an
idle or half-open connection an hour)."""


async def start(
    directory: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    idle_timeout: float = IDLE_TIMEOUT,
) -> web.AppRunner:
    """Starts serving ``directory``; returns the runner (``await runner.cleanup()`` stops it,
    ``runner.addresses`` says where it listens)."""
    runner = web.AppRunner(create_app(directory), access_log=None, keepalive_timeout=idle_timeout)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def serve(
    directory: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serves ``directory`` until interrupted (Ctrl-C, SIGTERM).

    Args:
        directory: The folder to serve.
        host: The address to listen on.
        port: The port to listen on.
        on_ready: Called once the server listens.
    """

    async def run() -> None:
        runner = await start(directory, host=host, port=port)
        try:
            if on_ready is not None:
                on_ready()
            await asyncio.Event().wait()  # until cancelled
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
