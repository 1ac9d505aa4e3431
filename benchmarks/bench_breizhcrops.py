"""BreizhCrops build benchmark: stacforge against a GeoPandas + pystac build of the same parcels.

The input is a generated BreizhCrops root (``stacforge.datasets.breizhcrops.sample.write_root``:
real shapefiles, HDF5 files and index CSVs, 2017 L1C, regions frh01-frh04 and belle-ile, index
rows shuffled against the shapefiles, ~1 in 6 parcels with a code the mapping drops).

- ``stacforge``: ``stacforge.build("breizhcrops", ...)`` as shipped (catalog plus each
  collection's index), with one process (``workers=1``), the same without the index
  (``index=False``: the dataset's own reading and mapping plus the catalog writer), and
  ``stacforge build breizhcrops --workers 2`` as a command.
- ``geopandas+pystac``: what a user of those libraries writes: per region
  ``geopandas.read_file`` of the whole shapefile, ``pandas.read_csv`` of the index, a merge on
  the parcel id, ``to_crs(4326)``, the same HDF5 checks (dataset key exists, first and last
  ``doa``), one ``pystac.Item`` per kept parcel with the same label fields, one
  ``pystac.Collection`` per region, ``update_extent_from_items``, ``normalize_hrefs``, ``save``.
  No index (sidecar) is written.

Every build runs in its own process (:func:`common.measure`); peak RSS is that process's (with
``workers=2`` the two worker processes, each holding one chunk of 1,000 parcels at a time, are
not included). From the project root:

    .venv/bin/python benchmarks/bench_breizhcrops.py --parcels 10000 100000

writes ``benchmarks/results/breizhcrops.json`` and ``breizhcrops.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import GIB, MIB, Report, machine, markdown_table, measure

SRC = Path(__file__).resolve().parents[1] / "src"
REGIONS = ("frh01", "frh02", "frh03", "frh04", "belle-ile")


def build_stacforge(source: Path, out: Path, report: Report) -> int:
    """The stacforge build as shipped, in this process (``workers=1``)."""
    from stacforge.builder import build

    result = build("breizhcrops", source, out, workers=1)
    items = sum(result.items.values())
    report("done", items)
    return items


def build_stacforge_no_index(source: Path, out: Path, report: Report) -> int:
    """The catalog alone (``--no-index``): what the BreizhCrops reader and mapper hold, without
    the index writer's row buffer (a fixed budget, filled once a build has enough items)."""
    from stacforge.builder import build

    result = build("breizhcrops", source, out, workers=1, index=False)
    items = sum(result.items.values())
    report("done", items)
    return items


def build_stacforge_parallel(source: Path, out: Path, report: Report) -> dict[str, Any]:
    """``stacforge build breizhcrops --workers 2`` as a command: the measured process cannot
    start a process pool itself (it is a daemon), so it runs the command and reports the
    command's own wall time and peak RSS (its main process; workers not included)."""
    command = [sys.executable, "-m", "stacforge.cli", "build", "breizhcrops", str(source),
               str(out), "--workers", "2"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1])
    items = int(done.stdout.split(": ", 1)[1].split(" items", 1)[0].replace(",", ""))
    report("done", items)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"items": items, "seconds": seconds, "peak_rss": peak}


def build_baseline(source: Path, out: Path, report: Report) -> int:
    """GeoPandas + pystac, the straightforward way (whole tables in memory)."""
    import geopandas as gpd
    import h5py
    import numpy as np
    import pandas as pd
    import pystac
    import shapely.geometry

    mapping = pd.read_csv(source / "classmapping.csv", index_col=0).set_index("code")
    codes = pd.read_csv(source / "codes.csv", sep=";", index_col=0)
    class_names = list(mapping.sort_values("id").groupby("id").first()["classname"])
    label_classes = [
        {"name": "classname", "classes": class_names},
        {"name": "code_cultu", "classes": sorted(mapping.index)},
    ]
    catalog = pystac.Catalog("breizhcrops", "BreizhCrops 2017 L1C")
    bands = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12",
             "QA10", "QA20", "QA60", "doa"]  # fmt: skip
    doa = bands.index("doa")
    count = 0
    for region in REGIONS:
        parcels = gpd.read_file(source / "2017" / f"{region}.shp")
        index = pd.read_csv(source / "2017" / "L1C" / f"{region}.csv", index_col=0)
        index = index[index["CODE_CULTU"].isin(mapping.index) & (index["sequencelength"] > 0)]
        joined = parcels[["ID", "geometry"]].merge(index, left_on="ID", right_on="id")
        joined = joined.to_crs(4326)
        collection = pystac.Collection(
            f"breizhcrops_labels_{region}",
            f"BreizhCrops {region}",
            pystac.Extent(
                pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
                pystac.TemporalExtent([[None, None]]),
            ),
        )
        with h5py.File(source / "2017" / "L1C" / f"{region}.h5", "r") as h5:
            for row in joined.itertuples():
                series = h5[row.path][:, doa]
                start, end = (
                    pd.Timestamp(int(v), tz="UTC").to_pydatetime()
                    for v in (np.min(series), np.max(series))
                )
                label = mapping.loc[row.CODE_CULTU]
                item = pystac.Item(
                    f"breizhcrops_{region}_2017_l1c_{row.id}",
                    shapely.geometry.mapping(row.geometry),
                    list(row.geometry.bounds),
                    None,
                    {
                        "label:type": "vector",
                        "label:description": "Crop type",
                        "label:properties": ["classname", "code_cultu"],
                        "label:tasks": ["classification"],
                        "label:classes": label_classes,
                        "label:overviews": [
                            {
                                "property_key": "classname",
                                "counts": [{"name": label["classname"], "count": 1}],
                            },
                            {
                                "property_key": "code_cultu",
                                "counts": [{"name": row.CODE_CULTU, "count": 1}],
                            },
                        ],
                        "classid": int(label["id"]),
                        "classname": label["classname"],
                        "code_cultu": row.CODE_CULTU,
                        "libelle_cultu": codes.loc[row.CODE_CULTU].iloc[0],
                        "breizhcrops:sequencelength": int(row.sequencelength),
                        "eo:cloud_cover": min(100.0, row.meanCLD / 10.24),
                    },
                    start_datetime=start,
                    end_datetime=end,
                )
                item.add_asset(
                    "timeseries",
                    pystac.Asset(
                        f"../../../2017/L1C/{region}.h5",
                        media_type="application/x-hdf5",
                        roles=["data"],
                        extra_fields={"hdf5:dataset": row.path, "bands": bands},
                    ),
                )
                collection.add_item(item)
                count += 1
                if count % 10_000 == 0:
                    report("items", count)
        collection.update_extent_from_items()
        catalog.add_child(collection)
    catalog.normalize_hrefs(str(out))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    report("done", count)
    return count


BUILDS = {
    "stacforge (workers=1)": build_stacforge,
    "stacforge (workers=1, no index)": build_stacforge_no_index,
    "geopandas+pystac": build_baseline,
    "stacforge (workers=2)": build_stacforge_parallel,
}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parcels", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument(
        "--builds", nargs="+", choices=list(BUILDS), default=list(BUILDS), metavar="BUILD",
        help=f"Builds to run, of: {', '.join(BUILDS)} (default: all)",
    )  # fmt: skip
    parser.add_argument("--name", default="breizhcrops", help="Result file name (no suffix)")
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--workdir", type=Path, default=None,
        help="Folder for input and output (default: the system's temporary folder); "
        "/dev/shm takes the disk out of the comparison",
    )  # fmt: skip
    args = parser.parse_args(argv)
    sys.path.insert(0, str(SRC))
    from stacforge.datasets.breizhcrops.sample import write_root

    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-breizhcrops-", dir=args.workdir) as tmp:
        for parcels in args.parcels:
            source = Path(tmp) / f"source-{parcels}"
            started = time.perf_counter()
            write_root(source, count=parcels, seed=0, levels=("L1C",), raw_csv=(), no_hdf5=())
            print(f"{parcels:,} parcels written in {time.perf_counter() - started:.0f} s")
            builds = [(name, BUILDS[name]) for name in args.builds]
            for name, fn in builds:
                out = Path(tmp) / "out"
                m = measure(fn, source, out, max_rss=6 * GIB, timeout=args.timeout)
                shutil.rmtree(out, ignore_errors=True)
                items, seconds, peak = m.result, m.seconds, m.peak_rss
                if isinstance(m.result, dict):  # the command's own figures
                    items, seconds, peak = (m.result[k] for k in ("items", "seconds", "peak_rss"))
                run = {
                    "parcels": parcels,
                    "build": name,
                    "items": items,
                    "seconds": seconds,
                    "user_seconds": m.user_seconds,
                    "peak_rss_mib": round(peak / MIB, 1),
                    "start_rss_mib": round(m.start_rss / MIB, 1),
                    "items_per_second": round(items / seconds, 1) if seconds else None,
                    "error": m.error,
                }
                print(json.dumps(run))
                runs.append(run)
            shutil.rmtree(source)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{args.name}.json").write_text(
        json.dumps({"machine": machine(), "runs": runs}, indent=2) + "\n"
    )
    rows = [
        [r["parcels"], r["build"], r["items"], r["seconds"] and round(r["seconds"], 1),
         r["items_per_second"], r["peak_rss_mib"], r["error"] or ""]
        for r in runs
    ]  # fmt: skip
    table = markdown_table(
        ["parcels", "build", "items", "seconds", "parcels/s", "peak RSS MiB", "error"], rows
    )
    (args.results / f"{args.name}.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
