"""HLS multi-temporal crop classification: 18-band HLS chips with CDL 2022 class masks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from stacforge.catalog.model import PlacedItem
from stacforge.datasets.base import BuildOptions, BuildPlan, Dataset, DatasetOption
from stacforge.datasets.hls_crop import constants, reader, sample, scenes, stac
from stacforge.errors import InputError
from stacforge.parallel import ordered_map


def plan(source: Path, options: BuildOptions) -> BuildPlan[Sequence[reader.ChipFiles]]:
    """Plans an HLS crop build: every chip in one partition, read in parallel.

    Finding the chips lists folders only; each chip's headers and mask are read as the
    partition streams, in ``options.workers`` processes, results in chip order. One partition,
    because each starts its own process pool (about a second on two cores); the splits are
    sub-collections all the same (see :attr:`reader.ChipFiles.partition`).
    """
    table = scenes.find_table(source, options.dataset.get("scenes"))
    known = scenes.read_table(table, invalid=options.invalid) if table else None
    chips = reader.find_chips(source, invalid=options.invalid, scenes=known)

    def items(partition: Sequence[reader.ChipFiles]) -> Iterator[PlacedItem]:
        for chip in ordered_map(reader.read_chip, partition, workers=options.workers):
            if isinstance(chip, InputError):
                options.invalid(chip)
                continue
            yield from stac.create_items(chip, options.asset_href_base)

    return BuildPlan(
        catalog=stac.create_catalog(),
        collections=stac.create_collections(),
        partitions=[chips],
        items=items,
    )


DATASET = Dataset(
    name=constants.NAME,
    title="HLS multi-temporal crop classification chips",
    plan=plan,
    write_sample=sample.write_sample,
    sample_count=24,
    options=(
        DatasetOption(
            "scenes",
            "CSV of each chip's three HLS granule ids or dates (default: a CSV in SOURCE with a "
            "chip_id column, if any; without one, items span the 2022 growing season).",
        ),
    ),
)
