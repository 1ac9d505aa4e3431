"""DeepOrchidSeries: twelve-month Sentinel-2 patch series around ~1M orchid occurrences."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stacforge.catalog.model import PlacedItem
from stacforge.datasets.base import BuildOptions, BuildPlan, Dataset, DatasetOption
from stacforge.datasets.deeporchidseries import constants, reader, sample, stac
from stacforge.datasets.deeporchidseries.regions import Regions
from stacforge.datasets.deeporchidseries.split import check_fractions
from stacforge.errors import InputError
from stacforge.parallel import ordered_map

Shard = tuple[str, ...]
"""A build partition: consecutive top image folders (``gbifid[-2:]``)."""


def plan(source: Path, options: BuildOptions) -> BuildPlan[Shard]:
    """Plans a DeepOrchidSeries build: one streaming pass over the CSV (species, regions, rows
    spilled per top image folder), then partitions of top image folders whose leaf folders
    are read in parallel."""
    strict = bool(options.dataset.get("strict", False))
    train = float(options.dataset.get("train_fraction", constants.DEFAULT_TRAIN))
    validate = float(options.dataset.get("validate_fraction", constants.DEFAULT_VALIDATE))
    check_fractions(train, validate)

    def skip_row(error: InputError) -> None:
        # A row that cannot make an item is reported and left out, so that one bad row among a
        # million does not stop a build; --strict makes it bad input.
        if strict:
            options.invalid(error)
        elif options.on_skip is not None:
            options.on_skip(error)

    class_index = reader.read_class_index(source)
    regions = Regions(constants.MAX_ITEMS_PER_COLLECTION)
    # The scan's spill files live as long as the plan (its items function holds the scan).
    scan = reader.scan_occurrences(source, skip_row=skip_row, on_row=regions.count)
    settings = stac.Settings(
        asset_href_base=options.asset_href_base,
        class_index=class_index,
        seed=int(options.dataset.get("split_seed", constants.DEFAULT_SEED)),
        train=train,
        validate=validate,
    )

    def items(shard: Shard) -> Iterator[PlacedItem]:
        tasks = reader.folder_tasks(scan, shard)
        for results in ordered_map(reader.read_folder, tasks, workers=options.workers):
            for result in results:
                if isinstance(result, reader.Problem):
                    if result.row_level:
                        skip_row(result.error)
                    else:
                        options.invalid(result.error)
                    continue
                partition = regions.partition(result.occurrence)
                item = stac.create_item(result, partition, settings)
                labels = {stac.LABELS_FILE: stac.labels_geojson(result.occurrence)}
                yield PlacedItem(constants.COLLECTION, partition, item, labels)

    return BuildPlan(
        catalog=stac.create_catalog(),
        collections=[
            stac.create_collection(
                scan.species, settings, has_class_index_file=class_index is not None
            )
        ],
        partitions=_shards(scan),
        items=items,
    )


def _shards(scan: reader.Scan) -> list[Shard]:
    """Consecutive top image folders, about ``SHARD_OCCURRENCES`` occurrences each."""
    shards: list[Shard] = []
    current: list[str] = []
    size = 0
    for top in sorted(scan.top_folders):
        current.append(top)
        size += scan.top_folders[top]
        if size >= constants.SHARD_OCCURRENCES:
            shards.append(tuple(current))
            current, size = [], 0
    if current:
        shards.append(tuple(current))
    return shards


DATASET = Dataset(
    name=constants.NAME,
    title="DeepOrchidSeries",
    plan=plan,
    write_sample=sample.write_sample,
    sample_count=36,
    options=(
        DatasetOption(
            "strict",
            "Fail on CSV rows without valid coordinates or images instead of skipping them.",
            type=bool,
            default=False,
        ),
        DatasetOption(
            "train_fraction",
            "Share of geographic blocks (cell_index) in the train split.",
            type=float,
            default=constants.DEFAULT_TRAIN,
        ),
        DatasetOption(
            "validate_fraction",
            "Share of geographic blocks in the validate split (test: the rest).",
            type=float,
            default=constants.DEFAULT_VALIDATE,
        ),
        DatasetOption(
            "split_seed",
            "Seed of the hash that assigns blocks to splits.",
            type=int,
            default=constants.DEFAULT_SEED,
        ),
    ),
)
