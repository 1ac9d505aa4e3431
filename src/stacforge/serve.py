"""``serve``: a static catalog (and its indexes) over HTTP on loopback, with CORS.

Enough for STAC Browser, for crawling a local catalog over HTTP, and for tests; not a
production server. Files are served with ETag / Last-Modified (revalidation answers 304),
range requests and the media types STAC clients expect. Only files are served: no directory
listings, nothing whose path has a part starting with a dot (``.git``, a build's
``.OUT.*.partial``), nothing outside the folder and no symbolic links out of it.

With a STAC Browser build (``make browser`` writes one to ``browser/dist/``), the same server
also serves it at ``/browser/``, configured to open the served catalog.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
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


BROWSER_PATH = "/browser/"
"""Where a STAC Browser build is served; the build's ``pathPrefix`` (``browser/config.js``)."""

BROWSER_BUILD = Path(__file__).resolve().parents[2] / "browser" / "dist"
"""Where ``make browser`` puts the STAC Browser build in a stacforge checkout."""


def browser_build(directory: str | Path | None = None) -> Path | None:
    """The STAC Browser build to serve: ``directory``, else env ``STACFORGE_BROWSER``, else
    :data:`BROWSER_BUILD`; ``None`` when that folder holds no ``index.html``."""
    chosen = directory or os.environ.get("STACFORGE_BROWSER") or BROWSER_BUILD
    path = Path(chosen).resolve()
    return path if (path / "index.html").is_file() else None


def create_app(directory: str | Path, *, browser: str | Path | None = None) -> web.Application:
    """An aiohttp application serving the files below ``directory`` read-only.

    Args:
        directory: The catalog folder, served at ``/``.
        browser: A STAC Browser build (a folder with ``index.html``), served at
            :data:`BROWSER_PATH`; ``None`` serves none.
    """
    root = Path(directory).resolve()
    app = web.Application(middlewares=[_cors])
    if browser is not None:
        index = Path(browser).resolve() / "index.html"

        async def browser_index(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(index)

        async def to_browser(request: web.Request) -> web.StreamResponse:
            query = f"?{request.query_string}" if request.query_string else ""
            raise web.HTTPMovedPermanently(BROWSER_PATH + query)

        # The build runs in hash mode (``#/...`` routes), so its pages are all index.html.
        app.router.add_get(BROWSER_PATH.rstrip("/"), to_browser)
        app.router.add_get(BROWSER_PATH, browser_index)
        app.router.add_static(BROWSER_PATH, index.parent, show_index=False, follow_symlinks=False)
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
    browser: str | Path | None = None,
) -> web.AppRunner:
    """Starts serving ``directory`` (and the STAC Browser build ``browser``, if given); returns
    the runner (``await runner.cleanup()`` stops it, ``runner.addresses`` says where it
    listens)."""
    runner = web.AppRunner(
        create_app(directory, browser=browser), access_log=None, keepalive_timeout=idle_timeout
    )
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def serve(
    directory: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    on_ready: Callable[[], None] | None = None,
    browser: str | Path | None = None,
) -> None:
    """Serves ``directory`` until interrupted (Ctrl-C, SIGTERM).

    Args:
        directory: The folder to serve.
        host: The address to listen on.
        port: The port to listen on.
        on_ready: Called once the server listens.
        browser: A STAC Browser build to serve at :data:`BROWSER_PATH`, or ``None``.
    """

    async def run() -> None:
        runner = await start(directory, host=host, port=port, browser=browser)
        try:
            if on_ready is not None:
                on_ready()
            await asyncio.Event().wait()  # until cancelled
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
