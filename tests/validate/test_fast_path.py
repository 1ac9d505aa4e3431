"""The jsonschema-rs fast path: it finds an object valid exactly when jsonschema does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from stacforge.catalog.schemas import SchemaNotFound, SchemaStore
from stacforge.catalog.validate import KINDS, schema_urls, validate

ITEM = "demo_labels/tile-1/tile-1.json"
COLLECTION = "demo_labels/collection.json"
CORE = "https://schemas.stacspec.org/v1.1.0"
CORE_ITEM = f"{CORE}/item-spec/json-schema/item.json"
CORE_COLLECTION = f"{CORE}/collection-spec/json-schema/collection.json"
Objects = dict[str, dict[str, Any]]


def stac_objects(root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every catalog, collection and item below ``root``."""
    for path in sorted(root.rglob("*.json")):
        obj = orjson.loads(path.read_bytes())
        if isinstance(obj, dict) and obj.get("type") in KINDS:
            yield path, obj


@pytest.mark.parametrize(
    "name",
    ["label-multidataset", "pystac-test-case-1", "pystac-test-case-4", "pystac-test-case-6"],
)
def test_fast_path_agrees_with_jsonschema_on_real_catalogs(
    store: SchemaStore, realworld: Path, name: str
) -> None:
    checked = 0
    for path, obj in stac_objects(realworld / name):
        for url in schema_urls(obj):
            try:
                fast = store.fast_validator(url)
            except SchemaNotFound:
                continue  # label-multidataset's rc.1 schemas: no local copy
            assert fast is not None, url
            explained = list(store.validator(url).iter_errors(obj))
            assert fast.is_valid(obj) == (not explained), (path, url)
            checked += 1
    assert checked


def test_a_format_jsonschema_does_not_check_passes_the_fast_path_too(
    store: SchemaStore, objects: Objects, write_catalog: Callable
) -> None:
    # No IRI reference (a space, a `|`), but jsonschema does not check `iri-reference`.
    objects[ITEM]["assets"]["labels"]["href"] = "./labels 2018|v1.tif"
    root = write_catalog(objects)

    fast = store.fast_validator(CORE_ITEM)

    assert fast is not None
    assert fast.is_valid(objects[ITEM])
    assert validate(root, allow_download=False).valid


def test_a_format_jsonschema_checks_fails_the_fast_path_too(
    store: SchemaStore, error_lines: Callable, objects: Objects, write_catalog: Callable
) -> None:
    # A JSON schema in the collection summaries whose pattern Python cannot compile, though
    # jsonschema-rs' own `regex` format would accept it.
    objects[COLLECTION]["summaries"]["demo:name"] = {"type": "string", "pattern": "^\\p{L}+$"}
    root = write_catalog(objects)

    fast = store.fast_validator(CORE_COLLECTION)

    assert fast is not None
    assert not fast.is_valid(objects[COLLECTION])
    assert error_lines(validate(root, allow_download=False), root) == [
        f"{COLLECTION}: $.summaries['demo:name'].pattern: '^\\\\p{{L}}+$' is not a 'regex'"
    ]
