"""Sentinel-2 time-series cloud detection: TFRecord series of 42 x 42 pixel patches with a
cloud cover class per time step, by Sentinel-2 tile (Gong et al., 2024)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from stacforge.catalog.model import PlacedItem
from stacforge.datasets.base import BuildOptions, BuildPlan, Dataset
from stacforge.datasets.s2_cloud import constants, reader, sample, stac
from stacforge.errors import InputError
from stacforge.parallel import ordered_map


def plan(source: Path, options: BuildOptions) -> BuildPlan[Path]:
    """Plans a build from the TFRecord files and ``.7z`` archives below ``source``.

    One partition, SOURCE: the files and archives in it are read in parallel
    (:func:`stacforge.parallel.ordered_map`, in path order), each into small per-record
    summaries, so memory stays flat however large the archives are.
    """
    inputs = reader.find_inputs(source, invalid=options.invalid)

    def items(_: Path) -> Iterator[PlacedItem]:
        seen: set[str] = set()  # ids: ~60 bytes per item, the only state that grows
        for results in ordered_map(reader.read_input, inputs, workers=options.workers):
            for result in results:
                if isinstance(result, InputError):
                    options.invalid(result)
                    continue
                placed = stac.create_item(result, options.asset_href_base)
                item_id = placed.item["id"]
                if item_id in seen:
                    options.invalid(
                        InputError(
                            source / result.href,
                            f"a second record of localid {result.localid} starting on the same "
                            f"date (item {item_id})",
                            record=_where(result),
                        )
                    )
                    continue
                seen.add(item_id)
                yield placed

    return BuildPlan(
        catalog=stac.create_catalog(),
        collections=[stac.create_collection()],
        partitions=[source],
        items=items,
    )


def _where(sample: reader.Sample) -> str:
    record = f"record {sample.index} at byte {sample.offset}"
    return record if sample.member is None else f"member {sample.member}, {record}"


DATASET = Dataset(
    name=constants.NAME,
    title="Sentinel-2 time-series cloud detection dataset",
    plan=plan,
    write_sample=sample.write_sample,
    sample_count=30,
)
