"""Maps the dataset's samples to STAC: pure functions, no I/O."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

import numpy as np
import shapely

from stacforge import media_types
from stacforge.catalog import extensions
from stacforge.catalog.items import asset_href, new_item
from stacforge.catalog.labels import (
    classification_classes,
    label_classes,
    label_overview,
    label_properties,
    ml_aoi_split,
)
from stacforge.catalog.layout import item_path, relative_href
from stacforge.catalog.model import CatalogSpec, CollectionSpec, PlacedItem
from stacforge.datasets.s2_cloud import constants as c
from stacforge.datasets.s2_cloud.reader import Sample
from stacforge.datasets.s2_cloud.tiles import Tile
from stacforge.geometry import geojson_bbox, to_lonlat

PREFIX = "s2_cloud"
"""Prefix of the dataset's own item properties and asset fields."""
_CLASS_VALUES = sorted(c.CLASSES)
_LABEL_CLASSES = label_classes({None: _CLASS_VALUES})
_BANDS = [{**band, "data_type": "uint16", "raster:spatial_resolution": c.GSD} for band in c.BANDS]
_ITEM_EXTENSIONS = (
    extensions.LABEL,
    extensions.ML_AOI,
    extensions.PROJECTION,
    extensions.EO,
    extensions.RASTER,
)


def create_catalog() -> CatalogSpec:
    """The root catalog."""
    return CatalogSpec(id=c.CATALOG_ID, title=c.CATALOG_TITLE, description=c.CATALOG_DESCRIPTION)


def create_collection() -> CollectionSpec:
    """The label collection; its sub-collections are the tiles. The writer sums the items'
    class counts into its ``label:overviews`` summary."""
    return CollectionSpec(
        id=c.LABELS_COLLECTION,
        title="Sentinel-2 time-series cloud detection samples",
        description=(
            "One item per record of the dataset's TFRecord files: a series of at most 100 "
            "time steps of a 42 x 42 pixel Sentinel-2 patch (B2, B3, B4, B8 at 10 m) with the "
            "cloud cover class of its centre 6 x 6 pixels at each step. Footprints are those "
            "of the Sentinel-2 tiles (the patches' positions in their tiles are not published)."
            " Sub-collections by tile."
        ),
        license="other",
        providers=(c.AIRCAS, c.ESA, c.HOST),
        keywords=c.KEYWORDS,
        stac_extensions=(extensions.LABEL, extensions.ML_AOI, extensions.CLASSIFICATION),
        summaries={
            "label:type": ["raster"],
            "label:tasks": ["classification"],
            "label:methods": ["manual"],
            "label:classes": _LABEL_CLASSES,
            "classification:classes": classification_classes(c.CLASS_DESCRIPTIONS),
        },
        summary_fields=(
            "label:overviews",
            "ml-aoi:split",
            "grid:code",
            "constellation",
            "gsd",
            "proj:code",
            f"{PREFIX}:time_steps",
        ),
        links=(
            {"rel": "cite-as", "href": c.CITE_AS, "title": c.PAPER_TITLE},
            c.S2_LICENSE_LINK,
        ),
    )


def item_id(sample: Sample) -> str:
    """``<tile>_<split>_<localid>_<first date>``, e.g. ``50tmk_val_123_20190105``.

    The dataset cuts series longer than 100 time steps into several records with the same
    ``localid``; their dates do not overlap, so the first date tells them apart.
    """
    first = date.fromordinal(min(sample.dates))
    return f"{sample.tile.code.lower()}_{sample.split_key}_{sample.localid}_{first:%Y%m%d}"


def create_item(sample: Sample, asset_href_base: str | None) -> PlacedItem:
    """The item of one sample, placed in its tile's sub-collection.

    Args:
        sample: One record's metadata.
        asset_href_base: Where SOURCE is published; None: hrefs relative to the item, for a
            catalog published at the root of SOURCE.
    """
    tile = sample.tile
    identifier = item_id(sample)
    partition = (tile.code,)
    path = item_path(c.LABELS_COLLECTION, partition, identifier)
    labels = np.frombuffer(sample.labels, dtype=np.int8)
    counts = np.bincount(labels, minlength=len(c.CLASSES))
    dates = [_iso_date(ordinal) for ordinal in sample.dates]
    geometry, bbox = _footprint(tile)
    properties: dict[str, Any] = {
        "title": f"Tile {tile.code}, {sample.split} sample {sample.localid}, "
        f"{min(dates)} to {max(dates)}",
        "datetime": None,
        "start_datetime": f"{min(dates)}T00:00:00Z",
        "end_datetime": f"{max(dates)}T23:59:59Z",
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "gsd": c.GSD,
        "proj:code": tile.crs,
        "grid:code": f"MGRS-{tile.code}",
        "mgrs:utm_zone": tile.zone,
        "mgrs:latitude_band": tile.band,
        "mgrs:grid_square": tile.square,
        **ml_aoi_split(sample.split),
        **label_properties(
            label_type="raster",
            description=c.LABEL_DESCRIPTION,
            properties=None,
            tasks=["classification"],
            methods=["manual"],
            classes=_LABEL_CLASSES,
            overviews=[
                label_overview(
                    None,
                    counts=dict(zip(c.CLASSES.values(), counts.tolist(), strict=True)),
                )
            ],
        ),
        f"{PREFIX}:localid": sample.localid,
        f"{PREFIX}:time_steps": len(dates),
        f"{PREFIX}:dates": dates,
        f"{PREFIX}:labels": labels.tolist(),
    }
    return PlacedItem(
        c.LABELS_COLLECTION,
        partition,
        new_item(
            identifier,
            geometry=geometry,
            bbox=bbox,
            properties=properties,
            assets={"record": _record_asset(sample, path, asset_href_base)},
            stac_extensions=_ITEM_EXTENSIONS,
        ),
    )


def _record_asset(sample: Sample, path: str, base: str | None) -> dict[str, Any]:
    """The record in its TFRecord file (or archive member), with where it sits in the file."""
    href = asset_href(base, sample.href) if base else relative_href(path, sample.href)
    asset: dict[str, Any] = {
        "href": href,
        "type": media_types.SEVEN_ZIP if sample.member is not None else media_types.TFRECORD,
        "title": f"Record {sample.index} of {sample.file} (tf.train.Example)",
    }
    if sample.member is not None:
        # Fields of the archive extension (no schema here, so not declared).
        asset["archive:href"] = sample.member
        asset["archive:type"] = media_types.TFRECORD
    asset["tfrecord:index"] = sample.index
    asset["tfrecord:offset"] = sample.offset
    asset["tfrecord:length"] = sample.length
    asset["bands"] = _BANDS
    asset["roles"] = ["data", "labels", "labels-raster"]
    return asset


@functools.lru_cache(maxsize=8192)
def _iso_date(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


@functools.lru_cache(maxsize=1024)
def _footprint(tile: Tile) -> tuple[dict[str, Any], list[float]]:
    # Every sample of a tile shares its footprint: reprojected once per tile.
    west, south, east, north = tile.bounds
    geometry = to_lonlat(shapely.box(west, south, east, north), tile.crs, densify=c.TILE_DENSIFY)
    return geometry, geojson_bbox(geometry)
