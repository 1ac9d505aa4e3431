"""End to end: every example catalog in STAC Browser, in headless Chromium, driven by playwright.

For each ``catalogs/<dataset>/`` the test starts ``stacforge serve DIR --browser`` (the real
command, with the build ``make browser`` writes), opens a label item at the URL the command
prints, and checks what a publisher would look for: the label fields, the ``source`` links and
the asset list are rendered, and the page logs no error. The screenshot goes to
``docs/img/<dataset>-label-item.png`` for the documentation.

The machine is offline: requests to other hosts (the map's OpenStreetMap tiles) are answered
with a blank tile, so the map draws and nothing fails for want of a network.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import pytest

from stacforge.serve import browser_build

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = ROOT / "catalogs"
SCREENSHOTS = ROOT / "docs" / "img"
CHROMIUM = Path(os.environ.get("STACFORGE_CHROMIUM", "/usr/bin/chromium"))
EXAMPLES = sorted(path.parent.name for path in CATALOGS.glob("*/catalog.json"))
LOADED = 60_000
"""Milliseconds to wait for the item page (a first load in a cold browser can be slow)."""

playwright_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the Python package playwright is not installed (pip install playwright)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium of the system (playwright's own browser download is not used)."""
    if not CHROMIUM.is_file():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: apt-get install chromium, or set STACFORGE_CHROMIUM"
        )
    if browser_build() is None:
        pytest.skip("STAC Browser is not built: run `make browser` (needs node and npm)")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def first_label_item(catalog: Path) -> tuple[Path, dict[str, Any]]:
    """The first item (in path order) whose properties have ``label:type``."""
    for path in sorted(catalog.rglob("*.json")):
        document = json.loads(path.read_bytes())
        if document.get("type") == "Feature" and "label:type" in document.get("properties", {}):
            return path, document
    raise AssertionError(f"{catalog} has no label item")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Path, str]]:
    """``stacforge serve catalogs/<dataset> --browser``: the folder and the printed browser URL."""
    catalog = CATALOGS / request.param
    command = [sys.executable, "-m", "stacforge.cli", "serve", str(catalog), "--browser"]
    command += ["--port", str(free_port())]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        process.stderr.readline()  # "serving ... at ...": the server listens
        announced = process.stderr.readline().strip()
        assert announced.startswith("STAC Browser: http://127.0.0.1:"), announced
        yield catalog, announced.removeprefix("STAC Browser: ")
    finally:
        process.terminate()
        process.wait(timeout=10)


def blank_tile() -> bytes:
    """A 256 x 256 light grey PNG, the answer to every request for another host."""
    from PIL import Image  # matplotlib's own dependency

    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (236, 236, 236)).save(buffer, format="PNG")
    return buffer.getvalue()


def expected_assets(item: dict[str, Any]) -> list[str]:
    """Titles (or keys) of the assets STAC Browser lists: thumbnails are shown apart."""
    return [
        asset.get("title") or key
        for key, asset in item["assets"].items()
        if "thumbnail" not in asset.get("roles", [])
    ]


@pytest.mark.parametrize("served", EXAMPLES, indirect=True)
def test_label_item_in_stac_browser(browser: Any, served: tuple[Path, str]) -> None:
    catalog, browser_url = served
    path, item = first_label_item(catalog)
    relative = path.relative_to(catalog).as_posix()
    origin = f"{urlparse(browser_url).scheme}://{urlparse(browser_url).netloc}"
    item_url = f"{origin}/{relative}"
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            # Chromium asks every site for /favicon.ico; a catalog folder has none.
            and not message.location.get("url", "").endswith("/favicon.ico")
            and errors.append(f"console: {message.text} ({message.location.get('url')})")
        ),
    )
    tile = blank_tile()
    page.route(
        lambda url: not url.startswith(origin),
        lambda route: route.fulfill(status=200, content_type="image/png", body=tile),
    )

    page.goto(f"{browser_url}#/{relative}")

    # The label fields: each label:* property with a value has its row in the metadata.
    label_type = page.locator('.metadata-rows [title="label:type"]')
    label_type.wait_for(timeout=LOADED)
    page.wait_for_load_state("networkidle")
    row = label_type.locator("xpath=..")
    assert item["properties"]["label:type"] in row.inner_text()
    properties = item["properties"]
    for key in sorted(k for k, v in properties.items() if k.startswith("label:") and v):
        assert page.locator(f'.metadata-rows [title="{key}"]').count() >= 1, key
    class_names = [
        str(value)
        for entry in item["properties"].get("label:classes", [])
        for value in entry["classes"][:5]
    ]
    # The item's metadata, and each asset's (bands) in sections of their own.
    metadata = "\n".join(page.locator("section.metadata").all_inner_texts())
    for name in class_names:
        assert name in metadata, name

    # The source links, each to the source item's URL. (BreizhCrops, DeepOrchidSeries and
    # the cloud TFRecords keep a sample's data on its label item, as their issues specify:
    # those have none.)
    sources = [urljoin(item_url, link["href"]) for link in item["links"] if link["rel"] == "source"]
    shown = page.locator('section.links a[rel="source"]')
    assert sorted(shown.nth(i).get_attribute("href") or "" for i in range(shown.count())) == sorted(
        sources
    )

    # The asset list: one card per asset, with its title or key.
    assets = expected_assets(item)
    assert page.locator("section.assets .card.asset").count() == len(assets)
    listed = page.locator("section.assets").inner_text()
    for title in assets:
        assert title in listed, title

    assert errors == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{catalog.name}-label-item.png"), full_page=True)
    page.close()
