"""Validation benchmark: jsonschema-rs (the fast path) against jsonschema, per schema, per item
and over a whole catalog.

``stacforge validate`` asks jsonschema-rs whether an object is valid and runs jsonschema only to
explain an invalid one. Run from the project root, on a RapidAI4EO build:

    .venv/bin/stacforge sample rapidai4eo /tmp/r4eo --locations 1000
    .venv/bin/stacforge build rapidai4eo /tmp/r4eo /tmp/r4eo-stac
    .venv/bin/python benchmarks/bench_validate.py --catalog /tmp/r4eo-stac

Prints three tables. Per schema, the CPU time of checking one synthetic item shaped like a
Planet Fusion item (``--assets`` dated assets, each with projection, raster, eo and file
fields) with: jsonschema and a ``referencing.Registry`` that only has a retrieve function (so
every ``$ref`` retrieves and crawls its schema again: what a plain jsonschema user gets),
jsonschema with stacforge's schema store (what stacforge ran on every object before the fast
path, and still runs on invalid ones), and jsonschema-rs. Per item of each top-level collection
of ``--catalog`` (a sample of ``--sample`` items each), the same for all of the item's schemas,
and the whole check of its file (read, parse, schemas, links) without and with the fast path.
Then the wall and CPU time of ``validate()`` over the catalog. Without ``--catalog``, the
catalog is ``--items`` synthetic items.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import orjson
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from stacforge.catalog.io import write_json_atomic
from stacforge.catalog.schemas import SchemaStore
from stacforge.catalog.validate import ObjectChecker, schema_urls, validate

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "schemas"
ITEM = "https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json"
EXTENSIONS = [
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v2.0.0/schema.json",
    "https://stac-extensions.github.io/eo/v2.0.0/schema.json",
    "https://stac-extensions.github.io/file/v2.1.0/schema.json",
]


def big_item(item_id: str, n_assets: int) -> dict[str, Any]:
    """An item with ``n_assets`` image chips, every one with its own extension fields."""
    assets = {}
    for i in range(n_assets):
        day = f"2018-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}"
        assets[f"sr_{day}_{i}"] = {
            "href": f"https://example.com/imagery/33N/16E-243N/{item_id}/PF-SR/{day}.tif",
            "type": "image/tiff; application=geotiff",
            "roles": ["data"],
            "datetime": f"{day}T10:30:00Z",
            "proj:code": "EPSG:3035",
            "proj:shape": [600, 600],
            "proj:transform": [3.0, 0.0, 4321000.0, 0.0, -3.0, 3210000.0],
            "raster:spatial_resolution": 3.0,
            "file:size": 1_500_000 + i,
            "bands": [
                {"name": name, "eo:common_name": name, "data_type": "uint16", "nodata": 0}
                for name in ("blue", "green", "red", "nir")
            ],
        }
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": EXTENSIONS,
        "id": item_id,
        "collection": "chips",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[13.0, 52.0], [13.1, 52.0], [13.1, 52.1], [13.0, 52.1], [13.0, 52.0]]],
        },
        "bbox": [13.0, 52.0, 13.1, 52.1],
        "properties": {"datetime": "2018-01-01T00:00:00Z"},
        "links": [
            {"rel": "root", "href": "../../catalog.json"},
            {"rel": "parent", "href": "../collection.json"},
            {"rel": "collection", "href": "../collection.json"},
        ],
        "assets": assets,
    }


def write_catalog(root: Path, n_items: int, n_assets: int) -> None:
    """A catalog with one collection of ``n_items`` big items."""
    ids = [f"item-{i:06d}" for i in range(n_items)]
    write_json_atomic(
        root / "catalog.json",
        {
            "type": "Catalog",
            "stac_version": "1.1.0",
            "id": "bench",
            "description": "validate benchmark",
            "links": [
                {"rel": "root", "href": "./catalog.json"},
                {"rel": "child", "href": "./chips/collection.json"},
            ],
        },
    )
    write_json_atomic(
        root / "chips" / "collection.json",
        {
            "type": "Collection",
            "stac_version": "1.1.0",
            "id": "chips",
            "description": "big items",
            "license": "CC-BY-4.0",
            "extent": {
                "spatial": {"bbox": [[13.0, 52.0, 13.1, 52.1]]},
                "temporal": {"interval": [["2018-01-01T00:00:00Z", None]]},
            },
            "links": [
                {"rel": "root", "href": "../catalog.json"},
                {"rel": "parent", "href": "../catalog.json"},
                *({"rel": "item", "href": f"./{i}/{i}.json"} for i in ids),
            ],
        },
    )
    for item_id in ids:
        write_json_atomic(root / "chips" / item_id / f"{item_id}.json", big_item(item_id, n_assets))


def per_schema_cost(n_assets: int, repeat: int) -> None:
    store = SchemaStore([SCHEMAS], cache_dir=None, allow_download=False)
    retrieve_only: Registry[Any] = Registry(  # type: ignore[call-arg]
        retrieve=lambda uri: Resource.from_contents(store.get(uri), DRAFT7)
    ).combine(METASCHEMAS)
    item = big_item("one", n_assets)
    rows = []
    for url in [ITEM, *EXTENSIONS]:
        plain = jsonschema.Draft7Validator(store.get(url), registry=retrieve_only)
        checks = [
            lambda obj, v=plain: all_errors(v, obj),
            lambda obj, url=url: all_errors(store.validator(url), obj),
            lambda obj, url=url: fast(store, url).is_valid(obj),
        ]
        name = url.split("/")[-1] if "stacspec" in url else url.split("/")[-3]
        rows.append((name, [cpu_seconds(check, [item], repeat) for check in checks]))
    rows.append(("all", [sum(costs) for costs in zip(*(r[1] for r in rows), strict=True)]))
    print(f"  {'schema':<12} {'jsonschema':>11} {'via store':>9} {'rs':>8} {'store/rs':>9}")
    for name, (plain_s, store_s, fast_s) in rows:
        print(
            f"  {name:<12} {plain_s * 1e3:9.2f}ms {store_s * 1e3:7.2f}ms {fast_s * 1e3:6.2f}ms "
            f"{store_s / fast_s:8.0f}x"
        )
    print(f"  (one item, {n_assets} assets, CPU time, mean of {repeat})")


class JsonschemaOnly(SchemaStore):
    """A schema store without the fast path: jsonschema checks every object, as it did before."""

    def fast_validator(self, url: str) -> None:
        return None


def per_item_cost(root: Path, sample: int, repeat: int) -> None:
    """CPU time per item of each top-level collection, on ``sample`` items of each."""
    store = SchemaStore([SCHEMAS], cache_dir=None, allow_download=False)
    now = ObjectChecker(store)
    before = ObjectChecker(JsonschemaOnly([SCHEMAS], cache_dir=None, allow_download=False))
    items: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    for path in sorted(root.rglob("*.json")):
        obj = orjson.loads(path.read_bytes())
        group = items.setdefault(str(obj.get("collection")), [])
        if obj.get("type") == "Feature" and len(group) < sample:
            group.append((path, obj))
    print(
        f"  {'collection':<26} {'assets':>6} {'jsonschema':>10} {'rs':>6} "
        f"{'file before':>11} {'file now':>8} {'speed-up':>8}"
    )
    for collection, group in items.items():
        if not group:
            continue
        paths, objs = [path for path, _ in group], [obj for _, obj in group]
        explained = cpu_seconds(
            lambda obj: [all_errors(store.validator(u), obj) for u in schema_urls(obj)], objs, 1
        )
        fast_path = cpu_seconds(
            lambda obj: [fast(store, u).is_valid(obj) for u in schema_urls(obj)], objs, repeat
        )
        file_before = cpu_seconds(before.check, paths, 1)
        file_now = cpu_seconds(now.check, paths, repeat)
        assets = sum(len(obj["assets"]) for obj in objs) / len(objs)
        print(
            f"  {collection:<26} {assets:6.0f} {explained * 1e3:8.2f}ms {fast_path * 1e3:4.2f}ms "
            f"{file_before * 1e3:9.2f}ms {file_now * 1e3:6.2f}ms {file_before / file_now:7.0f}x"
        )
    print(
        f"  (mean CPU time per item, {sample} items of each collection; jsonschema and rs: all "
        "of the item's schemas; file: the whole check of its file, before and with the fast path)"
    )


def all_errors(validator: Any, obj: dict[str, Any]) -> list[Any]:
    return list(validator.iter_errors(obj))


def fast(store: SchemaStore, url: str) -> jsonschema_rs.Validator:
    validator = store.fast_validator(url)
    assert validator is not None, f"jsonschema-rs compiles {url}"
    return validator


def cpu_seconds(check: Callable[[Any], Any], objs: list[Any], repeat: int) -> float:
    """Mean CPU time of ``check`` on one of ``objs``; a first (warm-up) run is not counted."""
    check(objs[0])
    start = time.process_time()
    for _ in range(repeat):
        for obj in objs:
            check(obj)
    return (time.process_time() - start) / repeat / len(objs)


def catalog_wall_time(root: Path, runs: int) -> None:
    """Wall and CPU time of ``validate()`` over the catalog at ``root``; the fastest of ``runs``."""
    times = []
    for _ in range(runs):
        start, cpu_start = time.perf_counter(), cpu_time()
        report = validate(root, allow_download=False)
        times.append((time.perf_counter() - start, cpu_time() - cpu_start))
        assert report.valid, report.errors[:3]
    wall, cpu = min(times)
    print(
        f"  {wall:6.2f} s wall, {cpu:6.2f} s CPU, {wall / report.objects * 1e3:5.2f} ms per object "
        f"(fastest of {runs})  {report.summary()}"
    )


def cpu_time() -> float:
    """User and system CPU time of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, help="a built catalog (default: synthetic items)")
    parser.add_argument("--items", type=int, default=200, help="synthetic catalog size")
    parser.add_argument("--assets", type=int, default=300, help="assets per synthetic item")
    parser.add_argument("--sample", type=int, default=20, help="items per collection")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3, help="whole-catalog runs")
    args = parser.parse_args()
    os.environ["STACFORGE_SCHEMAS"] = str(SCHEMAS)
    print("one synthetic item, per schema:")
    per_schema_cost(args.assets, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.catalog
        if root is None:
            root = Path(tmp)
            write_catalog(root, args.items, args.assets)
        print(f"items of {root}, per top-level collection:")
        per_item_cost(root, args.sample, args.repeat)
        print(f"validate() over {root}:")
        catalog_wall_time(root, args.runs)


if __name__ == "__main__":
    main()
