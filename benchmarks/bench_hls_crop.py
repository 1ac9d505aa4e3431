"""HLS crop benchmark: stacforge's ``hls-crop`` build against a plain rio-stac + pystac build of
the same chips, and against the floor (open each chip and read its mask, nothing else).

Every run happens in a fresh interpreter on the same generated chips (``stacforge sample
hls-crop``: real GeoTIFFs on the dataset's chip grid); the output is deleted after each. Runs:

- ``stacforge``: ``stacforge.build("hls-crop", ..., workers=N)`` as shipped (catalog and
  sidecar indexes); ``stacforge --no-index``: the same without indexes.
- ``rio-stac + pystac``: what a user writes with the two libraries: for each chip
  ``rio_stac.create_stac_item(image, with_proj, with_raster, with_eo)`` (``with_raster`` gives
  each band's data type and nodata, and computes band statistics, which reads the pixels), the
  mask's item the same way plus its histogram (``np.bincount``) and label fields, then
  ``pystac`` collections per split, ``normalize_hrefs`` and ``save``; one process.
- ``floor``: ``rasterio.open`` of each image and ``read(1)`` of each mask, one process;
  ``floor, no readdir``: the same with ``GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR`` (GDAL does
  not list each file's folder on open; the build reads chips so); ``floor, N processes``: the
  plain floor through ``stacforge.parallel.ordered_map``.

Each run is ``python bench_hls_crop.py --child ...`` (not :func:`common.measure`, whose daemon
children may not start worker processes): its own peak RSS (``ru_maxrss``), and, sampled every
50 ms over the whole process tree (workers included), the peak of the summed RSS and the CPU
time (user + system), which a shared machine's load disturbs less than wall time. From the
project root:

    .venv/bin/python benchmarks/bench_hls_crop.py --chips 1000 10000

writes ``benchmarks/results/hls-crop.json`` and ``hls-crop.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
from rio_stac.stac import create_stac_item

from common import MIB, ProcessTree, machine, markdown_table
from stacforge.builder import build
from stacforge.datasets.hls_crop import constants as c
from stacforge.datasets.hls_crop.sample import write_sample
from stacforge.parallel import ordered_map


def _chips(source: Path) -> Iterator[tuple[str, Path, Path, str]]:
    """``(chip id, image, mask, split)`` of every chip the sample wrote, in id order."""
    for split, folder in (("train", "training_chips"), ("validate", "validation_chips")):
        for image in sorted((source / folder).glob("*_merged.tif")):
            chip_id = image.name.removesuffix("_merged.tif")
            yield chip_id, image, image.with_name(f"{chip_id}.mask.tif"), split


def run_stacforge(source: Path, out: Path, workers: int) -> int:
    return build("hls-crop", source, out, workers=workers).items[c.SOURCE_COLLECTION]


def run_stacforge_no_index(source: Path, out: Path, workers: int) -> int:
    return build("hls-crop", source, out, workers=workers, index=False).items[c.SOURCE_COLLECTION]


def run_rio_stac_pystac(source: Path, out: Path, workers: int) -> int:
    """The plain build: rio-stac items, pystac collections, one process."""
    start = datetime.datetime(2022, 3, 1, tzinfo=datetime.UTC)
    end = datetime.datetime(2022, 9, 30, 23, 59, 59, tzinfo=datetime.UTC)
    catalog = pystac.Catalog(c.CATALOG_ID, c.CATALOG_DESCRIPTION, title=c.CATALOG_TITLE)
    extent = pystac.Extent(
        pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
        pystac.TemporalExtent([[start, end]]),
    )
    tops = {
        name: pystac.Collection(name, name, extent.clone(), license=c.LICENSE)
        for name in (c.SOURCE_COLLECTION, c.LABELS_COLLECTION)
    }
    children: dict[tuple[str, str], pystac.Collection] = {}
    for top in tops.values():
        catalog.add_child(top)
    names = [name.lower().replace("/", "_").replace(" ", "_") for name in c.CLASSES.values()]
    chips = 0
    for chip_id, image, mask, split in _chips(source):
        for top_id, top in tops.items():
            if (top_id, split) not in children:
                child = pystac.Collection(
                    f"{top_id}_{split}", split, extent.clone(), license="CC-BY-4.0"
                )
                top.add_child(child)
                children[top_id, split] = child
        item = create_stac_item(
            str(image),
            id=chip_id,
            properties={
                "start_datetime": start.isoformat(),
                "end_datetime": end.isoformat(),
                "ml-aoi:split": split,
            },
            input_datetime=start,
            asset_name="image",
            asset_roles=["data"],
            with_proj=True,
            with_raster=True,
            with_eo=True,
            geom_densify_pts=7,
        )
        with rasterio.open(mask) as src:
            counts = np.bincount(src.read(1).ravel(), minlength=len(c.CLASSES))
        label = create_stac_item(
            str(mask),
            id=f"{chip_id}_labels",
            properties={
                "label:type": "raster",
                "label:properties": None,
                "label:description": c.LABEL_DESCRIPTION,
                "label:tasks": ["segmentation"],
                "label:classes": [{"name": None, "classes": sorted(c.CLASSES)}],
                "label:overviews": [
                    {
                        "counts": [
                            {"name": n, "count": int(k)} for n, k in zip(names, counts, strict=True)
                        ]
                    }
                ],
                "ml-aoi:split": split,
            },
            input_datetime=start,
            asset_name="mask",
            asset_roles=["labels", "labels-raster"],
            with_proj=True,
            geom_densify_pts=7,
        )
        label.add_link(pystac.Link("source", item, media_type=pystac.MediaType.GEOJSON))
        children[c.SOURCE_COLLECTION, split].add_item(item)
        children[c.LABELS_COLLECTION, split].add_item(label)
        chips += 1
    for top in tops.values():
        for child in top.get_children():
            assert isinstance(child, pystac.Collection)
            child.update_extent_from_items()
    catalog.normalize_hrefs(str(out))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    return chips


def _read_floor(paths: tuple[Path, Path]) -> int:
    image, mask = paths
    with rasterio.open(image):
        pass
    with rasterio.open(mask) as src:
        return int(src.read(1).size)


def run_floor(source: Path, out: Path, workers: int) -> int:
    """Open each image, read each mask: one process."""
    chips = sum(1 for _ in map(_read_floor, ((i, m) for _, i, m, _ in _chips(source))))
    return chips


def run_floor_no_readdir(source: Path, out: Path, workers: int) -> int:
    """The floor with GDAL told not to list each file's folder (as the build's reads are)."""
    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"):
        return sum(1 for _ in map(_read_floor, ((i, m) for _, i, m, _ in _chips(source))))


def run_floor_parallel(source: Path, out: Path, workers: int) -> int:
    """Open each image, read each mask: ``workers`` processes (the build's parallel reads)."""
    pairs = ((i, m) for _, i, m, _ in _chips(source))
    return sum(1 for _ in ordered_map(_read_floor, pairs, workers=workers))


TOOLS = {
    "stacforge": run_stacforge,
    "stacforge --no-index": run_stacforge_no_index,
    "rio-stac + pystac": run_rio_stac_pystac,
    "floor": run_floor,
    "floor, no readdir": run_floor_no_readdir,
    "floor, N processes": run_floor_parallel,
}


@dataclass
class Run:
    """One measured run (``seconds`` None where it did not finish, with ``error``)."""

    chips: int
    tool: str
    repeat: int
    seconds: float | None = None
    cpu_seconds: float | None = None
    peak_rss: int = 0
    tree_peak_rss: int = 0
    load_average: float | None = None
    error: str | None = None


def measure_child(
    tool: str, source: Path, out: Path, workers: int, timeout: float
) -> dict[str, Any]:
    """Runs one tool in a fresh interpreter: its measurements, or its error."""
    command = [sys.executable, __file__, "--child", tool, str(source), str(out), str(workers)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child(tool: str, source: Path, out: Path, workers: int) -> None:
    """The measured side: runs ``tool`` once and prints its measurements as one JSON line."""
    with ProcessTree() as tree:
        started = time.perf_counter()
        chips = TOOLS[tool](source, out, workers)
        seconds = time.perf_counter() - started
    measured = {
        "seconds": seconds,
        "cpu_seconds": tree.cpu_seconds,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # KiB on Linux
        "tree_peak_rss": tree.peak,
        "load_average": os.getloadavg()[0],
        "chips": chips,
    }
    print(json.dumps(measured))


def bench(
    counts: list[int],
    tools: list[str],
    repeat: int,
    workers: int,
    work_dir: Path,
    timeout: float,
    done: Callable[[list[Run]], None],
    sources: dict[int, Path] | None = None,
) -> list[Run]:
    """Every tool ``repeat`` times (in alternating order) at each chip count; ``done`` gets
    the runs so far after each (the results are written as they come). ``sources`` holds
    samples written before (``stacforge sample hls-crop DIR --count N``), by count."""
    runs: list[Run] = []
    for count in counts:
        with tempfile.TemporaryDirectory(dir=work_dir, prefix=f"hls-crop-{count}-") as tmp:
            started = time.perf_counter()
            if sources and count in sources:
                source = sources[count]
            else:
                source = write_sample(Path(tmp) / "source", count=count, seed=0)
                print(f"{count:,} chips written in {time.perf_counter() - started:.0f} s")
            for r in range(repeat):
                for tool in tools if r % 2 == 0 else list(reversed(tools)):
                    out = Path(tmp) / "out"
                    measured = measure_child(tool, source, out, workers, timeout)
                    shutil.rmtree(out, ignore_errors=True)
                    measured.pop("chips", None)
                    run = Run(count, tool, r, **measured)
                    runs.append(run)
                    done(runs)
                    took = f"{run.seconds:.2f} s" if run.seconds else run.error
                    print(
                        f"  {count:,} {tool}: {took}, {run.tree_peak_rss / MIB:.0f} MiB", flush=True
                    )
    return runs


def summarize(runs: list[Run], workers: int) -> str:
    """A Markdown table per chip count: medians, and ratios to the baseline and the floor."""
    lines = []
    for count in sorted({run.chips for run in runs}):
        medians: dict[str, tuple[float, float]] = {}
        rows = []
        for tool in TOOLS:
            done = [r for r in runs if r.chips == count and r.tool == tool and r.seconds]
            if not done:
                continue
            seconds = statistics.median(r.seconds or 0.0 for r in done)
            cpu = statistics.median(r.cpu_seconds or 0.0 for r in done)
            medians[tool] = (seconds, cpu)
            rows.append(
                [
                    tool,
                    len(done),
                    seconds,
                    count / seconds,
                    cpu,
                    max(r.peak_rss for r in done) / MIB,
                    max(r.tree_peak_rss for r in done) / MIB,
                ]
            )
        base, floor = medians.get("rio-stac + pystac"), medians.get("floor")
        for row in rows:
            seconds, cpu = medians[row[0]]
            row.append(base[0] / seconds if base else "-")
            row.append(seconds / floor[0] if floor else "-")
            row.append(cpu / floor[1] if floor else "-")
        loads = [r.load_average for r in runs if r.chips == count and r.load_average is not None]
        lines.append(
            f"### {count:,} chips ({workers} worker processes; load average during the runs "
            f"{min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores)\n"
        )
        lines.append(
            markdown_table(
                [
                    "run",
                    "runs",
                    "seconds (median)",
                    "chips/s",
                    "CPU seconds, all processes",
                    "peak RSS MiB",
                    "process tree peak RSS MiB",
                    "speed-up vs rio-stac + pystac",
                    "time / floor",
                    "CPU / floor CPU",
                ],
                rows,
            )
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        tool, source, out, workers = argv[1:5]
        child(tool, Path(source), Path(out), int(workers))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chips", type=int, nargs="+", default=[1000])
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout-min", type=float, default=60)
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--source",
        type=Path,
        action="append",
        default=[],
        help="a sample written before with `stacforge sample hls-crop DIR --count N` (seed 0), "
        "used for N chips instead of writing one",
    )
    args = parser.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.output.mkdir(parents=True, exist_ok=True)

    def write(runs: list[Run]) -> str:
        table = summarize(runs, args.workers)
        record = {"machine": machine(), "argv": argv, "runs": [asdict(r) for r in runs]}
        (args.output / "hls-crop.json").write_text(json.dumps(record, indent=1))
        (args.output / "hls-crop.md").write_text(table)
        return table

    runs = bench(
        args.chips,
        args.tools,
        args.repeat,
        args.workers,
        args.work_dir,
        args.timeout_min * 60,
        write,
        {sum(1 for _ in path.rglob("*_merged.tif")): path for path in args.source},
    )
    print(write(runs))
    facts = machine()
    print(f"load average at the end: {facts['load_average']}")


if __name__ == "__main__":
    main(sys.argv[1:])
