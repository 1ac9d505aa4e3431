"""Reading sidecar indexes: opening index directories, turning rows back into item dicts.

:func:`read_items` reads any stac-geoparquet file (a stacforge sidecar's ``items.parquet`` or
another tool's collection mirror); :class:`Sidecar` is one stacforge index directory with its
derived tables, as searches use it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from stacforge import hrefs
from stacforge.catalog.model import Item
from stacforge.errors import InputError
from stacforge.index import layout
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
    """Yields the items of a sidecar or of any stac-geoparquet file, as STAC item dicts.

    Rows are read one row group at a time, so memory stays bounded. Each item's ``self`` link
    (which a stacforge sidecar stores relative to its directory) is made absolute.

    Args:
        source: An index directory, a stac-geoparquet file path, an ``http(s)`` URL of one, or
            an open binary file (e.g. a downloaded body in :class:`io.BytesIO`).
        base: The URL or path of the Parquet file, against which ``self`` hrefs resolve
            (needed for an open file; a path defaults to itself, a URL to itself).

    Raises:
        InputError: ``source`` is not a readable stac-geoparquet file.
    """
    if isinstance(source, str) and hrefs.is_url(source):
        with _downloaded(source) as local:
            yield from read_items(local, base=source)
        return
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            path = path / layout.ITEMS_FILE
        base = base or path.resolve().as_posix()
        source = str(path)
    where = base or "<stream>"
    try:
        parquet = pq.ParquetFile(source)
    except (OSError, pa.ArrowException) as error:
        raise InputError(where, f"not a readable Parquet file ({error})") from None
    for group in range(parquet.metadata.num_row_groups):
        yield from item_dicts(parquet.read_row_group(group), base)


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


@contextlib.contextmanager
def _downloaded(url: str) -> Iterator[Path]:
    """A temporary local copy of the file at ``url``."""
    with tempfile.TemporaryDirectory(prefix="stacforge-mirror-") as folder:
        path = Path(folder) / layout.ITEMS_FILE
        try:
            with urllib.request.urlopen(url) as response, path.open("wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        except OSError as error:
            raise InputError(url, f"cannot download ({error})") from None
        yield path


class Sidecar:
    """One stacforge index directory on local disk, opened for searching.

    Files are opened on first use, so a search that needs only ``search.parquet`` never parses
    the (wide) footer of ``items.parquet``.

    Args:
        directory: The index directory.

    Raises:
        InputError: ``directory`` has no stacforge manifest or misses one of its files.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).resolve()
        manifest_path = self.directory / layout.MANIFEST_FILE
        try:
            self.manifest: dict[str, Any] = orjson.loads(manifest_path.read_bytes())
        except FileNotFoundError:
            raise InputError(
                self.directory, f"not a stacforge index (no {layout.MANIFEST_FILE})"
            ) from None
        except orjson.JSONDecodeError as error:
            raise InputError(manifest_path, f"invalid JSON ({error})") from None
        written = self.manifest.get("format", 1)
        if written != layout.FORMAT:
            raise InputError(
                self.directory,
                f"index format {written}, this stacforge reads format {layout.FORMAT}: "
                "write the index again with `stacforge index`",
            )
        for name in (layout.ITEMS_FILE, layout.SEARCH_FILE, layout.ASSETS_FILE, layout.LABELS_FILE):
            if not (self.directory / name).is_file():
                raise InputError(self.directory, f"incomplete index: {name} is missing")
        self.base = hrefs.directory_base(self.directory.as_posix())

    def __repr__(self) -> str:
        return f"Sidecar({str(self.directory)!r})"

    @functools.cached_property
    def items(self) -> pq.ParquetFile:
        return self._open(layout.ITEMS_FILE)

    @functools.cached_property
    def search(self) -> pq.ParquetFile:
        return self._open(layout.SEARCH_FILE)

    @functools.cached_property
    def assets(self) -> pq.ParquetFile:
        """``assets.parquet``, its keys and split hrefs read as dictionaries."""
        return self._open(layout.ASSETS_FILE, read_dictionary=("key", *layout.ASSET_HREF_PARTS))

    @functools.cached_property
    def labels(self) -> pq.ParquetFile:
        """``labels.parquet``, its class names read as a dictionary (a few dozen values)."""
        return self._open(layout.LABELS_FILE, read_dictionary=("name",))

    @functools.cached_property
    def search_offsets(self) -> NDArray[np.int64]:
        """:func:`row_offsets` of ``search.parquet``."""
        return row_offsets(self.search)

    @functools.cached_property
    def items_offsets(self) -> NDArray[np.int64]:
        """:func:`row_offsets` of ``items.parquet``."""
        return row_offsets(self.items)

    @functools.cached_property
    def search_statistics(self) -> dict[str, tuple[list[Any], list[Any]]]:
        """Row-group min/max of the ``search.parquet`` columns written with statistics."""
        return {
            column: row_group_statistics(self.search, column)
            for column in layout.STATISTICS_COLUMNS[layout.SEARCH_FILE]
        }

    @functools.cached_property
    def asset_row_ranges(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The first and last item row of each row group of ``assets.parquet``."""
        first, last = row_group_statistics(self.assets, "row")
        return np.array(first, dtype=np.int64), np.array(last, dtype=np.int64)

    @functools.cached_property
    def collections(self) -> frozenset[str]:
        """The ``collection`` ids of the items (from the manifest)."""
        return frozenset(self.manifest.get("collections", {}))

    def absolute(self, href: str) -> str:
        """An href stored in the index (relative to its directory) as an absolute one."""
        return hrefs.join(self.base, href)

    def _open(self, name: str, read_dictionary: Sequence[str] = ()) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(self.directory / name, read_dictionary=read_dictionary or None)
        except (OSError, pa.ArrowException) as error:
            raise InputError(
                self.directory / name, f"not a readable Parquet file ({error})"
            ) from None


def row_offsets(parquet: pq.ParquetFile) -> NDArray[np.int64]:
    """The row number of the first row of each row group, and the total row count last."""
    metadata = parquet.metadata
    sizes = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)


def row_group_statistics(parquet: pq.ParquetFile, column: str) -> tuple[list[Any], list[Any]]:
    """Min and max of ``column`` (a dotted path) per row group; None where unknown."""
    metadata = parquet.metadata
    index = next(
        (i for i in range(metadata.num_columns) if metadata.schema.column(i).path == column),
        None,
    )
    mins: list[Any] = []
    maxs: list[Any] = []
    for group in range(metadata.num_row_groups):
        stats = None if index is None else metadata.row_group(group).column(index).statistics
        if stats is not None and stats.has_min_max:
            mins.append(stats.min)
            maxs.append(stats.max)
        else:
            mins.append(None)
            maxs.append(None)
    return mins, maxs


def read_rows(
    parquet: pq.ParquetFile,
    offsets: NDArray[np.int64],
    rows: NDArray[np.int64],
    columns: list[str] | None = None,
) -> pa.Table:
    """The given rows (any order, no repeats) of a Parquet file, in that order.

    Only the row groups holding them are read.

    Args:
        parquet: The file.
        offsets: Its :func:`row_offsets`.
        rows: Row numbers.
        columns: Columns to read (dotted paths select struct fields); None reads all.
    """
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    groups = np.searchsorted(offsets, ordered, side="right") - 1
    parts = []
    for group in np.unique(groups):
        local = ordered[groups == group] - offsets[group]
        parts.append(parquet.read_row_group(int(group), columns=columns).take(local))
    if not parts:
        if not parquet.metadata.num_row_groups:
            return parquet.schema_arrow.empty_table()
        return parquet.read_row_group(0, columns=columns).slice(0, 0)
    table = pa.concat_tables(parts)
    if np.all(order[1:] > order[:-1]):
        return table
    return table.take(np.argsort(order, kind="stable"))
