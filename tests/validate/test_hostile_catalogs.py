"""`stacforge validate` on catalogs from elsewhere: links that leave the catalog's folder are
reported and not followed (unless allowed), and an oversized file is reported, not read."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from stacforge.cli import cli


def _catalog(root: Path, links: list[dict[str, str]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    catalog = {
        "type": "Catalog",
        "stac_version": "1.1.0",
        "id": "c",
        "description": "c",
        "links": [{"rel": "root", "href": "./catalog.json"}, *links],
    }
    (root / "catalog.json").write_text(json.dumps(catalog))
    return root / "catalog.json"


def test_links_that_leave_the_catalog_folder_are_errors_and_not_read(
    runner: CliRunner, tmp_path: Path
) -> None:
    outside = _catalog(tmp_path / "elsewhere", [])
    catalog = _catalog(
        tmp_path / "cat",
        [
            {"rel": "child", "href": str(outside)},
            {"rel": "child", "href": "../elsewhere/catalog.json"},
            {"rel": "license", "href": "file:///etc/shadow"},
            {"rel": "license", "href": "/etc/passwd"},
        ],
    )
    result = runner.invoke(cli, ["validate", str(catalog), "--offline"])
    assert result.exit_code == 1
    assert result.stderr.count("leaves the catalog folder, not followed") == 4
    assert result.stdout.startswith("invalid: 4 errors in 1 object (1 catalog")

    allowed = runner.invoke(cli, ["validate", str(catalog), "--offline", "--allow-outside-links"])
    # Followed now: the other catalog is read (once: both hrefs name the same file); the
    # license links are checked to exist.
    assert "2 objects (2 catalogs" in allowed.stdout
    assert "leaves the catalog folder" not in allowed.stderr


def test_an_oversized_document_is_reported_not_read(runner: CliRunner, tmp_path: Path) -> None:
    catalog = _catalog(tmp_path / "cat", [{"rel": "item", "href": "./big/big.json"}])
    (tmp_path / "cat" / "big").mkdir()
    (tmp_path / "cat" / "big" / "big.json").write_bytes(b" " * 5000 + b"{}")
    result = runner.invoke(cli, ["validate", str(catalog), "--offline", "--max-bytes", "4096"])
    assert result.exit_code == 1
    assert "5,002 bytes: larger than the 4,096 bytes read" in result.stderr
