"""What an index directory holds: its files and the schemas of the derived tables.

An index directory has four Parquet files and a manifest; the rows of the first three share
one order (items sorted along a Hilbert curve of their footprint centres):

``items.parquet``
    The items as stac-geoparquet (the file other tools read).
``search.parquet``
    One narrow row per item, in the same order: what a search tests before it reads anything
    else (id, collection, the item's href, footprint bounds, footprint, time interval, and the
    hrefs of ``source`` links).
``assets.parquet``
    One row per asset of every item (``row`` is the item's row number), with the asset's time
    interval (its own ``datetime``, or else its item's) as timestamps and its href split in
    folder and file name (see :data:`ASSETS_SCHEMA`).
``labels.parquet``
    One row per class of every ``label:overviews`` entry, with its ``count`` or statistics
    ``value`` (``row`` is the item's row number), sorted by class (see :data:`LABELS_SCHEMA`).
``manifest.json``
    The layout's format (:data:`stacforge.index.manifest.FORMAT`), counts, extents per
    collection, label classes, a summary of each asset key (``asset_keys``: counts, time
    ranges and roles, which let a search decide an asset filter key by key), source, build
    time and stacforge version (see :class:`stacforge.index.manifest.Manifest`).

``items.parquet`` follows the stac-geoparquet spec as its reference library writes it: each
asset key is a field of the ``assets`` struct, so items with different keys share the union
of all keys (null where an item lacks one; readers drop those), and an asset's own
``datetime`` stays a string there (stac-geoparquet converts only item-level timestamps). Asset
queries therefore never read ``items.parquet``: ``assets.parquet`` holds one narrow row per
asset with typed times, whatever the keys. Rows are sorted by the Hilbert key of their
footprint's centre; ``items.parquet`` row groups hold about 64 MB of Arrow data (a few
thousand small items, or about a thousand items with 300 assets), ``search.parquet`` uses the
same groups, and row-group statistics on ``bbox``, times, ids and collections let searches
skip groups.
"""

from __future__ import annotations

from typing import Any, Final

import pyarrow as pa

from stacforge.media_types import PARQUET

ITEMS_FILE: Final = "items.parquet"
SEARCH_FILE: Final = "search.parquet"
ASSETS_FILE: Final = "assets.parquet"
LABELS_FILE: Final = "labels.parquet"
MANIFEST_FILE: Final = "manifest.json"

MEDIA_TYPE: Final = PARQUET
"""The media type of the asset that advertises an index (its ``items.parquet``)."""
MIRROR_ROLE: Final = "collection-mirror"
"""The role of that asset (the STAC ecosystem's name for a collection's items in one file)."""

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
        ("href_folder", pa.string()),
        ("href_name", pa.string()),
        ("type", pa.string()),
        ("roles", pa.list_(pa.string())),
        ("start", TIMESTAMP),
        ("end", TIMESTAMP),
    ]
)
"""The asset's href as the item gives it (relative hrefs are relative to the item) is
``href_folder + href_name``, split after its last ``/``: a row group's tens of thousands of
hrefs, all different, share a few hundred folders and file names, so both columns are
dictionary-encoded and read as dictionaries, and a search decodes whole hrefs only for the
assets it returns (reading the hrefs of a row group whole costs twenty times more)."""
ASSET_HREF_PARTS: Final = ("href_folder", "href_name")

LABELS_SCHEMA: Final = pa.schema(
    [
        ("row", pa.int64()),
        ("id", pa.string()),
        ("property_key", pa.string()),
        ("name", pa.string()),
        ("count", pa.int64()),
        ("value", pa.float64()),
        ("share", pa.float64()),
    ]
)
"""Sorted by class ``name``, then item ``row``, in row groups of a few thousand rows, so that
the ``name`` statistics of the row groups let a search read only the classes it names.
``share`` is the ``count`` over the total of the counts of the item's ``label:overviews``
entry with the same ``property_key`` (null where the count is null or that total is 0): a
search by share reads only the classes it names, not every class of the entry."""

STATISTICS_COLUMNS: Final = {
    SEARCH_FILE: ["id", "collection", *(f"bbox.{name}" for name in BBOX.names), "start", "end"],
    ASSETS_FILE: ["row", "key"],
    LABELS_FILE: ["name"],
}
"""Columns whose row-group min/max statistics searches use to skip row groups."""


def mirror_href(document: dict[str, Any]) -> str | None:
    """The href of the collection mirror a STAC object advertises (as written), if any: an
    asset of type :data:`MEDIA_TYPE` with the role :data:`MIRROR_ROLE`."""
    assets = document.get("assets")
    for asset in assets.values() if isinstance(assets, dict) else ():
        if (
            isinstance(asset, dict)
            and asset.get("type") == MEDIA_TYPE
            and MIRROR_ROLE in (asset.get("roles") or ())
            and isinstance(asset.get("href"), str)
        ):
            return str(asset["href"])
    return None
