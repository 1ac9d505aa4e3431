"""Where schemas come from: `--schemas`, `$STACFORGE_SCHEMAS`, the user cache, a download (from
a real server on 127.0.0.1), and what happens when none has them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from stacforge.catalog.schemas import SchemaStore
from stacforge.catalog.validate import validate
from stacforge.errors import StacforgeError

ITEM = "demo_labels/tile-1/tile-1.json"
ML_AOI = "https://stac-extensions.github.io/ml-aoi/v0.2.0/schema.json"
Objects = dict[str, dict[str, Any]]

# An extension schema whose field is defined in a second document, reached by a relative $ref.
EXTENSION = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"properties": {"properties": {"demo:size": {"$ref": "defs.json#/size"}}}},
}
DEFS = {"size": {"type": "integer", "minimum": 1}}


def schema_folder(folder: Path, schemas: dict[str, Any]) -> Path:
    """A schema folder with ``schema-map.json``: one file per URL."""
    files = {}
    for i, (url, schema) in enumerate(schemas.items()):
        files[url] = f"s{i}/schema.json"
        (folder / f"s{i}").mkdir(parents=True)
        (folder / files[url]).write_text(json.dumps(schema))
    (folder / "schema-map.json").write_text(json.dumps({"schemas": files}))
    return folder


def use_served_extension(objects: Objects, server: Any) -> None:
    """Publishes the demo extension (two documents) and declares it on the label item."""
    server.documents = {
        "demo/v1/schema.json": orjson.dumps(EXTENSION),
        "demo/v1/defs.json": orjson.dumps(DEFS),
    }
    objects[ITEM]["stac_extensions"].append(server.url("demo/v1/schema.json"))


def test_schemas_folder_comes_before_the_env_folder(
    error_lines: Callable,
    objects: Objects,
    write_catalog: Callable,
    tmp_path: Path,
    shared: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A stricter ml-aoi schema: whichever folder is searched first decides.
    strict = schema_folder(tmp_path / "strict", {ML_AOI: {"required": ["ml-aoi:strict"]}})
    root = write_catalog(objects)
    monkeypatch.setenv("STACFORGE_SCHEMAS", str(shared / "schemas"))

    first_strict = validate(root, schemas=strict, allow_download=False)
    monkeypatch.setenv("STACFORGE_SCHEMAS", str(strict))
    first_shared = validate(root, schemas=shared / "schemas", allow_download=False)

    assert error_lines(first_strict, root) == [
        "demo_labels/collection.json: $: 'ml-aoi:strict' is a required property",
        f"{ITEM}: $: 'ml-aoi:strict' is a required property",
    ]
    assert first_shared.valid


def test_a_schema_folder_without_a_map_is_an_error(
    objects: Objects, write_catalog: Callable, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()

    with pytest.raises(StacforgeError, match=r"empty/schema-map\.json: not a readable schema map"):
        validate(write_catalog(objects), schemas=tmp_path / "empty", allow_download=False)


def test_download_goes_to_the_cache_and_is_reused_offline(
    error_lines: Callable,
    objects: Objects,
    write_catalog: Callable,
    schema_server: Any,
    schema_cache: Path,
) -> None:
    use_served_extension(objects, schema_server)
    objects[ITEM]["properties"]["demo:size"] = 0
    root = write_catalog(objects)

    downloaded = validate(root, allow_download=True)
    cached = validate(root, allow_download=False)

    expected = [f"{ITEM}: $.properties['demo:size']: 0 is less than the minimum of 1"]
    assert error_lines(downloaded, root) == error_lines(cached, root) == expected
    assert schema_server.requests == {"demo/v1/schema.json": 1, "demo/v1/defs.json": 1}
    cache_files = sorted(path.name for path in schema_cache.iterdir())
    assert len(cache_files) == 2  # nothing half-written left behind
    assert all(name.startswith("http%3A%2F%2F127.0.0.1") for name in cache_files)


def test_a_broken_download_is_an_error_and_not_cached(
    error_lines: Callable,
    objects: Objects,
    write_catalog: Callable,
    schema_server: Any,
    schema_cache: Path,
) -> None:
    schema_server.documents = {"demo/v1/schema.json": b'{"type": "obj'}
    url = schema_server.url("demo/v1/schema.json")
    missing = schema_server.url("demo/v2/schema.json")
    objects[ITEM]["stac_extensions"] += [url, missing]
    root = write_catalog(objects)

    report = validate(root, allow_download=True)

    [broken, not_found] = error_lines(report, root)
    assert broken.startswith(f"{ITEM}: $: schema {url} not found (download failed: ")
    assert not_found == (
        f"{ITEM}: $: schema {missing} not found (download failed: HTTP Error 404: Not Found)"
    )
    assert not schema_cache.exists() or not any(schema_cache.iterdir())


def test_a_corrupt_cache_entry_is_fetched_anew(
    objects: Objects, write_catalog: Callable, schema_server: Any, schema_cache: Path
) -> None:
    use_served_extension(objects, schema_server)
    objects[ITEM]["properties"]["demo:size"] = 3
    root = write_catalog(objects)
    assert validate(root, allow_download=True).valid
    for entry in schema_cache.iterdir():
        entry.write_bytes(b"\x00garbage")

    assert validate(root, allow_download=True).valid
    assert schema_server.requests == {"demo/v1/schema.json": 2, "demo/v1/defs.json": 2}
    for entry in schema_cache.iterdir():
        assert isinstance(orjson.loads(entry.read_bytes()), dict)


def test_a_missing_referenced_schema_is_reported_where_it_is_needed(
    error_lines: Callable, objects: Objects, write_catalog: Callable, tmp_path: Path
) -> None:
    # Found locally, but its $ref leads to a schema nobody has: only objects that use the
    # field need it.
    url = "https://example.com/demo/v1/schema.json"
    gone = "https://example.com/demo/v1/gone.json"
    extension = {**EXTENSION}
    extension["properties"] = {"properties": {"properties": {"demo:size": {"$ref": gone}}}}
    folder = schema_folder(tmp_path / "demo", {url: extension})
    objects[ITEM]["stac_extensions"].append(url)
    objects["demo_labels/collection.json"]["stac_extensions"].append(url)
    objects[ITEM]["properties"]["demo:size"] = 3
    root = write_catalog(objects)

    report = validate(root, schemas=folder, allow_download=False)

    assert error_lines(report, root) == [
        f"{ITEM}: $: schema {url} refers to {gone}, which is not found "
        "(not in any schema folder or the cache; download disabled)"
    ]


def test_a_schema_only_python_compiles_is_still_checked(
    error_lines: Callable, objects: Objects, write_catalog: Callable, tmp_path: Path
) -> None:
    # `(?P<name>...)` is Python's regex syntax, which jsonschema-rs does not compile: jsonschema
    # alone checks objects against this schema.
    url = "https://example.com/demo/v1/schema.json"
    pattern = "^(?P<word>[a-z]+)$"
    extension = {**EXTENSION}
    extension["properties"] = {"properties": {"properties": {"demo:name": {"pattern": pattern}}}}
    folder = schema_folder(tmp_path / "demo", {url: extension})
    objects[ITEM]["stac_extensions"].append(url)
    objects[ITEM]["properties"]["demo:name"] = "Bad Name"
    root = write_catalog(objects)

    report = validate(root, schemas=folder, allow_download=False)

    assert SchemaStore([folder]).fast_validator(url) is None
    assert error_lines(report, root) == [
        f"{ITEM}: $.properties['demo:name']: 'Bad Name' does not match '{pattern}'"
    ]
