"""What a sidecar index directory holds: its files and the schemas of the derived tables.

An index directory has four Parquet files whose rows share one order (items sorted along a
Hilbert curve of their footprint centres), and a manifest:

``items.parquet``
    The items as stac-geoparquet (the file other tools read).
``search.parquet``
    One narrow row per item, in the same order: what a search tests before it reads anything
    else (id, collection, the item's href, footprint bounds, footprint, time interval, and the
    hrefs of ``source`` links).
``assets.parquet``
    One row per asset of every item (``row`` is the item's row number), with the asset's time
    interval (its own ``datetime``, or else its item's) as timestamps.
``labels.parquet``
    One row per class of every ``label:overviews`` entry, with its ``count`` or statistics
    ``value``.
``manifest.json``
    Counts, extents per collection, label classes, source, build time and stacforge version.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

ITEMS_FILE: Final = "items.parquet"
SEARCH_FILE: Final = "search.parquet"
ASSETS_FILE: Final = "assets.parquet"
LABELS_FILE: Final = "labels.parquet"
MANIFEST_FILE: Final = "manifest.json"

MEDIA_TYPE: Final = "application/vnd.apache.parquet"
MIRROR_ROLE: Final = "collection-mirror"

TIMESTAMP: Final = pa.timestamp("us", tz="UTC")
BBOX: Final = pa.struct(
    [(name, pa.float64()) for name in ("xmin", "ymin", "xmax", "ymax")],
)

SEARCH_SCHEMA: Final = pa.schema(
    [
        ("id", pa.string()),
        ("collection", pa.string()),
        ("href", pa.string()),
        ("bbox", BBOX),
        ("geometry", pa.binary()),
        ("start", TIMESTAMP),
        ("end", TIMESTAMP),
        ("sources", pa.list_(pa.string())),
    ]
)
"""``href`` and ``sources`` are relative to the index directory unless absolute; ``bbox`` is
computed from the geometry (an item's own ``bbox`` may be wrong); ``start``/``end`` are the
item's ``datetime``, or its ``start_datetime``/``end_datetime``."""

ASSETS_SCHEMA: Final = pa.schema(
    [
        ("row", pa.int64()),
        ("key", pa.string()),
        ("href", pa.string()),
        ("type", pa.string()),
        ("roles", pa.list_(pa.string())),
        ("start", TIMESTAMP),
        ("end", TIMESTAMP),
    ]
)
"""``href`` as the item gives it (relative hrefs are relative to the item)."""

LABELS_SCHEMA: Final = pa.schema(
    [
        ("row", pa.int64()),
        ("id", pa.string()),
        ("property_key", pa.string()),
        ("name", pa.string()),
        ("count", pa.int64()),
        ("value", pa.float64()),
    ]
)

STATISTICS_COLUMNS: Final = {
    SEARCH_FILE: ["id", "collection", *(f"bbox.{name}" for name in BBOX.names), "start", "end"],
    ASSETS_FILE: ["row", "key"],
    LABELS_FILE: ["row", "name"],
}
"""Columns whose row-group min/max statistics searches use to skip row groups."""
