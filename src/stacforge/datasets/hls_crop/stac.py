"""Maps HLS crop chips to STAC: pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from stacforge import media_types
from stacforge.catalog import extensions
from stacforge.catalog.items import asset_href, item_link, new_asset, new_item
from stacforge.catalog.labels import (
    classification_classes,
    label_asset,
    label_classes,
    label_overview,
    label_properties,
    ml_aoi_split,
)
from stacforge.catalog.layout import item_path
from stacforge.catalog.model import CatalogSpec, CollectionSpec, PlacedItem
from stacforge.datasets.hls_crop import constants as c
from stacforge.datasets.hls_crop.reader import Chip

CLASSIFICATION = classification_classes(c.CLASSES, nodata=[c.NODATA_CLASS])
"""``classification:classes`` of the mask: value, id-safe name, description."""
CLASS_NAMES: tuple[str, ...] = tuple(entry["name"] for entry in CLASSIFICATION)
"""Id-safe class names by value (``corn``, ``winter_wheat``): the names ``label:overviews``
counts use, so that a label search reads ``--label 'corn>=5000'``."""
LABEL_CLASSES = label_classes({None: sorted(c.CLASSES)})
"""``label:classes`` of a raster label: one entry, no name, the class values."""

_LABEL_START = f"{c.CDL_YEAR}-01-01T00:00:00Z"
_LABEL_END = f"{c.CDL_YEAR}-12-31T23:59:59Z"
_SOURCE_EXTENSIONS = (
    extensions.PROJECTION,
    extensions.EO,
    extensions.RASTER,
    extensions.FILE,
    extensions.ML_AOI,
)
_LABEL_EXTENSIONS = (
    extensions.LABEL,
    extensions.CLASSIFICATION,
    extensions.PROJECTION,
    extensions.FILE,
    extensions.ML_AOI,
)


LABEL_SUMMARIES: Mapping[str, Any] = {
    "label:type": ["raster"],
    "label:tasks": ["segmentation"],
    "label:methods": ["automated"],
    "label:classes": LABEL_CLASSES,
    "classification:classes": CLASSIFICATION,
}
"""The label collection's summaries known up front (the pixel totals are summed as items
stream past, see :func:`create_collections`)."""


def create_catalog() -> CatalogSpec:
    """The root catalog."""
    return CatalogSpec(id=c.CATALOG_ID, title=c.CATALOG_TITLE, description=c.CATALOG_DESCRIPTION)


def create_collections() -> list[CollectionSpec]:
    """The chip (source) and mask (labels) collections."""
    links = (
        {"rel": "cite-as", "href": c.CITE_AS, "title": "Multi-Temporal Crop Classification"},
        c.LICENSE_LINK,
        c.ABOUT_LINK,
    )
    return [
        CollectionSpec(
            id=c.SOURCE_COLLECTION,
            title="HLS chips, three time steps",
            description=(
                "Harmonized Landsat Sentinel-2 surface reflectance chips (224 x 224 px at 30 m, "
                "EPSG:5070): 18 bands, the six bands Blue, Green, Red, NIR narrow, SWIR 1 and "
                "SWIR 2 of three cloud-free scenes of the 2022 growing season. Band names carry "
                "the time step (`B02_t1`...). Where the scenes' dates are not known (no scene "
                "table), an item's time spans the growing season, March to September 2022."
            ),
            license=c.LICENSE,
            providers=(c.LP_DAAC, c.CLARK, c.NASA_IBM),
            keywords=c.KEYWORDS,
            stac_extensions=_SOURCE_EXTENSIONS,
            summaries={"gsd": [c.GSD]},
            summary_fields=("constellation", "instruments", "ml-aoi:split", "proj:code"),
            links=links,
        ),
        CollectionSpec(
            id=c.LABELS_COLLECTION,
            title="Cropland Data Layer 2022 masks",
            description=(
                "Crop type and land cover of every chip pixel from the USDA Cropland Data Layer "
                "2022, regrouped into 13 classes (0: no data); `label:overviews` counts the "
                "pixels of each class, in items and, summed, in the summaries."
            ),
            license=c.LICENSE,
            providers=(c.USDA_NASS, c.CLARK, c.NASA_IBM),
            keywords=c.KEYWORDS,
            stac_extensions=_LABEL_EXTENSIONS,
            summaries=LABEL_SUMMARIES,
            # The pixel total of each class: the writer sums the items' overviews.
            summary_fields=("ml-aoi:split", "label:overviews"),
            links=links,
        ),
    ]


def create_items(chip: Chip, asset_href_base: str | None) -> list[PlacedItem]:
    """The source item and the label item of one chip, in the chip's partition.

    Args:
        chip: The chip as read.
        asset_href_base: Where SOURCE is published; None for hrefs relative to the item,
            valid where the catalog is written into SOURCE itself (see the dataset's docs).
    """
    files = chip.files
    partition = files.partition
    source_id, label_id = files.chip_id, f"{files.chip_id}_labels"
    source_path = item_path(c.SOURCE_COLLECTION, partition, source_id)
    label_path = item_path(c.LABELS_COLLECTION, partition, label_id)
    # Items sit at <collection>/<partition...>/<id>/<id>.json below the catalog root.
    up = "../" * (len(partition) + 2) if asset_href_base is None else ""
    common: dict[str, Any] = {
        "proj:code": chip.proj_code,
        "proj:shape": list(chip.shape),
        "proj:transform": list(chip.transform),
        "proj:bbox": list(chip.proj_bbox),
    }
    if chip.proj_wkt2 is not None:
        common["proj:wkt2"] = chip.proj_wkt2
    if files.split is not None:
        common.update(ml_aoi_split(files.split))

    times = files.scenes.times if files.scenes else (c.SEASON_START, c.SEASON_END)
    source = new_item(
        source_id,
        geometry=chip.footprint,
        properties={
            "title": f"HLS time series of {files.chip_id}",
            "datetime": None,
            "start_datetime": min(times),
            "end_datetime": max(times),
            "constellation": c.CONSTELLATION,
            "instruments": list(c.INSTRUMENTS),
            "gsd": c.GSD,
            **common,
        },
        assets={
            c.IMAGE_ASSET: new_asset(
                asset_href(asset_href_base, up + files.image_path),
                media_types.GEOTIFF,
                roles=["data"],
                title="HLS surface reflectance, 6 bands x 3 time steps",
                **{
                    "file:size": chip.image_size,
                    "raster:spatial_resolution": c.GSD,
                    "bands": _bands(chip),
                    "ml-aoi:role": "feature",
                },
            )
        },
        links=[item_link("related", source_path, label_path, title="CDL mask")],
        stac_extensions=_SOURCE_EXTENSIONS,
    )
    label = new_item(
        label_id,
        geometry=chip.footprint,
        properties={
            "title": f"CDL 2022 mask of {files.chip_id}",
            "datetime": None,
            "start_datetime": _LABEL_START,
            "end_datetime": _LABEL_END,
            **label_properties(
                label_type="raster",
                description=c.LABEL_DESCRIPTION,
                properties=None,
                tasks=["segmentation"],
                methods=["automated"],
                classes=LABEL_CLASSES,
                overviews=[
                    label_overview(None, counts=dict(zip(CLASS_NAMES, chip.counts, strict=True)))
                ],
            ),
            **common,
        },
        assets={
            c.MASK_ASSET: label_asset(
                asset_href(asset_href_base, up + files.mask_path),
                media_types.GEOTIFF,
                label_type="raster",
                title="CDL class of each pixel",
                **{
                    "file:size": chip.mask_size,
                    "data_type": chip.mask_data_type,
                    "classification:classes": CLASSIFICATION,
                    "ml-aoi:role": "label",
                },
            )
        },
        links=[
            item_link(
                "source",
                label_path,
                source_path,
                title="HLS chip",
                **{"label:assets": [c.MASK_ASSET]},
            )
        ],
        stac_extensions=_LABEL_EXTENSIONS,
    )
    return [
        PlacedItem(c.SOURCE_COLLECTION, partition, source),
        PlacedItem(c.LABELS_COLLECTION, partition, label),
    ]


def _bands(chip: Chip) -> list[dict[str, Any]]:
    """The 18 bands: time step by time step, the six HLS bands in file order; with the
    scene's time (and granule) where the scene table gives them."""
    scenes = chip.files.scenes
    bands = []
    for index in range(c.BAND_COUNT):
        step = index // len(c.HLS_BANDS) + 1
        hls, name, common_name, center, width = c.HLS_BANDS[index % len(c.HLS_BANDS)]
        description = f"{name} ({hls}), time step {step} of {c.TIME_STEPS}"
        if scenes is not None and scenes.granules is not None:
            description += f", {scenes.granules[step - 1]}"
        band: dict[str, Any] = {
            "name": f"{hls}_t{step}",
            "description": description,
            "eo:common_name": common_name,
            "eo:center_wavelength": center,
            "eo:full_width_half_max": width,
            "nodata": _nodata(chip.nodata),
            "data_type": chip.data_types[index],
        }
        if scenes is not None:
            band["datetime"] = scenes.times[step - 1]
        if chip.scales[index] != 1.0:
            band["raster:scale"] = chip.scales[index]
        if chip.offsets[index] != 0.0:
            band["raster:offset"] = chip.offsets[index]
        bands.append(band)
    return bands


def _nodata(value: float) -> float | int | str:
    """A nodata value as STAC 1.1 writes it: an integer where it is one, ``"nan"``, ``"inf"``
    or ``"-inf"`` where JSON has no number for it."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return int(value) if value.is_integer() else value
