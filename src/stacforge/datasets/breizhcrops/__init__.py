"""BreizhCrops: Sentinel-2 time series of ~600k crop parcels in Brittany with RPG crop types."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from stacforge.catalog.model import PlacedItem
from stacforge.datasets.base import BuildOptions, BuildPlan, Dataset, DatasetOption
from stacforge.datasets.breizhcrops import constants, reader, sample, stac
from stacforge.datasets.breizhcrops.reader import Chunk, CropCode, RegionCounts, RegionFiles
from stacforge.errors import InputError
from stacforge.parallel import ordered_map, preload

CHUNK_SIZE = 1000
"""Parcels per task of the worker processes."""


@dataclass(frozen=True)
class _Task:
    """What a worker needs to turn a chunk of joined index rows into items."""

    chunk: Chunk
    codes: Mapping[str, CropCode]
    asset_href_base: str | None


def plan(source: Path, options: BuildOptions) -> BuildPlan[RegionFiles]:
    """Plans a BreizhCrops build of one year and level: one partition per region.

    Up front it reads the class tables, checks every region's files, and counts each region's
    index (classes for the collection summaries, and the parcels the mapping drops, which are
    reported as a warning). Each region then streams: its index is joined to its shapefile in
    the parent, and chunks of joined rows are read and mapped in worker processes.
    """
    year = int(options.dataset.get("year") or constants.DEFAULT_YEAR)
    level = str(options.dataset.get("level") or constants.DEFAULT_LEVEL)
    mapping = reader.read_class_mapping(source)
    codes = reader.read_crop_codes(source)
    regions = reader.find_regions(source, year, level, options.dataset.get("regions") or None)
    crs = {files.region: reader.shapefile_crs(files) for files in regions}
    counts = {files.region: reader.count_region(files, mapping) for files in regions}
    for files in regions:
        _report(files, counts[files.region], options)
    if options.workers != 1:
        preload(__name__)  # each region's pool then starts without importing GDAL, HDF5, PROJ
    base = options.asset_href_base
    mapped_codes = {code: codes[code] for code in mapping.codes if code in codes}

    def items(files: RegionFiles) -> Iterator[PlacedItem]:
        chunks = reader.join_chunks(files, mapping, crs[files.region], CHUNK_SIZE, options.invalid)
        tasks = (_Task(chunk, mapped_codes, base) for chunk in chunks)
        # A process pool costs a second or more to start: only worth it beyond one chunk.
        kept = sum(counts[files.region].classes.values())
        workers = options.workers if kept > CHUNK_SIZE else 1
        for results in ordered_map(_map_chunk, tasks, workers=workers):
            for result in results:
                if isinstance(result, InputError):
                    options.invalid(result)
                else:
                    yield result

    return BuildPlan(
        catalog=stac.create_catalog(year, level),
        collections=[
            stac.create_collection(files, mapping, counts[files.region], base) for files in regions
        ],
        partitions=regions,
        items=items,
    )


def _map_chunk(task: _Task) -> list[PlacedItem | InputError]:
    """Reads one chunk's parcels and maps them to items (runs in a worker process)."""
    chunk = task.chunk
    return [
        parcel
        if isinstance(parcel, InputError)
        else stac.create_item(parcel, chunk.mapping, task.codes, task.asset_href_base)
        for parcel in reader.read_chunk(chunk)
    ]


def _report(files: RegionFiles, counts: RegionCounts, options: BuildOptions) -> None:
    """Warns of the parcels a region's index holds that the catalog leaves out by design."""
    if dropped := sum(counts.dropped.values()):
        most = ", ".join(f"{code} {n:,}" for code, n in counts.dropped.most_common(5))
        more = ", ..." if len(counts.dropped) > 5 else ""
        options.warn(
            f"{files.index}: dropped {dropped:,} parcel(s) whose crop code is not in "
            f"{constants.CLASS_MAPPING_FILE} ({most}{more})"
        )
    if counts.empty:
        options.warn(
            f"{files.index}: dropped {counts.empty:,} parcel(s) with an empty time series "
            "(sequencelength 0)"
        )


DATASET = Dataset(
    name=constants.NAME,
    title="BreizhCrops crop type time series",
    plan=plan,
    write_sample=sample.write_sample,
    sample_count=36,
    options=(
        DatasetOption(
            "year", "Year of the parcels and time series (2017, 2018).", type=int,
            default=constants.DEFAULT_YEAR,
        ),
        DatasetOption(
            "level", "Sentinel-2 processing level of the time series.",
            default=constants.DEFAULT_LEVEL, choices=constants.LEVELS,
        ),
        DatasetOption(
            "regions", "Regions to build, e.g. frh01,frh04 (default: every region found).",
            multiple=True,
        ),
    ),
)  # fmt: skip
