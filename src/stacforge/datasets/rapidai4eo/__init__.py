"""RapidAI4EO: Planet Fusion and Sentinel-2 time series with CORINE labels at 500k locations."""

from __future__ import annotations

from pathlib import Path

from stacforge.datasets.base import BuildOptions, BuildPlan, Dataset
from stacforge.datasets.rapidai4eo import constants, reader, stac


def plan(source: Path, options: BuildOptions) -> BuildPlan:
    """Plans a RapidAI4EO build from the corpus' consolidated resource files in ``source``."""
    base = options.asset_href_base or constants.DEFAULT_ASSET_HREF_BASE
    classes = reader.read_label_classes(source)
    locations = reader.read_locations(source, classes, on_invalid=options.on_invalid)
    return BuildPlan(
        catalog=stac.create_catalog(),
        collections=stac.create_collections(classes, base),
        items=(placed for location in locations for placed in stac.create_items(location, base)),
    )


DATASET = Dataset(name=constants.NAME, title="RapidAI4EO corpus", plan=plan)
