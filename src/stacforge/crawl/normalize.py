"""Repairs of crawled items where the meaning is clear; everything else is left as found."""

from __future__ import annotations

from typing import Any

from stacforge.geometry import geojson_bbox


def normalize_item(item: dict[str, Any], *, collection: str | None = None) -> list[str]:
    """Repairs ``item`` in place where there is one obvious reading, and says what it changed.

    - a missing ``collection`` is taken from the collection that links the item;
    - missing ``properties`` become an empty object;
    - polygon rings whose last position is not the first are closed;
    - a missing ``bbox`` is computed from the geometry.

    Args:
        item: A parsed item document.
        collection: The id of the collection whose ``item`` link led to the item, if any.

    Returns:
        One short note per repair that changed the item's content.

    Raises:
        ValueError: The item cannot be indexed (no id, malformed properties, collection or
            geometry).
    """
    if not isinstance(item.get("id"), str) or not item["id"]:
        raise ValueError("item has no id")
    notes = []
    if item.get("collection") is None and collection is not None:
        item["collection"] = collection
    elif item.get("collection") is not None and not isinstance(item["collection"], str):
        raise ValueError("collection is not a string")
    if item.get("properties") is None:
        item["properties"] = {}
        notes.append("no properties; indexed with none")
    elif not isinstance(item["properties"], dict):
        raise ValueError("properties is not an object")
    geometry = item.get("geometry")
    if geometry is None:
        return notes
    try:
        closed = _close_rings(geometry)
        if item.get("bbox") is None:
            item["bbox"] = geojson_bbox(geometry)
            notes.append("no bbox; computed from the geometry")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        raise ValueError(f"malformed {kind or 'GeoJSON'} geometry") from error
    if closed:
        notes.append(f"closed {closed} polygon ring(s) that did not end where they began")
    return notes


def _close_rings(geometry: dict[str, Any]) -> int:
    """Closes open polygon rings in place; returns how many it closed."""
    if geometry["type"] == "GeometryCollection":
        return sum(_close_rings(part) for part in geometry["geometries"])
    if geometry["type"] == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        return 0
    closed = 0
    for polygon in polygons:
        for ring in polygon:
            if len(ring) >= 3 and ring[0] != ring[-1]:
                ring.append(list(ring[0]))
                closed += 1
    return closed
