"""Maps RapidAI4EO records to STAC: pure functions, no I/O."""

from __future__ import annotations

import functools
from typing import Any

from stacforge import media_types
from stacforge.catalog import extensions
from stacforge.catalog.items import asset_href, item_link, new_asset, new_item
from stacforge.catalog.labels import label_asset, label_classes, label_overview, label_properties
from stacforge.catalog.layout import item_path
from stacforge.catalog.model import CatalogSpec, CollectionSpec, Item, PlacedItem
from stacforge.datasets.rapidai4eo import constants as c
from stacforge.datasets.rapidai4eo.reader import LabelClass, Location
from stacforge.geometry import utm_code

_PF_STEPS = tuple((d.isoformat(), f"{d.isoformat()}{c.ACQUISITION_TIME}") for d in c.PF_DATES)
_S2_STEPS = tuple(
    (d.strftime("%Y-%m"), f"{d.isoformat()}{c.ACQUISITION_TIME}") for d in c.S2_MONTHS
)
_LABEL_START = f"{c.LABEL_YEAR}-01-01T00:00:00Z"
_LABEL_END = f"{c.LABEL_YEAR}-12-31T23:59:59Z"


def create_catalog() -> CatalogSpec:
    """The root catalog."""
    return CatalogSpec(id=c.CATALOG_ID, title=c.CATALOG_TITLE, description=c.CATALOG_DESCRIPTION)


def create_collections(classes: list[LabelClass], asset_href_base: str) -> list[CollectionSpec]:
    """The three product collections; label classes come from the mappings file."""
    cite_as = {"rel": "cite-as", "href": c.CITE_AS, "title": "RapidAI4EO corpus"}
    return [
        CollectionSpec(
            id=c.PF_COLLECTION,
            title="RapidAI4EO Planet Fusion",
            description=(
                "Planet Fusion surface reflectance (3 m, five-day cadence, 2018-2019) and its "
                "quality assurance masks, one item per sample location."
            ),
            license=c.PF_LICENSE,
            providers=(c.PLANET, c.HOST),
            keywords=c.KEYWORDS,
            stac_extensions=(extensions.PROJECTION,),
            summary_fields=("gsd", "proj:code"),
            links=(
                cite_as,
                {"rel": "license", "href": "https://creativecommons.org/licenses/by-nc-sa/3.0/"},
            ),
        ),
        CollectionSpec(
            id=c.S2_COLLECTION,
            title="RapidAI4EO Sentinel-2",
            description=(
                "Sentinel-2 L2A monthly surface reflectance mosaics (10 m, 2018), one item per "
                "sample location."
            ),
            license="other",
            providers=(c.ESA, c.PLANET_PROCESSOR, c.HOST),
            keywords=c.KEYWORDS,
            stac_extensions=(extensions.PROJECTION,),
            summary_fields=("constellation", "gsd", "proj:code"),
            links=(cite_as, c.S2_LICENSE_LINK),
        ),
        CollectionSpec(
            id=c.LABELS_COLLECTION,
            title="RapidAI4EO CORINE Land Cover labels",
            description=(
                "CORINE Land Cover 2018 multiclass labels: the share of each level-3 class in "
                "every sample footprint."
            ),
            license="other",
            providers=(c.EEA, c.PLANET_PROCESSOR, c.HOST),
            keywords=c.KEYWORDS,
            stac_extensions=(extensions.LABEL,),
            summaries={
                "label:type": ["vector"],
                "label:tasks": ["classification"],
                "label:classes": _label_classes(classes),
            },
            links=(cite_as, c.CLC_LICENSE_LINK),
            extra_fields={
                "assets": {
                    "label_mappings": {
                        "href": asset_href(asset_href_base, f"resources/{c.LABEL_MAPPINGS_FILE}"),
                        "type": "text/csv",
                        "title": "CORINE class keys, levels and names",
                        "roles": ["metadata"],
                    },
                    "labels_table": {
                        "href": asset_href(asset_href_base, f"resources/{c.LABELS_FILE}"),
                        "type": "application/gzip",
                        "title": "Class shares of every sample location (CSV, gzipped)",
                        "roles": ["metadata"],
                    },
                }
            },
        ),
    ]


def create_items(
    location: Location, classes: list[LabelClass], asset_href_base: str
) -> list[PlacedItem]:
    """The Planet Fusion, Sentinel-2 and label items of one sample location, linked together;
    the label item lists every class of the mappings file (``label:classes``)."""
    sample_id, partition = location.sample_id, (location.zone, location.tile)
    ids = {
        cid: f"{cid}_{sample_id}" for cid in (c.PF_COLLECTION, c.S2_COLLECTION, c.LABELS_COLLECTION)
    }
    paths = {cid: item_path(cid, partition, item_id) for cid, item_id in ids.items()}

    def link(rel: str, source: str, target: str, title: str | None = None) -> dict[str, Any]:
        return item_link(rel, paths[source], paths[target], title=title)

    imagery = asset_href(asset_href_base, f"imagery/{location.zone}/{location.tile}/{sample_id}")
    proj_code = utm_code(location.zone)

    pf_assets: dict[str, Any] = {}
    for day, timestamp in _PF_STEPS:
        pf_assets[f"sr_{day}"] = _geotiff(f"{imagery}/PF-SR/{day}.tif", timestamp, "data")
        pf_assets[f"qa_{day}"] = _geotiff(f"{imagery}/PF-QA/{day}.tif", timestamp, "metadata")
    pf = _item(
        location,
        ids[c.PF_COLLECTION],
        {
            "title": f"Planet Fusion time series at {sample_id}",
            "datetime": None,
            "start_datetime": _PF_STEPS[0][1],
            "end_datetime": _PF_STEPS[-1][1],
            "gsd": c.PF_GSD,
            "proj:code": proj_code,
        },
        pf_assets,
        [
            link("related", c.PF_COLLECTION, c.S2_COLLECTION),
            link("related", c.PF_COLLECTION, c.LABELS_COLLECTION),
        ],
        [extensions.PROJECTION],
    )
    s2 = _item(
        location,
        ids[c.S2_COLLECTION],
        {
            "title": f"Sentinel-2 monthly time series at {sample_id}",
            "datetime": None,
            "start_datetime": _S2_STEPS[0][1],
            "end_datetime": _S2_STEPS[-1][1],
            "constellation": "sentinel-2",
            "gsd": c.S2_GSD,
            "proj:code": proj_code,
        },
        {
            f"s2_{month}": _geotiff(f"{imagery}/S2-SR/{month}.tif", ts, "data")
            for month, ts in _S2_STEPS
        },
        [
            link("related", c.S2_COLLECTION, c.PF_COLLECTION),
            link("related", c.S2_COLLECTION, c.LABELS_COLLECTION),
        ],
        [extensions.PROJECTION],
    )
    labels_href = asset_href(
        asset_href_base, f"labels/{location.zone}/{location.tile}/labels_{sample_id}.geojson"
    )
    label = _item(
        location,
        ids[c.LABELS_COLLECTION],
        {
            "title": f"CORINE Land Cover 2018 labels at {sample_id}",
            "datetime": None,
            "start_datetime": _LABEL_START,
            "end_datetime": _LABEL_END,
            **label_properties(
                label_type="vector",
                description=c.LABEL_DESCRIPTION,
                properties=[c.LABEL_PROPERTY],
                tasks=["classification"],
                classes=_label_classes(classes),
                overviews=[label_overview(c.LABEL_PROPERTY, statistics=location.shares)],
            ),
        },
        {"labels": label_asset(labels_href, media_types.GEOJSON, label_type="vector")},
        [
            link("source", c.LABELS_COLLECTION, c.PF_COLLECTION, "Planet Fusion"),
            link("source", c.LABELS_COLLECTION, c.S2_COLLECTION, "Sentinel-2"),
        ],
        [extensions.LABEL],
    )
    return [
        PlacedItem(c.PF_COLLECTION, partition, pf),
        PlacedItem(c.S2_COLLECTION, partition, s2),
        PlacedItem(c.LABELS_COLLECTION, partition, label),
    ]


def _item(
    location: Location,
    item_id: str,
    properties: dict[str, Any],
    assets: dict[str, Any],
    links: list[dict[str, Any]],
    stac_extensions: list[str],
) -> Item:
    return new_item(
        item_id,
        geometry=location.geometry,
        bbox=location.bbox,
        properties=properties,
        assets=assets,
        links=links,
        stac_extensions=stac_extensions,
    )


def _geotiff(href: str, timestamp: str, role: str) -> dict[str, Any]:
    return new_asset(href, media_types.GEOTIFF, roles=[role], datetime=timestamp)


@functools.lru_cache(maxsize=1)
def _label_classes_of(keys: tuple[str, ...]) -> list[dict[str, Any]]:
    # The same classes for every location: built once, shared by every label item.
    return label_classes({c.LABEL_PROPERTY: list(keys)})


def _label_classes(classes: list[LabelClass]) -> list[dict[str, Any]]:
    return _label_classes_of(tuple(cls.key for cls in classes))
