"""`stacforge serve`: static files on loopback with CORS and revalidation."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from stacforge.cli import cli
from stacforge.serve import create_app, start


async def fetch_all(root: Path) -> dict[str, tuple[int, dict[str, str]]]:
    server = TestServer(create_app(root), host="127.0.0.1")
    await server.start_server()
    results: dict[str, tuple[int, dict[str, str]]] = {}
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(server.make_url("/catalog.json")) as r:
                results["get"] = (r.status, dict(r.headers))
            etag = results["get"][1]["Etag"]
            async with session.get(
                server.make_url("/catalog.json"), headers={"If-None-Match": etag}
            ) as r:
                results["revalidate"] = (r.status, dict(r.headers))
            async with session.options(server.make_url("/catalog.json")) as r:
                results["preflight"] = (r.status, dict(r.headers))
            async with session.get(server.make_url("/index/items.parquet")) as r:
                results["parquet"] = (r.status, dict(r.headers))
            async with session.get(server.make_url("/../secret.txt")) as r:
                results["escape"] = (r.status, dict(r.headers))
            for name in ("/.git/config", "/.hidden.json", "/index/", "/", "/sub/.env"):
                async with session.get(server.make_url(name)) as r:
                    results[name] = (r.status, dict(r.headers))
            async with session.get(
                server.make_url("/index/items.parquet"), headers={"Range": "bytes=1-2"}
            ) as r:
                results["range"] = (r.status, {"body": (await r.read()).decode()})
            async with session.get(server.make_url("/chip.tif")) as r:
                results["tif"] = (r.status, dict(r.headers))
    finally:
        await server.close()
    return results


def test_serves_catalog_files_with_cors_and_etags(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    (root / "index").mkdir(parents=True)
    (root / "catalog.json").write_text('{"type": "Catalog"}')
    (root / "index" / "items.parquet").write_bytes(b"PAR1")
    (tmp_path / "secret.txt").write_text("no")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[remote]")
    (root / ".hidden.json").write_text("{}")
    (root / "sub").mkdir()
    (root / "sub" / ".env").write_text("TOKEN=x")
    (root / "chip.tif").write_bytes(b"II*\x00")

    results = asyncio.run(fetch_all(root))

    status, headers = results["get"]
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert results["revalidate"][0] == 304
    assert results["preflight"][0] == 204
    assert results["preflight"][1]["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert results["parquet"][1]["Content-Type"] == "application/vnd.apache.parquet"
    assert results["escape"][0] in (403, 404)
    # No listings, no dotfiles anywhere in the path.
    for name in ("/.git/config", "/.hidden.json", "/index/", "/", "/sub/.env"):
        assert results[name][0] in (403, 404), name
    assert results["range"] == (206, {"body": "AR"})
    assert results["tif"][1]["Content-Type"] == "image/tiff; application=geotiff"


def test_serve_command_answers_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "catalog.json").write_text('{"type": "Catalog"}')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "stacforge.cli", "serve", str(tmp_path), "--port", str(port)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        # The first line comes once the server listens.
        assert process.stderr.readline().startswith(f"serving {tmp_path} at http://127.0.0.1")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/catalog.json", timeout=10) as r:
            assert r.read() == b'{"type": "Catalog"}'
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_half_open_connection_is_closed() -> None:
    async def run() -> list[bytes]:
        runner = await start(Path("."), port=0, idle_timeout=0.5)
        port = runner.addresses[0][1]
        answers = []
        try:
            for sent in (b"", b"GET /catalog.json HTTP/1.1\r\nHost: a\r\n"):  # no blank line
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(sent)
                # The server closes the connection: the read ends (a guard of 30 s, not a timing).
                answers.append(await asyncio.wait_for(reader.read(), timeout=30))
                writer.close()
        finally:
            await runner.cleanup()
        return answers

    assert asyncio.run(run()) == [b"", b""]


def write_browser_build(folder: Path) -> Path:
    """A stand-in for a STAC Browser build: the files ``make browser`` writes, in miniature."""
    (folder / "js").mkdir(parents=True)
    (folder / "index.html").write_text('<script src="/browser/js/app.js"></script>')
    (folder / "js" / "app.js").write_text("console.log('browser');")
    return folder


async def fetch_browser(root: Path, build: Path) -> dict[str, tuple[int, str, str]]:
    server = TestServer(create_app(root, browser=build), host="127.0.0.1")
    await server.start_server()
    results: dict[str, tuple[int, str, str]] = {}
    try:
        async with aiohttp.ClientSession() as session:
            for name in (
                "/browser/",
                "/browser?root=x.json",
                "/browser/js/app.js",
                "/catalog.json",
            ):
                async with session.get(server.make_url(name), allow_redirects=False) as r:
                    results[name] = (
                        r.status,
                        r.headers.get("Content-Type", ""),
                        r.headers.get("Location", "") or (await r.text()),
                    )
            for name in ("/browser/js/", "/browser/../catalog.json"):
                async with session.get(server.make_url(name)) as r:
                    results[name] = (r.status, "", "")
    finally:
        await server.close()
    return results


def test_serves_a_browser_build_next_to_the_catalog(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    root.mkdir()
    (root / "catalog.json").write_text('{"type": "Catalog"}')
    build = write_browser_build(tmp_path / "dist")

    results = asyncio.run(fetch_browser(root, build))

    assert results["/browser/"] == (200, "text/html", '<script src="/browser/js/app.js"></script>')
    assert results["/browser?root=x.json"][0] == 301
    assert results["/browser?root=x.json"][2] == "/browser/?root=x.json"
    assert results["/browser/js/app.js"][0] == 200
    assert results["/browser/js/app.js"][1].endswith("/javascript")  # text/ or application/
    assert results["/catalog.json"] == (200, "application/json", '{"type": "Catalog"}')
    assert results["/browser/js/"][0] in (403, 404)
    assert results["/browser/../catalog.json"][0] == 200  # normalised to /catalog.json


def test_serve_browser_without_a_build_says_how_to_make_one(
    tmp_path: Path, runner: CliRunner
) -> None:
    (tmp_path / "catalog.json").write_text('{"type": "Catalog"}')
    empty = tmp_path / "no-build"
    empty.mkdir()

    result = runner.invoke(cli, ["serve", str(tmp_path), "--browser", "--browser-dir", str(empty)])

    assert result.exit_code == 1
    assert "no STAC Browser build found" in result.stderr
    assert "make browser" in result.stderr


def test_serve_browser_prints_the_browser_url(tmp_path: Path) -> None:
    (tmp_path / "collection.json").write_text('{"type": "Collection"}')
    build = write_browser_build(tmp_path.parent / f"{tmp_path.name}-dist")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "stacforge.cli", "serve", str(tmp_path), "--port", str(port)]
    command += ["--browser", "--browser-dir", str(build)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        assert process.stderr.readline().startswith(f"serving {tmp_path} at http://127.0.0.1")
        browser_url = f"http://127.0.0.1:{port}/browser/?root=collection.json"
        assert process.stderr.readline().strip() == f"STAC Browser: {browser_url}"
        with urllib.request.urlopen(browser_url, timeout=10) as r:
            assert b"/browser/js/app.js" in r.read()
    finally:
        process.terminate()
        process.wait(timeout=10)
