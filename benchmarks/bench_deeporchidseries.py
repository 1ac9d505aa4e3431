"""DeepOrchidSeries build benchmark: stacforge against a straightforward pandas + pystac build.

Both builds read the same DeepOrchidSeries-shaped SOURCE: the occurrences CSV (``;``), an
``index.json`` of 14,129 classes and the published image tree, 24 PNGs per occurrence in
``final_dataset_by_gbifid/<gbifid[-2:]>/<gbifid[-4:-2]>/``. The PNGs are two real 16-bit
patches (RGB and IR) hard-linked under every name, so a 100,000-occurrence tree (2.4 million
names) costs directory entries, not 50 GB; both builds read only names and headers anyway.
The occurrences are as dense in the image tree as in the published one (about 100 per leaf
folder), since reading a folder per occurrence or per folder is what tells the builds apart.

- ``stacforge``: ``stacforge.build("deeporchidseries", ...)`` as shipped (catalog and sidecar).
- ``stacforge-no-index``: the same with ``index=False``: the output the baseline writes.
- ``pandas+pystac``: what a user would write: ``pandas.read_csv``, then per row a listing of the
  occurrence's folder, a header read of its 24 PNGs, the UTM square reprojected with pyproj
  and shapely, a ``pystac.Item`` with its assets added to a ``pystac.Collection`` per
  botanical country, then ``normalize_hrefs`` and ``save(SELF_CONTAINED)``.

Every build runs in its own process (:func:`common.measure`), in the same session, and its
output is deleted after it. From the project root::

    .venv/bin/python benchmarks/bench_deeporchidseries.py --occurrences 10000 100000

writes ``benchmarks/results/deeporchidseries.json`` and ``deeporchidseries.md``.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from common import GIB, MIB, ProcessTree, Report, machine, markdown_table, measure
from stacforge.datasets.deeporchidseries import constants as c
from stacforge.datasets.deeporchidseries.sample import patch_png

CLASSES = 14_129
PROGRESS_EVERY = 1_000
OCCURRENCES_PER_FOLDER = 100
# WGSRPD botanical countries the made-up occurrences fall in: (lon, lat, continent, lvl2, code)
COUNTRIES = (
    (2.5, 46.5, "1", "12", "FRA"),
    (10.4, 51.1, "1", "10", "GER"),
    (-3.7, 40.4, "1", "12", "SPA"),
    (12.5, 42.8, "1", "13", "ITA"),
    (-1.5, 52.5, "1", "10", "GRB"),
    (47.0, -19.0, "2", "29", "MDG"),
    (36.8, -1.3, "2", "25", "KEN"),
    (138.0, 36.0, "3", "38", "JAP"),
    (101.0, 15.0, "4", "41", "THA"),
    (145.0, -37.0, "5", "50", "VIC"),
    (178.0, -17.5, "6", "60", "FIJ"),
    (-80.0, 27.0, "7", "78", "FLA"),
    (-74.0, 4.6, "8", "83", "CLM"),
    (-78.5, -1.5, "8", "83", "ECU"),
    (-47.0, -15.0, "8", "84", "BZC"),
)


def write_source(folder: Path, occurrences: int, seed: int = 0) -> Path:
    """A DeepOrchidSeries-shaped SOURCE of ``occurrences`` made-up occurrences."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    species = rng.choice(9_000_000, CLASSES, replace=False) + 1_000_000
    (folder / c.CLASS_INDEX_FILE).write_text(
        json.dumps({str(i): int(k) for i, k in enumerate(species)})
    )
    templates = folder / "templates"
    templates.mkdir()
    (templates / "rgb.png").write_bytes(patch_png(rng, 3, 2))
    (templates / "ir.png").write_bytes(patch_png(rng, 1, 0))
    # As dense as the published tree: ~1M occurrences in 10,000 leaf folders, so about 100
    # occurrences (2,400 files) per leaf folder, whatever the number of occurrences.
    folders = max(1, round(occurrences / OCCURRENCES_PER_FOLDER))
    endings = rng.choice(10_000, folders, replace=False)
    prefixes = rng.choice(900_000, occurrences, replace=False) + 100_000
    gbifids = prefixes * 10_000 + endings[rng.integers(folders, size=occurrences)]
    places = rng.integers(len(COUNTRIES), size=occurrences)
    offsets = rng.normal(0.0, 1.5, (occurrences, 2))
    with (folder / c.CSV_FILE).open("w", newline="") as f:
        rows = csv.writer(f, delimiter=";", lineterminator="\n")
        rows.writerow(c.CSV_COLUMNS)
        for gbifid, place, (dx, dy) in zip(gbifids, places, offsets, strict=True):
            lon, lat, continent, region, code = COUNTRIES[place]
            lon, lat = round((lon + dx + 180.0) % 360.0 - 180.0, 6), round(lat + dy, 6)
            key = int(species[rng.integers(CLASSES)])
            cell = int((lat + 90) // 0.0025) * 144_000 + int((lon + 180) // 0.0025)
            rows.writerow(
                [gbifid, f"Species {key}", lat, lon, key, cell, code, code, region, continent]
            )
    images = folder / c.IMAGES_FOLDER
    for n, gbifid in enumerate(gbifids):
        name = str(gbifid)
        leaf = images / name[-2:] / name[-4:-2]
        leaf.mkdir(parents=True, exist_ok=True)
        # A file may have at most 65,000 links (ext4): a fresh copy every 2,500 occurrences.
        copy = n // 2_500
        rgb, ir = templates / f"rgb-{copy}.png", templates / f"ir-{copy}.png"
        if not rgb.exists():
            shutil.copy(templates / "rgb.png", rgb)
            shutil.copy(templates / "ir.png", ir)
        for month in range(1, 13):
            os.link(rgb, leaf / f"RGB_2018_{month:02d}_{name}_.png")
            os.link(ir, leaf / f"IR0_2018_{month:02d}_{name}_.png")
    return folder


def build_stacforge(source: Path, out: Path, report: Report) -> dict[str, float]:
    """``stacforge build deeporchidseries`` as shipped, with the sidecar index."""
    return _build_stacforge(source, out, report, index=True)


def build_stacforge_no_index(source: Path, out: Path, report: Report) -> dict[str, float]:
    """The same without the sidecar index: the output the baseline writes."""
    return _build_stacforge(source, out, report, index=False)


def _build_stacforge(source: Path, out: Path, report: Report, *, index: bool) -> dict[str, float]:
    from stacforge.builder import build

    # common.measure runs each build in a daemonic process, which may not start the build's
    # process pool: this process is the build's main process here, as on the command line.
    multiprocessing.current_process().daemon = False
    with ProcessTree(0.2, descendants_only=True) as workers:
        result = build(c.NAME, source, out, index=index)
    items = sum(result.items.values())
    report("build", items)
    return {"items": items, "worker_cpu": workers.cpu_seconds, "worker_peak_rss": workers.peak}


def build_pandas_pystac(source: Path, out: Path, report: Report) -> dict[str, float]:
    """The straightforward build: pandas for the CSV, pystac for the catalog."""
    import pandas as pd
    import pystac
    import shapely
    import shapely.geometry
    import shapely.ops
    from pyproj import Transformer

    from stacforge.datasets.deeporchidseries.png import read_png_header

    frame = pd.read_csv(source / c.CSV_FILE, sep=";")
    catalog = pystac.Catalog(c.CATALOG_ID, c.CATALOG_DESCRIPTION, title=c.CATALOG_TITLE)
    collections: dict[str, pystac.Collection] = {}
    transformers: dict[int, tuple[Transformer, Transformer]] = {}
    done = 0
    for row in frame.itertuples(index=False):
        gbifid = str(row.gbifid)
        folder = source / c.IMAGES_FOLDER / gbifid[-2:] / gbifid[-4:-2]
        names = sorted(n for n in os.listdir(folder) if f"_{gbifid}_" in n)
        headers = {name: read_png_header(folder / name) for name in names}
        lon, lat = float(row.decimallongitude), float(row.decimallatitude)
        epsg = (32600 if lat >= 0 else 32700) + min(int((lon + 180) // 6) + 1, 60)
        if epsg not in transformers:
            transformers[epsg] = (
                Transformer.from_crs(4326, epsg, always_xy=True),
                Transformer.from_crs(epsg, 4326, always_xy=True),
            )
        forward, back = transformers[epsg]
        x, y = forward.transform(lon, lat)
        square = shapely.ops.transform(
            back.transform, shapely.box(x - 320, y - 320, x + 320, y + 320)
        )
        months = sorted({(int(n[4:8]), int(n[9:11])) for n in names})
        (y0, m0), (y1, m1) = months[0], months[-1]
        item = pystac.Item(
            id=f"{c.NAME}_{gbifid}",
            geometry=shapely.geometry.mapping(square),
            bbox=list(square.bounds),
            datetime=None,
            start_datetime=pd.Timestamp(y0, m0, 1, tz="UTC").to_pydatetime(),
            end_datetime=pd.Timestamp(
                y1, m1, calendar.monthrange(y1, m1)[1], 23, 59, 59, tz="UTC"
            ).to_pydatetime(),
            properties={
                "gbif_id": int(row.gbifid),
                "species_key": int(row.speciesKey),
                "canonical_name": row.canonical_name,
                "cell_index": int(row.cell_index),
                "bot_code": row.bot_code,
                "label:type": "vector",
                "label:properties": ["species_key"],
                "label:classes": [{"name": "species_key", "classes": [int(row.speciesKey)]}],
                "proj:code": f"EPSG:{epsg}",
                "proj:shape": [64, 64],
                "proj:transform": [10.0, 0.0, x - 320, 0.0, -10.0, y + 320],
            },
        )
        for name in names:
            kind = "rgb" if name.startswith("RGB") else "ir"
            item.add_asset(
                f"{kind}_{name[9:11]}",
                pystac.Asset(
                    href=f"../../../../{c.IMAGES_FOLDER}/{gbifid[-2:]}/{gbifid[-4:-2]}/{name}",
                    media_type="image/png",
                    roles=["data"],
                    extra_fields={
                        "datetime": f"{name[4:8]}-{name[9:11]}-15T00:00:00Z",
                        "file:size": headers[name].size,
                    },
                ),
            )
        key = f"{row.continent_code}/{row.lvl2_code}/{row.bot_code}"
        if key not in collections:
            collections[key] = pystac.Collection(
                f"{c.COLLECTION}_{key.replace('/', '_').lower()}",
                c.COLLECTION_DESCRIPTION,
                extent=pystac.Extent(
                    pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
                    pystac.TemporalExtent([[None, None]]),
                ),
                license="other",
            )
            catalog.add_child(collections[key])
        collections[key].add_item(item)
        done += 1
        if done % PROGRESS_EVERY == 0:
            report("items", done)
    for collection in collections.values():
        collection.update_extent_from_items()
    catalog.normalize_hrefs(str(out))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    report("saved", done)
    return {"items": done, "worker_cpu": 0.0, "worker_peak_rss": 0}


BUILDS = {
    "stacforge": build_stacforge,
    "stacforge-no-index": build_stacforge_no_index,
    "pandas+pystac": build_pandas_pystac,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--occurrences", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--builds", nargs="+", default=list(BUILDS), choices=list(BUILDS))
    parser.add_argument("--max-rss-gib", type=float, default=8.0)
    parser.add_argument("--timeout-min", type=float, default=60.0)
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--append", action="store_true", help="Add to the runs already in the output's JSON."
    )
    args = parser.parse_args(argv)

    args.work_dir.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    previous = args.output / "deeporchidseries.json"
    if args.append and previous.exists():
        runs = json.loads(previous.read_text())["runs"]
    for n in args.occurrences:
        with tempfile.TemporaryDirectory(dir=args.work_dir, prefix=f"dos-{n}-") as tmp:
            source = write_source(Path(tmp) / "source", n)
            for name in args.builds:
                out = Path(tmp) / f"out-{name}"
                load = os.getloadavg()[0]
                m = measure(
                    BUILDS[name],
                    source,
                    out,
                    max_rss=int(args.max_rss_gib * GIB),
                    timeout=args.timeout_min * 60,
                )
                shutil.rmtree(out, ignore_errors=True)
                run = {
                    "occurrences": n,
                    "build": name,
                    "seconds": m.seconds,
                    "elapsed": m.elapsed,
                    "user_seconds": m.user_seconds,
                    "system_seconds": m.system_seconds,
                    "peak_rss_mib": m.peak_rss / MIB,
                    "start_rss_mib": m.start_rss / MIB,
                    "items": (m.result or {}).get("items"),
                    "worker_cpu_seconds": (m.result or {}).get("worker_cpu"),
                    "worker_peak_rss_mib": (m.result or {}).get("worker_peak_rss", 0) / MIB,
                    "load_average": load,
                    "error": m.error,
                }
                runs.append(run)
                print(json.dumps(run), file=sys.stderr, flush=True)
                write_results(runs, args.output)

    print(write_results(runs, args.output))


def write_results(runs: list[dict[str, Any]], output: Path) -> str:
    """Writes the runs so far (JSON) and their table (Markdown); returns the table."""
    rows = []
    for run in runs:
        baseline = next(
            (
                r
                for r in runs
                if r["occurrences"] == run["occurrences"] and r["build"] == "pandas+pystac"
            ),
            None,
        )
        rate = run["occurrences"] / run["seconds"] if run["seconds"] else None
        base_rate = (
            baseline["occurrences"] / baseline["seconds"]
            if baseline and baseline["seconds"]
            else None
        )
        cpu = (
            run["user_seconds"] + run["system_seconds"] + (run["worker_cpu_seconds"] or 0.0)
            if run["user_seconds"] is not None
            else None
        )
        rows.append(
            [
                f"{run['occurrences']:,}",
                run["build"],
                f"{run['seconds']:.1f}" if run["seconds"] else run["error"],
                f"{rate:,.0f}" if rate else "-",
                f"{rate / base_rate:.1f}x" if rate and base_rate else "-",
                f"{cpu:.1f}" if cpu is not None else "-",
                f"{run['peak_rss_mib']:,.0f}",
                f"{run['peak_rss_mib'] - run['start_rss_mib']:,.0f}",
                f"{run['worker_peak_rss_mib']:,.0f}",
                f"{run['load_average']:.1f}",
            ]
        )
    table = markdown_table(
        [
            "occurrences",
            "build",
            "seconds",
            "occurrences/s",
            "vs pandas+pystac",
            "CPU s (all processes)",
            "peak RSS MiB",
            "growth MiB",
            "workers' RSS MiB",
            "load (1 min) before",
        ],
        rows,
    )
    output.mkdir(parents=True, exist_ok=True)
    (output / "deeporchidseries.json").write_text(
        json.dumps({"machine": machine(), "runs": runs}, indent=1)
    )
    (output / "deeporchidseries.md").write_text(table + "\n")
    return table


if __name__ == "__main__":
    main()
