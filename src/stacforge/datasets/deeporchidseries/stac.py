"""Maps DeepOrchidSeries records to STAC: pure functions, no I/O."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

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
from stacforge.catalog.model import CatalogSpec, CollectionSpec, Item
from stacforge.datasets.deeporchidseries import constants as c
from stacforge.datasets.deeporchidseries.footprint import PROJ_SHAPE
from stacforge.datasets.deeporchidseries.reader import Occurrence, Patch, Sample
from stacforge.datasets.deeporchidseries.split import block_split

CLASS_INDEX_SUMMARY = "deeporchidseries:class_index"
"""Collection summary: the speciesKey of each class index of the published models, in class
index order (``index.json`` as a list)."""

_ITEM_EXTENSIONS = (
    extensions.LABEL,
    extensions.ML_AOI,
    extensions.PROJECTION,
    extensions.EO,
    extensions.FILE,
)


@dataclass(frozen=True)
class Settings:
    """What every item of one build shares.

    Attributes:
        asset_href_base: ``--asset-href-base``; None: hrefs relative to the item, for a catalog
            published at SOURCE (``catalog.json`` beside ``final_dataset_by_gbifid/``).
        class_index: Model class index of each speciesKey (``index.json``), if given.
        seed: Seed of the block split.
        train: Fraction of blocks in the train split.
        validate: Fraction of blocks in the validate split (test: the rest).
    """

    asset_href_base: str | None
    class_index: Mapping[int, int] | None
    seed: int
    train: float
    validate: float


def create_catalog() -> CatalogSpec:
    """The root catalog."""
    return CatalogSpec(id=c.CATALOG_ID, title=c.CATALOG_TITLE, description=c.CATALOG_DESCRIPTION)


def create_collection(
    species: Mapping[int, str], settings: Settings, *, has_class_index_file: bool
) -> CollectionSpec:
    """The occurrences collection; ``label:classes`` lists every speciesKey of the CSV (and
    of ``index.json``), the class-index summary the models' order."""
    keys = set(species)
    summaries: dict[str, Any] = {
        "label:type": ["vector"],
        "label:tasks": ["classification"],
        "label:methods": list(c.LABEL_METHODS),
        "label:properties": [c.LABEL_PROPERTY],
        "constellation": ["sentinel-2"],
        "instruments": ["msi"],
        "gsd": [c.GSD],
    }
    if settings.class_index is not None:
        keys |= set(settings.class_index)
        by_index = sorted(settings.class_index.items(), key=lambda pair: pair[1])
        summaries[CLASS_INDEX_SUMMARY] = [species_key for species_key, _ in by_index]
    summaries["label:classes"] = label_classes({c.LABEL_PROPERTY: sorted(keys)})

    here = collection_path(c.COLLECTION)
    assets = {
        "occurrences": {
            "href": _root_file_href(settings.asset_href_base, here, c.CSV_FILE),
            "type": media_types.CSV,
            "title": "Every occurrence: species, coordinates, block and WGSRPD regions",
            "roles": ["labels", "metadata"],
        }
    }
    if has_class_index_file:
        assets["class_index"] = {
            "href": _root_file_href(settings.asset_href_base, here, c.CLASS_INDEX_FILE),
            "type": media_types.JSON,
            "title": "The published models' class indexes: {class_index: speciesKey}",
            "roles": ["metadata"],
        }
    return CollectionSpec(
        id=c.COLLECTION,
        title=c.COLLECTION_TITLE,
        description=c.COLLECTION_DESCRIPTION,
        license="other",
        providers=c.PROVIDERS,
        keywords=c.KEYWORDS,
        stac_extensions=(extensions.LABEL, extensions.ML_AOI),
        summaries=summaries,
        summary_fields=(
            "ml-aoi:split",
            "continent_code",
            "lvl2_code",
            "bot_code",
            "proj:code",
            "canonical_name",
        ),
        links=c.LINKS,
        extra_fields={"assets": assets},
    )


def item_id(gbifid: str) -> str:
    """The id of an occurrence's item."""
    return f"{c.NAME}_{gbifid}"


LABELS_FILE = "labels.geojson"
"""The labels GeoJSON written beside each item's JSON (see :func:`labels_geojson`)."""


def create_item(sample: Sample, partition: tuple[str, ...], settings: Settings) -> Item:
    """The item of one occurrence: its patch footprint, 24 monthly PNG assets, its species as
    vector label, its block's split and its WGSRPD regions."""
    occurrence, footprint = sample.occurrence, sample.footprint
    identifier = item_id(occurrence.gbifid)
    path = item_path(c.COLLECTION, partition, identifier)
    first, last = sample.patches[0], sample.patches[-1]
    split = block_split(
        occurrence.cell_index, seed=settings.seed, train=settings.train, validate=settings.validate
    )
    properties: dict[str, Any] = {
        "title": f"{occurrence.canonical_name} (GBIF occurrence {occurrence.gbifid})",
        "datetime": None,
        "start_datetime": f"{first.year}-{first.month:02d}-01T00:00:00Z",
        "end_datetime": _month_end(last),
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "gsd": c.GSD,
        "proj:code": footprint.proj_code,
        "proj:shape": list(PROJ_SHAPE),
        "proj:transform": footprint.proj_transform,
        "gbif_id": int(occurrence.gbifid),
        c.LABEL_PROPERTY: occurrence.species_key,
        "canonical_name": occurrence.canonical_name,
    }
    if settings.class_index is not None and occurrence.species_key in settings.class_index:
        properties["class_index"] = settings.class_index[occurrence.species_key]
    properties["cell_index"] = int(occurrence.cell_index)
    for name in ("continent_code", "lvl2_code", "bot_code", "bot_country"):
        if (value := getattr(occurrence, name)) is not None:
            properties[name] = value
    properties.update(
        label_properties(
            label_type="vector",
            description=c.LABEL_DESCRIPTION,
            properties=[c.LABEL_PROPERTY],
            tasks=["classification"],
            methods=c.LABEL_METHODS,
            # The item's own class: the full vocabulary is in the collection summary.
            classes=label_classes({c.LABEL_PROPERTY: [occurrence.species_key]}),
            overviews=[label_overview(c.LABEL_PROPERTY, counts={str(occurrence.species_key): 1})],
        )
    )
    properties.update(ml_aoi_split(split))

    assets: dict[str, Any] = {}
    folder = _root_file_href(
        settings.asset_href_base, path, f"{c.IMAGES_FOLDER}/{occurrence.folder}"
    )
    for patch in sample.patches:
        key = f"{c.ASSET_PREFIX[patch.kind]}_{patch.month:02d}"
        assets[key] = _patch_asset(f"{folder}/{patch.name}", patch)
    assets["labels"] = label_asset(
        f"./{LABELS_FILE}",
        media_types.GEOJSON,
        label_type="vector",
        title="The occurrence point and its species (GeoJSON)",
    )
    links = [
        {
            "rel": "via",
            "href": c.GBIF_OCCURRENCE_URL.format(gbifid=occurrence.gbifid),
            "type": "text/html",
            "title": "The occurrence on GBIF",
        }
    ]
    return new_item(
        identifier,
        geometry=footprint.geometry,
        bbox=footprint.bbox,
        properties=properties,
        assets=assets,
        links=links,
        stac_extensions=_ITEM_EXTENSIONS,
    )


def labels_geojson(occurrence: Occurrence) -> bytes:
    """The item's vector labels: a GeoJSON FeatureCollection of the occurrence point with its
    species (the file :data:`LABELS_FILE` beside the item, which its ``labels`` asset names)."""
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": occurrence.gbifid,
                "geometry": {
                    "type": "Point",
                    "coordinates": [occurrence.longitude, occurrence.latitude],
                },
                "properties": {
                    c.LABEL_PROPERTY: occurrence.species_key,
                    "canonical_name": occurrence.canonical_name,
                    "gbif_id": int(occurrence.gbifid),
                },
            }
        ],
    }
    return orjson.dumps(collection, option=orjson.OPT_APPEND_NEWLINE)


def _patch_asset(href: str, patch: Patch) -> dict[str, Any]:
    kind = "RGB" if patch.kind == "RGB" else "near-infrared"
    return new_asset(
        href,
        media_types.PNG,
        roles=["data"],
        title=f"Sentinel-2 {kind} patch, {patch.year}-{patch.month:02d}",
        datetime=f"{patch.year}-{patch.month:02d}-{c.ASSET_DAY}T00:00:00Z",
        data_type="uint16",
        bands=c.BANDS[patch.kind],
        **{"file:size": patch.size},
    )


def _month_end(patch: Patch) -> str:
    day = calendar.monthrange(patch.year, patch.month)[1]
    return f"{patch.year}-{patch.month:02d}-{day:02d}T23:59:59Z"


def _root_file_href(base: str | None, document: str, root_relative: str) -> str:
    """The href of a file of SOURCE: under ``base``, or relative to ``document`` (a path
    below the catalog root) for a catalog published at SOURCE."""
    if base is not None:
        return asset_href(base, root_relative)
    return relative_href(document, root_relative)
