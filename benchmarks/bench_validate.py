"""Validation benchmark: the cost of one big item per schema, and of a catalog of them.

The item is shaped like a RapidAI4EO Planet Fusion item: hundreds of dated assets, each with
projection, raster, eo and file fields. Run from the project root:

    .venv/bin/python benchmarks/bench_validate.py --items 200 --assets 300

Prints, per schema, the CPU time of validating one item with stacforge's schema store and
with the baseline a plain jsonschema user gets (a ``referencing.Registry`` that only has a
retrieve function, so every ``$ref`` retrieves and crawls its schema again); then the wall time
of ``validate()`` over a catalog of ``--items`` such items, in one process and in a pool.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from stacforge.catalog.io import write_json_atomic
from stacforge.catalog.schemas import SchemaStore
from stacforge.catalog.validate import validate

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
    print(f"  {'schema':<12} {'baseline':>10} {'stacforge':>10} {'ratio':>6}")
    totals = [0.0, 0.0]
    for url in [ITEM, *EXTENSIONS]:
        ours = store.validator(url)
        baseline = jsonschema.Draft7Validator(store.get(url), registry=retrieve_only)
        costs = [cpu_seconds(v, item, repeat) for v in (baseline, ours)]
        totals = [t + c for t, c in zip(totals, costs, strict=True)]
        name = url.split("/")[-1] if "stacspec" in url else url.split("/")[-3]
        ms = [cost * 1e3 for cost in costs]
        print(f"  {name:<12} {ms[0]:8.1f}ms {ms[1]:8.1f}ms {costs[0] / costs[1]:5.1f}x")
    print(
        f"  {'all':<12} {totals[0] * 1e3:8.1f}ms {totals[1] * 1e3:8.1f}ms "
        f"{totals[0] / totals[1]:5.1f}x   (one item, {n_assets} assets, CPU time)"
    )


def cpu_seconds(validator: Any, item: dict[str, Any], repeat: int) -> float:
    """Mean CPU time of validating ``item``; the first (warm-up) run is not counted."""
    assert not list(validator.iter_errors(item))
    start = time.process_time()
    for _ in range(repeat):
        for _error in validator.iter_errors(item):
            pass
    return (time.process_time() - start) / repeat


def catalog_wall_time(n_items: int, n_assets: int, workers: int) -> None:
    os.environ["STACFORGE_SCHEMAS"] = str(SCHEMAS)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_catalog(root, n_items, n_assets)
        times = {}
        for n in (1, workers):
            start = time.perf_counter()
            report = validate(root, allow_download=False, workers=n)
            times[n] = time.perf_counter() - start
            assert report.valid, report.errors[:3]
            per_item = times[n] / n_items * 1e3
            print(
                f"  workers={n}: {times[n]:6.1f} s, {per_item:6.1f} ms per item  {report.summary()}"
            )
        print(f"  speed-up with {workers} workers: {times[1] / times[workers]:.2f}x (wall time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--assets", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"one item, per schema (mean of {args.repeat}):")
    per_schema_cost(args.assets, args.repeat)
    print(f"catalog of {args.items} items:")
    catalog_wall_time(args.items, args.assets, args.workers)


if __name__ == "__main__":
    main()
