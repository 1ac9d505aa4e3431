"""Where a crawl starts: a folder stands for the catalog (or collection) file in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacforge.crawl import crawl
from stacforge.crawl.hrefs import start_href
from stacforge.errors import StacforgeError


def test_a_folder_starts_at_its_catalog_json(realworld: Path) -> None:
    folder = realworld / "pystac-test-case-1"
    assert start_href(folder) == str(folder / "catalog.json")
    ids: list[str] = []
    report = crawl(folder, lambda item, href: ids.append(item["id"]))
    assert report.ok and len(ids) == 8


def test_a_folder_without_a_stac_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(StacforgeError, match=r"no catalog\.json or collection\.json in"):
        start_href(tmp_path)
