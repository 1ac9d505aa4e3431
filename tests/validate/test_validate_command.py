"""`stacforge validate`: error lines on stderr, one summary line on stdout, exit status."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from stacforge.cli import cli

ITEM = "demo_labels/tile-1/tile-1.json"
Objects = dict[str, dict[str, Any]]


def test_valid_catalog_exits_0_with_one_summary_line(
    runner: CliRunner, objects: Objects, write_catalog: Callable
) -> None:
    result = runner.invoke(cli, ["validate", str(write_catalog(objects)), "--offline"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "valid: 3 objects (1 catalog, 1 collection, 1 item), 0 errors\n"
    assert result.stderr == ""


def test_invalid_catalog_exits_1_with_errors_on_stderr(
    runner: CliRunner, objects: Objects, write_catalog: Callable
) -> None:
    objects[ITEM]["properties"]["label:description"] = ""
    objects[ITEM]["links"].append({"rel": "source", "href": "../../source/s1/s1.json"})
    root = write_catalog(objects)

    result = runner.invoke(cli, ["validate", str(root / "catalog.json"), "--offline"])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{root}/{ITEM}: $.properties['label:description']: '' should be non-empty",
        f"{root}/{ITEM}: $.links[3].href: source link target not found: ../../source/s1/s1.json",
    ]
    assert result.stdout == ("invalid: 2 errors in 3 objects (1 catalog, 1 collection, 1 item)\n")


def test_unknown_extension_offline_exits_1_without_a_traceback(
    runner: CliRunner, objects: Objects, write_catalog: Callable
) -> None:
    unknown = "https://stac-extensions.github.io/unknown/v1.0.0/schema.json"
    objects[ITEM]["stac_extensions"].append(unknown)

    result = runner.invoke(cli, ["validate", str(write_catalog(objects)), "--offline"])

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"$: schema {unknown} not found" in result.stderr
    assert result.stdout.startswith("invalid: 1 error in 3 objects")


def test_real_rc1_catalog_exits_1_with_one_line_per_missing_schema(
    runner: CliRunner, realworld: Path
) -> None:
    result = runner.invoke(cli, ["validate", str(realworld / "label-multidataset"), "--offline"])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 16
    assert result.stdout == "invalid: 16 errors in 8 objects (1 catalog, 2 collections, 5 items)\n"


def test_schemas_option_is_searched_first(
    runner: CliRunner, objects: Objects, write_catalog: Callable, tmp_path: Path
) -> None:
    ml_aoi = "https://stac-extensions.github.io/ml-aoi/v0.2.0/schema.json"
    folder = tmp_path / "strict"
    folder.mkdir()
    (folder / "ml-aoi.json").write_text('{"required": ["ml-aoi:strict"]}')
    (folder / "schema-map.json").write_text(f'{{"schemas": {{"{ml_aoi}": "ml-aoi.json"}}}}')
    root = write_catalog(objects)

    result = runner.invoke(cli, ["validate", str(root), "--schemas", str(folder), "--offline"])

    assert result.exit_code == 1
    assert result.stderr.count("'ml-aoi:strict' is a required property") == 2


def test_schemas_folder_without_map_is_a_one_line_error(
    runner: CliRunner, objects: Objects, write_catalog: Callable, tmp_path: Path
) -> None:
    root = write_catalog(objects)

    result = runner.invoke(cli, ["validate", str(root), "--schemas", str(tmp_path), "--offline"])

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path}/schema-map.json: not a readable schema map")
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""


def test_a_missing_catalog_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["validate", str(tmp_path / "nowhere"), "--offline"])

    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_real_catalog_with_errors_exits_1_with_its_summary(
    runner: CliRunner, realworld: Path
) -> None:
    result = runner.invoke(cli, ["validate", str(realworld / "pystac-test-case-6"), "--offline"])

    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 2
    assert result.stdout == "invalid: 2 errors in 14 objects (1 catalog, 3 collections, 10 items)\n"
