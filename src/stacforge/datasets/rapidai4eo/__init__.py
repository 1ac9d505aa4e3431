"""RapidAI4EO: Planet Fusion and Sentinel-2 time series with CORINE labels at 500k locations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stacforge.catalog.model import PlacedItem
from stacforge.datasets.base import BuildOptions, BuildPlan, Dataset
from stacforge.datasets.rapidai4eo import constants, reader, sample, stac


def plan(source: Path, options: BuildOptions) -> BuildPlan[Path]:
    """Plans a RapidAI4EO build from the corpus' consolidated resource files in ``source``.

    One partition: the footprints and label shares sit in one file each, joined on the
    sample id.
    """
    base = options.asset_href_base or constants.DEFAULT_ASSET_HREF_BASE
    classes = reader.read_label_classes(source)

    def items(folder: Path) -> Iterator[PlacedItem]:
        for location in reader.read_locations(folder, classes, invalid=options.invalid):
            yield from stac.create_items(location, classes, base)

    return BuildPlan(
        catalog=stac.create_catalog(),
        collections=stac.create_collections(classes, base),
        partitions=[source],
        items=items,
    )


DATASET = Dataset(
    name=constants.NAME,
    title="RapidAI4EO corpus",
    plan=plan,
    write_sample=sample.write_sample,
    sample_count=12,
)
