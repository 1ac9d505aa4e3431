"""Maps BreizhCrops records to STAC: pure functions, no I/O."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from stacforge import media_types
from stacforge.catalog import extensions
from stacforge.catalog.items import asset_href, new_asset, new_item
from stacforge.catalog.labels import (
    label_asset,
    label_classes,
    label_overview,
    label_properties,
    ml_aoi_split,
)
from stacforge.catalog.layout import collection_path, item_path, relative_href
from stacforge.catalog.model import CatalogSpec, CollectionSpec, PlacedItem
from stacforge.datasets.breizhcrops import constants as c
from stacforge.datasets.breizhcrops.reader import (
    ClassMapping,
    CropCode,
    LabelClass,
    Parcel,
    RegionCounts,
    RegionFiles,
)
from stacforge.time import format_timestamp

_ID_UNSAFE = re.compile(r"[^a-z0-9_-]+")
_ROOT_FROM_ITEM = relative_href(item_path("collection", ("cell",), "item"), "x")[:-1]
"""``../../../``: from an item (every item sits one partition deep) to the catalog root, which
relative asset hrefs take for the BreizhCrops root."""


def collection_id(region: str) -> str:
    """The label collection of a region."""
    return f"{c.COLLECTION_PREFIX}{_id_safe(region)}"


def item_id(files: RegionFiles, parcel_id: str) -> str:
    """``breizhcrops_<region>_<year>_<level>_<parcel id>``, lowercase and id-safe."""
    return _id_safe(f"{c.NAME}_{files.region}_{files.year}_{files.level}_{parcel_id}")


def create_catalog(year: int, level: str) -> CatalogSpec:
    """The root catalog of one year and processing level."""
    return CatalogSpec(
        id=c.CATALOG_ID,
        title=f"{c.CATALOG_TITLE} {year} {level}",
        description=f"{c.CATALOG_DESCRIPTION} Year {year}, Sentinel-2 level {level}.",
    )


def create_collection(
    files: RegionFiles, mapping: ClassMapping, counts: RegionCounts, asset_href_base: str | None
) -> CollectionSpec:
    """A region's label collection: its classes and their counts, its split, its files."""
    region, split = files.region, c.SPLITS.get(files.region)
    name = c.REGION_NAMES.get(region, region)
    summaries: dict[str, Any] = {
        "label:type": ["vector"],
        "label:tasks": ["classification"],
        "label:properties": [c.LABEL_PROPERTY, c.CODE_PROPERTY],
        "label:classes": _label_classes(mapping),
        "label:overviews": [
            label_overview(
                c.LABEL_PROPERTY,
                counts={cls.name: counts.classes[cls.name] for cls in mapping.classes},
            ),
            label_overview(
                c.CODE_PROPERTY, counts={code: counts.codes[code] for code in mapping.codes}
            ),
        ],
    }
    stac_extensions = [extensions.LABEL]
    if split is not None:
        summaries["ml-aoi:split"] = [split]
        stac_extensions.append(extensions.ML_AOI)
    here = collection_path(collection_id(region))

    def href(path: str) -> str:
        return asset_href(asset_href_base, path if asset_href_base else relative_href(here, path))

    assets = {
        "parcels": new_asset(
            href(files.relative(files.shapefile)),
            media_types.SHAPEFILE,
            title=f"Parcel polygons of {region} (Lambert-93)",
            roles=["labels", "labels-vector"],
        ),
        "parcel_index": new_asset(
            href(files.relative(files.index)),
            media_types.CSV,
            title=f"Index of {region}: one row per parcel time series",
            roles=["metadata"],
        ),
        "classmapping": new_asset(
            href(c.CLASS_MAPPING_FILE),
            media_types.CSV,
            title="RPG crop codes kept and the class each maps to",
            roles=["metadata"],
        ),
        "codes": new_asset(
            href(c.CODES_FILE),
            media_types.CSV,
            title="RPG crop codes with their French labels and groups",
            roles=["metadata"],
        ),
    }
    if files.hdf5 is not None:
        assets["timeseries"] = new_asset(
            href(files.relative(files.hdf5)),
            media_types.HDF5,
            title=f"Time series of every parcel of {region}, one dataset per index path",
            roles=["data"],
        )
    dropped = sum(counts.dropped.values())
    return CollectionSpec(
        id=collection_id(region),
        title=f"BreizhCrops {files.year} {files.level} {region} ({name})",
        description=(
            f"Crop type labels of the agricultural parcels of {name} ({region}) with their "
            f"Sentinel-2 {files.level} time series of {files.year}: one item per parcel whose "
            f"crop code is in the class mapping ({dropped:,} parcels with other codes are left "
            f"out). Split: {split or 'none'}."
        ),
        license="other",
        providers=c.PROVIDERS,
        keywords=c.KEYWORDS,
        stac_extensions=stac_extensions,
        summaries=summaries,
        summary_fields=("breizhcrops:sequencelength", "eo:cloud_cover"),
        links=(c.CITE_AS, c.ABOUT, *c.LICENSE_LINKS),
        extra_fields={"assets": assets},
    )


def create_item(
    parcel: Parcel,
    mapping: ClassMapping,
    codes: Mapping[str, CropCode],
    asset_href_base: str | None,
) -> PlacedItem:
    """The label item of one parcel: its polygon, class, crop code and time series."""
    files, row, label = parcel.files, parcel.row, parcel.label
    collection = collection_id(files.region)
    partition = (parcel.cell,)
    identifier = item_id(files, row.parcel_id)

    def href(path: str) -> str:
        return asset_href(asset_href_base, path if asset_href_base else _ROOT_FROM_ITEM + path)

    start, end = parcel.series.start, parcel.series.end
    crop = codes.get(row.code)
    properties: dict[str, Any] = {
        "title": f"Parcel {row.parcel_id} ({files.region}): {label.name}",
        "datetime": None,
        "start_datetime": _timestamp(start) or f"{files.year}-01-01T00:00:00Z",
        "end_datetime": _timestamp(end) or f"{files.year}-12-31T23:59:59Z",
        **label_properties(
            label_type="vector",
            description=c.LABEL_DESCRIPTION,
            properties=[c.LABEL_PROPERTY, c.CODE_PROPERTY],
            tasks=["classification"],
            classes=_label_classes(mapping),
            overviews=[
                label_overview(c.LABEL_PROPERTY, counts={label.name: 1}),
                label_overview(c.CODE_PROPERTY, counts={row.code: 1}),
            ],
        ),
        "classid": label.id,
        c.LABEL_PROPERTY: label.name,
        c.CODE_PROPERTY: row.code,
    }
    if crop is not None:
        properties["libelle_cultu"] = crop.label
        if crop.group_code is not None:
            properties["code_groupe_cultu"] = crop.group_code
            properties["libelle_groupe_cultu"] = crop.group_label
    stac_extensions = [extensions.LABEL]
    if split := c.SPLITS.get(files.region):
        properties.update(ml_aoi_split(split))
        stac_extensions.append(extensions.ML_AOI)
    properties["breizhcrops:parcel_id"] = row.parcel_id
    properties["breizhcrops:region"] = files.region
    properties["breizhcrops:level"] = files.level
    properties["breizhcrops:sequencelength"] = row.length
    if row.mean_cloud is not None:
        share = min(max(row.mean_cloud / c.CLOUD_FULL[files.level], 0.0), 1.0)
        properties["eo:cloud_cover"] = round(100.0 * share, 4)
        stac_extensions.append(extensions.EO)

    series = parcel.series
    fields: dict[str, Any] = {}
    if series.hdf5_key is not None:
        fields["hdf5:dataset"] = series.hdf5_key
    fields["bands"] = _bands(files.level)
    timeseries = new_asset(
        href(series.file),
        media_types.HDF5 if series.hdf5_key is not None else media_types.CSV,
        title=f"Sentinel-2 {files.level} time series (mean of the parcel's pixels per date)",
        roles=["data"],
        **fields,
    )
    labels = label_asset(
        href(_shapefile_path(files)),
        media_types.SHAPEFILE,
        label_type="vector",
        title=f"Parcel polygons of {files.region}: the feature whose ID is {row.parcel_id}",
    )
    item = new_item(
        identifier,
        geometry=parcel.geometry,
        bbox=parcel.bbox,
        properties=properties,
        assets={"timeseries": timeseries, "labels": labels},
        stac_extensions=stac_extensions,
    )
    return PlacedItem(collection, partition, item)


def _label_classes(mapping: ClassMapping) -> list[dict[str, Any]]:
    return _label_classes_of(mapping.classes)


@functools.lru_cache(maxsize=4)
def _label_classes_of(classes: tuple[LabelClass, ...]) -> list[dict[str, Any]]:
    # The same classes for every parcel: built once, shared by every item.
    return label_classes(
        {
            c.LABEL_PROPERTY: [cls.name for cls in classes],
            c.CODE_PROPERTY: sorted(code for cls in classes for code in cls.codes),
        }
    )


_BANDS: dict[str, list[dict[str, str]]] = {}


def _bands(level: str) -> list[dict[str, str]]:
    if level not in _BANDS:
        _BANDS[level] = [
            {
                "name": band,
                "description": c.BAND_DESCRIPTIONS.get(band, f"mean of Sentinel-2 {band}"),
            }
            for band in c.BANDS[level]
        ]
    return _BANDS[level]


@functools.lru_cache(maxsize=16)
def _shapefile_path(files: RegionFiles) -> str:
    return files.relative(files.shapefile)


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def _id_safe(text: str) -> str:
    return _ID_UNSAFE.sub("-", text.lower())
