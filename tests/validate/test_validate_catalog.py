"""`validate()` on a small label catalog (valid, then broken one way at a time) and on real
catalogs written by others."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import stacforge.catalog.validate as validation
from stacforge.catalog.validate import validate
from stacforge.errors import StacforgeError

ITEM = "demo_labels/tile-1/tile-1.json"
COLLECTION = "demo_labels/collection.json"
Objects = dict[str, dict[str, Any]]


def test_small_label_catalog_is_valid(objects: Objects, write_catalog: Callable) -> None:
    report = validate(write_catalog(objects), allow_download=False)

    assert report.valid
    assert report.counts == {"catalog": 1, "collection": 1, "item": 1}
    assert report.summary() == "valid: 3 objects (1 catalog, 1 collection, 1 item), 0 errors"


def test_a_collection_file_can_be_the_root(objects: Objects, write_catalog: Callable) -> None:
    report = validate(write_catalog(objects) / COLLECTION, allow_download=False)

    assert report.valid
    assert report.counts == {"collection": 1, "item": 1}


def _pop_item_datetime(objects: Objects) -> None:
    del objects[ITEM]["properties"]["datetime"]


def _pop_collection_license(objects: Objects) -> None:
    del objects[COLLECTION]["license"]


def _add_broken_related_link(objects: Objects) -> None:
    objects[ITEM]["links"].append({"rel": "related", "href": "../tile-2/tile-2.json"})


def _empty_label_description(objects: Objects) -> None:
    objects[ITEM]["properties"]["label:description"] = ""


def _name_raster_label_class(objects: Objects) -> None:
    objects[ITEM]["properties"]["label:classes"][0]["name"] = "clc"


def _misspell_split(objects: Objects) -> None:
    objects[ITEM]["properties"]["ml-aoi:split"] = "training"


def _misspell_label_type(objects: Objects) -> None:
    objects[ITEM]["properties"]["label:type"] = "rasta"


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (_pop_item_datetime, [f"{ITEM}: $.properties: 'datetime' is a required property"]),
        (_pop_collection_license, [f"{COLLECTION}: $: 'license' is a required property"]),
        (
            _add_broken_related_link,
            [f"{ITEM}: $.links[3].href: related link target not found: ../tile-2/tile-2.json"],
        ),
        (
            _empty_label_description,
            [f"{ITEM}: $.properties['label:description']: '' should be non-empty"],
        ),
        (
            _name_raster_label_class,
            [f"{ITEM}: $.properties['label:classes'][0].name: 'clc' is not of type 'null'"],
        ),
        (
            _misspell_split,
            [
                f"{ITEM}: $.properties['ml-aoi:split']: "
                "'training' is not one of ['train', 'test', 'validate']"
            ],
        ),
        (
            # Both label-branch errors, not "not valid under any of the given schemas".
            _misspell_label_type,
            [
                f"{ITEM}: $.properties['label:type']: 'rasta' is not one of ['raster', 'vector']",
                f"{ITEM}: $.properties['label:classes'][0].name: None is not of type 'string'",
            ],
        ),
    ],
    ids=[
        "missing-datetime",
        "missing-license",
        "broken-link",
        "empty-label-description",
        "named-raster-class",
        "bad-split",
        "bad-label-type",
    ],
)
def test_each_breakage_is_reported_in_clear_lines(
    error_lines: Callable,
    objects: Objects,
    write_catalog: Callable,
    breakage: Callable[[Objects], None],
    expected: list[str],
) -> None:
    breakage(objects)
    root = write_catalog(objects)

    report = validate(root, allow_download=False)

    assert error_lines(report, root) == expected
    assert report.counts == {"catalog": 1, "collection": 1, "item": 1}
    n = len(expected)
    assert report.summary() == (
        f"invalid: {n} error{'s' if n > 1 else ''} in 3 objects (1 catalog, 1 collection, 1 item)"
    )


def test_unknown_extension_offline_is_an_error_naming_schema_and_object(
    error_lines: Callable, objects: Objects, write_catalog: Callable, schema_cache: Path
) -> None:
    unknown = "https://stac-extensions.github.io/unknown/v1.0.0/schema.json"
    objects[ITEM]["stac_extensions"].append(unknown)
    root = write_catalog(objects)

    report = validate(root, allow_download=False)

    assert error_lines(report, root) == [
        f"{ITEM}: $: schema {unknown} not found "
        "(not in any schema folder or the cache; download disabled)"
    ]
    assert not schema_cache.exists()


def test_missing_child_is_reported_and_the_rest_still_walked(
    error_lines: Callable, objects: Objects, write_catalog: Callable
) -> None:
    objects["catalog.json"]["links"].append({"rel": "child", "href": "./gone/collection.json"})
    root = write_catalog(objects)

    report = validate(root, allow_download=False)

    assert error_lines(report, root) == [
        "catalog.json: $.links[2].href: child link target not found: ./gone/collection.json"
    ]
    assert report.counts == {"catalog": 1, "collection": 1, "item": 1}


def test_cycles_and_repeated_links_visit_each_file_once(
    objects: Objects, write_catalog: Callable
) -> None:
    objects["catalog.json"]["links"].append(
        {"rel": "child", "href": "demo_labels/../demo_labels/collection.json"}
    )
    objects[ITEM]["links"].append({"rel": "child", "href": "../../catalog.json"})
    objects[COLLECTION]["links"].append({"rel": "child", "href": "./collection.json"})

    report = validate(write_catalog(objects), allow_download=False)

    assert report.valid
    assert report.counts == {"catalog": 1, "collection": 1, "item": 1}


def test_a_file_that_is_not_json_is_reported(objects: Objects, write_catalog: Callable) -> None:
    root = write_catalog(objects)
    (root / ITEM).write_bytes(b'{"type": "Feature", ')

    report = validate(root, allow_download=False)

    [error] = report.errors
    assert (error.file, error.location) == (root / ITEM, "$")
    assert error.message.startswith("cannot read JSON: ")
    assert report.summary() == ("invalid: 1 error in 2 objects (1 catalog, 1 collection, 0 items)")


def test_an_object_of_another_type_is_reported(
    error_lines: Callable, objects: Objects, write_catalog: Callable
) -> None:
    objects[ITEM]["type"] = "FeatureCollection"
    root = write_catalog(objects)

    report = validate(root, allow_download=False)

    assert error_lines(report, root) == [
        f"{ITEM}: $.type: not a Catalog, Collection or Item: 'FeatureCollection'"
    ]


def test_a_root_folder_without_catalog_json_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StacforgeError, match=r"no catalog\.json or collection\.json in"):
        validate(tmp_path, allow_download=False)


def test_errors_are_passed_on_as_found(objects: Objects, write_catalog: Callable) -> None:
    _empty_label_description(objects)
    found: list[validation.ObjectError] = []

    report = validate(write_catalog(objects), allow_download=False, on_error=found.append)

    assert found == report.errors
    assert len(found) == 1


@pytest.mark.parametrize(
    ("name", "summary"),
    [
        ("pystac-test-case-1", "valid: 15 objects (3 catalogs, 4 collections, 8 items), 0 errors"),
        ("pystac-test-case-4", "valid: 70 objects (1 catalog, 7 collections, 62 items), 0 errors"),
    ],
)
def test_real_stac_1_1_catalogs_are_valid(realworld: Path, name: str, summary: str) -> None:
    report = validate(realworld / name, allow_download=False)

    assert report.summary() == summary


def test_real_catalog_with_pre_1_0_label_fields_is_invalid(
    error_lines: Callable, realworld: Path
) -> None:
    # pystac's test case 6 declares label v1.0.1 but spells its fields the 0.x way.
    root = realworld / "pystac-test-case-6"

    report = validate(root, allow_download=False)

    item = (
        "12cb17a8-ae08-469c-a2be-4d0619240014/400c22e3-5b54-438b-b600-5e9bd6d0a498/"
        "3c67b59c-2e6f-47fb-ba3c-0dd106941096.json"
    )
    assert error_lines(report, root) == [
        f"{item}: $.properties: 'label:properties' is a required property",
        f"{item}: $.properties: 'label:method', 'label:property', 'label:task' "
        "do not match any of the regexes: '^(?!label:)'",
    ]
    assert report.counts == {"catalog": 1, "collection": 3, "item": 10}


def test_real_rc1_catalog_offline_reports_each_missing_schema(realworld: Path) -> None:
    # STAC 1.0.0-rc.1 core schemas and the version/file extensions have no local copy: each
    # object gets one error per schema it cannot be checked against; the label v1.0.1 schema
    # is there, and the label items pass it.
    root = realworld / "label-multidataset"

    report = validate(root, allow_download=False)

    core = "https://schemas.stacspec.org/v1.0.0-rc.1"
    version = "https://stac-extensions.github.io/version/v1.0.0/schema.json"
    file = "https://stac-extensions.github.io/file/v1.0.0/schema.json"
    items = {
        "zanzibar/znz001.json",
        "zanzibar/znz029.json",
        "spacenet-buildings/AOI_2_Vegas_img2636.json",
        "spacenet-buildings/AOI_3_Paris_img1648.json",
        "spacenet-buildings/AOI_4_Shanghai_img3344.json",
    }
    collections = {"zanzibar/collection.json", "spacenet-buildings/collection.json"}
    expected = {
        ("catalog.json", f"{core}/catalog-spec/json-schema/catalog.json"),
        *((c, f"{core}/collection-spec/json-schema/collection.json") for c in collections),
        *((i, f"{core}/item-spec/json-schema/item.json") for i in items),
        *((path, version) for path in items | collections),
        ("zanzibar/znz029.json", file),
    }
    missing = {
        (str(error.file.relative_to(root)), error.message.split()[1]) for error in report.errors
    }
    assert missing == expected
    assert len(report.errors) == len(expected)
    assert all(error.message.endswith("download disabled)") for error in report.errors)
    assert report.counts == {"catalog": 1, "collection": 2, "item": 5}


def test_a_root_spelled_with_dot_dot_is_still_visited_once(
    objects: Objects, write_catalog: Callable
) -> None:
    objects[ITEM]["links"].append({"rel": "child", "href": "../../catalog.json"})
    root = write_catalog(objects)

    report = validate(root / "demo_labels" / ".." / "catalog.json", allow_download=False)

    assert report.counts == {"catalog": 1, "collection": 1, "item": 1}
