"""Reading items back: stac-geoparquet rows into STAC item dicts.

:func:`read_items` reads any stac-geoparquet file on local disk or in memory (an index's
``items.parquet``, or another tool's collection mirror); :func:`item_dicts` converts rows a
search has picked. Fetching a remote file is the crawler's job (its HTTP client has the
timeouts, retries, size cap and cache): it hands the body over as bytes.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from stacforge import hrefs
from stacforge.catalog.model import Item
from stacforge.errors import InputError
from stacforge.index import layout
from stacforge.index.directory import open_parquet
from stacforge.index.rows import batch_items

_ALWAYS_KEPT = frozenset({"datetime"})
"""Properties kept even when null: STAC requires ``datetime`` (null with a time range)."""
_BATCH_ROWS = 256
"""Rows converted to dicts at a time (a 300-asset item is ~0.2 MB of dicts)."""
_TIMESTAMPS = ("datetime", "start_datetime", "end_datetime", "created", "updated")
"""Properties stac-geoparquet stores as timestamps and formats with microseconds."""


def read_items(
    source: str | os.PathLike[str] | IO[bytes], *, base: str | None = None
) -> Iterator[Item]:
    """Yields the items of an index or of any stac-geoparquet file, as STAC item dicts.

    Rows are read one row group at a time, so memory stays bounded. Each item's ``self`` link
    (which a stacforge index stores relative to its directory) is made absolute.

    Args:
        source: An index directory, a local stac-geoparquet file, or an open binary file (e.g.
            a body the crawler fetched, in :class:`io.BytesIO`).
        base: The URL or path of the Parquet file, against which ``self`` hrefs resolve
            (needed for an open file; a path defaults to itself).

    Raises:
        InputError: ``source`` is a URL (crawl it, or download it first), or not a readable
            stac-geoparquet file.
    """
    if isinstance(source, str) and hrefs.is_url(source):
        raise InputError(source, "remote file: crawl it (`stacforge crawl`) or download it first")
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            path = path / layout.ITEMS_FILE
        base = base or path.resolve().as_posix()
        source = str(path)
    for table in row_batches(source, where=base or "<stream>"):
        yield from item_dicts(table, base)


def row_batches(source: str | IO[bytes], *, where: str) -> Iterator[pa.Table]:
    """The rows of a Parquet file, :data:`_BATCH_ROWS` at a time, their page checksums
    verified.

    Batches, not row groups: a row group of items with hundreds of assets is tens of megabytes
    in Arrow, and whoever reads it makes a copy or two of what it is handed.

    Raises:
        InputError: The file is not a readable Parquet file, or a page fails its checksum
            (the batches before it were whole).
    """
    parquet = open_parquet(source, where=where)
    for batch in parquet.iter_batches(batch_size=_BATCH_ROWS):
        yield pa.Table.from_batches([batch])


def item_dicts(table: pa.Table, base: str | None) -> Iterator[Item]:
    """Turns stac-geoparquet rows back into STAC item dicts.

    The union schema of a Parquet file gives every row every column, so fields an item never
    had come back as nulls; they are dropped (see :func:`_without_nulls`). ``self`` hrefs are
    resolved against ``base``, the location of the Parquet file.
    """
    for batch in table.to_batches(max_chunksize=_BATCH_ROWS):
        with gc_paused():
            items = [_without_nulls(item) for item in batch_items(batch)]
            if base is not None:
                for item in items:
                    for link in item["links"]:
                        if link.get("rel") == "self":
                            link["href"] = hrefs.join(base, link["href"])
        yield from items


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector.

    Building a batch of items creates hundreds of thousands of small objects, none in a cycle,
    which would trigger many full collections: half the time of the dicts, most of pystac's.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _without_nulls(item: dict[str, Any]) -> Item:
    """Drops the null fields that only the table's union schema put there.

    A null property is kept when STAC requires it (``datetime``) or when another property of
    the same extension prefix is set (``label:properties`` is null on raster label items); nulls
    inside assets and links are dropped.
    """
    properties = item.get("properties") or {}
    prefixes = {
        name.partition(":")[0]
        for name, value in properties.items()
        if value is not None and ":" in name
    }
    item["properties"] = {
        name: value
        for name, value in properties.items()
        if value is not None
        or name in _ALWAYS_KEPT
        or (":" in name and name.partition(":")[0] in prefixes)
    }
    for name in _TIMESTAMPS:
        value = item["properties"].get(name)
        if isinstance(value, str) and value.endswith(".000000Z"):
            item["properties"][name] = value[: -len(".000000Z")] + "Z"
    item["links"] = [_compact(link) for link in item.get("links") or ()]
    item["assets"] = {
        key: _compact(asset)
        for key, asset in (item.get("assets") or {}).items()
        if asset is not None
    }
    if item.get("collection") is None:
        item.pop("collection", None)
    item.setdefault("type", "Feature")
    if item.get("stac_extensions") is None:
        item["stac_extensions"] = []
    return item


def _compact(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in obj.items() if value is not None}
