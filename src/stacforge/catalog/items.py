"""Item and asset dicts, and links between items: the skeleton every mapper fills in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stacforge import media_types
from stacforge.catalog.layout import relative_href
from stacforge.catalog.model import Item
from stacforge.geometry import geojson_bbox

STAC_VERSION = "1.1.0"


def new_item(
    item_id: str,
    *,
    geometry: Mapping[str, Any] | None,
    properties: Mapping[str, Any],
    assets: Mapping[str, dict[str, Any]],
    links: Iterable[dict[str, Any]] = (),
    stac_extensions: Iterable[str] = (),
    bbox: Sequence[float] | None = None,
) -> Item:
    """A STAC item dict; the catalog writer adds its structural links and ``collection``.

    Args:
        item_id: Lowercase letters, digits, ``_`` and ``-``.
        geometry: GeoJSON in longitude/latitude.
        properties: Must hold ``datetime`` (null with ``start_datetime``/``end_datetime``).
        assets: By key.
        links: Links to other items (``source``, ``related``), see :func:`item_link`.
        stac_extensions: Schema URLs of the extensions whose fields the item uses.
        bbox: Computed from ``geometry`` when not given.
    """
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": sorted(set(stac_extensions)),
        "id": item_id,
        "geometry": geometry,
        "bbox": list(bbox) if bbox is not None else (geojson_bbox(geometry) if geometry else None),
        "properties": dict(properties),
        "links": list(links),
        # Not deep copies: a mapper builds fresh assets for every item (a RapidAI4EO item has
        # 300), and copying them cost a third of the mapping time.
        "assets": dict(assets),
    }


def new_asset(
    href: str,
    media_type: str,
    *,
    roles: Sequence[str],
    title: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An asset dict: ``href``, ``type``, ``title`` (if any), extra ``fields`` (``datetime``,
    ``raster:bands``, ``file:size``...) in the order given, then ``roles``."""
    asset: dict[str, Any] = {"href": href, "type": media_type}
    if title:
        asset["title"] = title
    asset.update(fields)
    asset["roles"] = list(roles)
    return asset


def item_link(
    rel: str, source_path: str, target_path: str, *, title: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A link from the item at ``source_path`` to the item at ``target_path`` (both paths
    relative to the catalog root, see :func:`stacforge.catalog.layout.item_path`)."""
    link: dict[str, Any] = {
        "rel": rel,
        "href": relative_href(source_path, target_path),
        "type": media_types.GEOJSON,
    }
    if title:
        link["title"] = title
    link.update(fields)
    return link


def asset_href(base: str | None, relative: str) -> str:
    """An asset's href: ``relative`` (to the item) as is, or under ``base`` when given.

    Args:
        base: ``--asset-href-base``: where the data files are published (a trailing ``/`` is
            added when missing).
        relative: The file's path relative to the item (``../../chips/a.tif``) when ``base``
            is None, else relative to ``base``.
    """
    if base is None:
        return relative
    return f"{base if base.endswith('/') else base + '/'}{relative.removeprefix('./')}"
