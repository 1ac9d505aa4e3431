"""An index directory opened for searching, and reading chosen rows of its Parquet files."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from stacforge import hrefs
from stacforge.errors import InputError
from stacforge.index import arrow_values, layout
from stacforge.index.manifest import read_manifest


class IndexDirectory:
    """One stacforge index directory on local disk, opened for searching.

    Files are opened on first use, so a search that needs only ``search.parquet`` never parses
    the (wide) footer of ``items.parquet``.

    Args:
        directory: The index directory.

    Raises:
        InputError: ``directory`` has no stacforge manifest or misses one of its files.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory).resolve()
        self.manifest = read_manifest(self.path)
        for name in (layout.ITEMS_FILE, layout.SEARCH_FILE, layout.ASSETS_FILE, layout.LABELS_FILE):
            if not (self.path / name).is_file():
                raise InputError(self.path, f"incomplete index: {name} is missing")
        self.base = hrefs.directory_base(self.path.as_posix())

    def __repr__(self) -> str:
        return f"IndexDirectory({str(self.path)!r})"

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
    def label_name_ranges(self) -> tuple[list[str | None], list[str | None]]:
        """The first and last class ``name`` of each row group of ``labels.parquet`` (sorted
        by class); None where unknown."""
        return row_group_statistics(self.labels, "name")

    @functools.cached_property
    def labelled_rows(self) -> NDArray[np.int64]:
        """The sorted rows of the items with labels (read from ``labels.parquet`` only when
        some items have none)."""
        if self.manifest.label_items == self.manifest.items:
            return np.arange(self.manifest.items, dtype=np.int64)
        if not self.manifest.label_rows:
            return np.array([], dtype=np.int64)
        import pyarrow.compute as pc  # here: a bbox search never imports Arrow's compute module

        rows = self.labels.read(columns=["row"])["row"]
        # Arrow's hash unique then a sort: a fifth of np.unique's time on 10^5 rows.
        return np.sort(arrow_values.to_numpy(pc.unique(rows))).astype(np.int64)

    @functools.cached_property
    def collections(self) -> frozenset[str]:
        """The ``collection`` ids of the items (from the manifest)."""
        return frozenset(self.manifest.collections)

    def search_columns(self, group: int, columns: list[str]) -> pa.Table:
        """Columns of one row group of ``search.parquet``, read on the calling thread: they
        are narrow, and starting Arrow's thread pool (and stopping it at exit) costs a cold
        command more than it saves (6-8 ms)."""
        return self.search.read_row_group(group, columns=columns, use_threads=False)

    def absolute(self, href: str) -> str:
        """An href stored in the index (relative to its directory) as an absolute one."""
        return hrefs.join(self.base, href)

    def _open(self, name: str, read_dictionary: Sequence[str] = ()) -> pq.ParquetFile:
        return open_parquet(self.path / name, read_dictionary=read_dictionary)


class VerifiedParquetFile(pq.ParquetFile):  # type: ignore[misc]  # pyarrow ships no types
    """A Parquet file whose pages are checked against their CRC32 checksums as they are read
    (stacforge writes them; a file without checksums reads as before), and whose damaged or
    unreadable data raises an :class:`InputError` naming the file, not a pyarrow error.

    Without the check, pyarrow decodes a damaged page of plain-encoded values without
    complaint, and damaged item properties would be searched and printed as if true.
    """

    def __init__(self, source: str | Path | IO[bytes], *, where: str, **options: Any) -> None:
        self.where = where
        super().__init__(source, page_checksum_verification=True, **options)

    def read_row_group(self, *args: Any, **kwargs: Any) -> pa.Table:
        with self._damage_named():
            return super().read_row_group(*args, **kwargs)

    def read_row_groups(self, *args: Any, **kwargs: Any) -> pa.Table:
        with self._damage_named():
            return super().read_row_groups(*args, **kwargs)

    def read(self, *args: Any, **kwargs: Any) -> pa.Table:
        with self._damage_named():
            return super().read(*args, **kwargs)

    def iter_batches(self, *args: Any, **kwargs: Any) -> Iterator[pa.RecordBatch]:
        with self._damage_named():
            yield from super().iter_batches(*args, **kwargs)

    @contextlib.contextmanager
    def _damage_named(self) -> Iterator[None]:
        try:
            yield
        except (OSError, pa.ArrowException) as error:
            raise InputError(self.where, f"damaged Parquet data ({error})") from None


def open_parquet(
    source: str | Path | IO[bytes], *, where: str | None = None, read_dictionary: Sequence[str] = ()
) -> VerifiedParquetFile:
    """Opens a Parquet file for reading with its page checksums verified.

    Args:
        source: A path, or a binary file object.
        where: What to name in errors (default: the path).
        read_dictionary: Columns to read as dictionaries.

    Raises:
        InputError: The file cannot be opened, or is not Parquet.
    """
    where = where or str(source)
    try:
        return VerifiedParquetFile(source, where=where, read_dictionary=read_dictionary or None)
    except (OSError, pa.ArrowException) as error:
        raise InputError(where, f"not a readable Parquet file ({error})") from None


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
    # Times as index files store them come from the raw integers: ``Statistics.min`` of a
    # time with a time zone asks pyarrow's pandas shim (see :mod:`.arrow_values`).
    micros = index is not None and _is_utc_micros(metadata.schema.column(index).logical_type)
    mins: list[Any] = []
    maxs: list[Any] = []
    for group in range(metadata.num_row_groups):
        stats = None if index is None else metadata.row_group(group).column(index).statistics
        if stats is not None and stats.has_min_max:
            mins.append(stats.min_raw if micros else stats.min)
            maxs.append(stats.max_raw if micros else stats.max)
        else:
            mins.append(None)
            maxs.append(None)
    if micros:
        return arrow_values.datetimes(mins), arrow_values.datetimes(maxs)
    return mins, maxs


def _is_utc_micros(logical_type: Any) -> bool:
    """Whether a Parquet logical type is a UTC timestamp in microseconds (``TIMESTAMP``)."""
    found = orjson.loads(logical_type.to_json())
    return bool(
        found.get("Type") == "Timestamp"
        and found.get("isAdjustedToUTC")
        and found.get("timeUnit") == "microseconds"
    )


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
    order, groups = _by_row_group(offsets, rows)
    parts = [
        parquet.read_row_group(group, columns=columns).take(arrow_values.from_numpy(local))
        for group, local in groups
    ]
    if not parts:
        if not parquet.metadata.num_row_groups:
            return parquet.schema_arrow.empty_table()
        return parquet.read_row_group(0, columns=columns).slice(0, 0)
    table = pa.concat_tables(parts)
    if order is None:
        return table
    return table.take(arrow_values.from_numpy(order))


def read_strings(
    parquet: pq.ParquetFile, offsets: NDArray[np.int64], rows: NDArray[np.int64], column: str
) -> pa.Array:
    """:func:`read_rows` of one string column, picked by
    :func:`~stacforge.index.arrow_values.take_binary` (a cold search for ids never imports
    ``pyarrow.compute``), read on the calling thread (see :meth:`IndexDirectory.search_columns`).
    """
    order, groups = _by_row_group(offsets, rows)
    parts = [
        arrow_values.take_binary(
            parquet.read_row_group(group, columns=[column], use_threads=False)[column], local
        )
        for group, local in groups
    ]
    if not parts:
        return pa.nulls(0, parquet.schema_arrow.field(column).type)
    found = pa.concat_arrays(parts)
    return found if order is None else arrow_values.take_binary(found, order)


def _by_row_group(
    offsets: NDArray[np.int64], rows: NDArray[np.int64]
) -> tuple[NDArray[np.intp] | None, list[tuple[int, NDArray[np.int64]]]]:
    """``rows`` (any order, no repeats) sorted and split by row group: how to put the sorted
    rows back in the order of ``rows`` (None when they are in order), and each row group's
    rows as numbers within it."""
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    groups = np.searchsorted(offsets, ordered, side="right") - 1
    found = [
        (int(group), ordered[groups == group] - offsets[group])
        for group in arrow_values.distinct(groups)
    ]
    if np.all(order[1:] > order[:-1]):
        return None, found
    return np.argsort(order, kind="stable"), found
