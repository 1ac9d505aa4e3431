"""Writes an index directory (see :mod:`stacforge.index.layout`) from a stream of items.

The :class:`IndexWriter` joins the steps: item dicts are converted to Arrow about a hundred at
a time (:mod:`~stacforge.index.convert`) and sorted along a Hilbert curve of their footprint
centres in bounded memory (:mod:`~stacforge.index.runs`); :meth:`IndexWriter.close` streams
the sorted rows into the Parquet files, derives the search, asset and label tables
(:mod:`~stacforge.index.tables`) and gathers the manifest (:mod:`~stacforge.index.summary`).
Sorting along the curve makes each row group cover a compact area, so that its ``bbox``
statistics let a spatial search skip the rest.

Memory stays bounded however many items arrive: what :class:`~stacforge.index.runs.ExternalSort`
holds (``memory_limit``), one ``items.parquet`` row group (``row_group_bytes``; twice that
while rows of interleaved runs are gathered), up to :data:`_SIDE_ROW_GROUP` rows of each
derived table, and what the label rows' two sorts by class hold (a quarter of ``memory_limit``
each, see :mod:`~stacforge.index.label_order`). What grows with the number of items: their
sort keys (8 bytes an item, and 16 bytes a label row), and the
Parquet writer's footer, about 1 kB per column and row group until the file is closed (items
with 300 assets have 1,200 columns: about 1 MB per 1,100 such items with the default row
groups). Spilled runs are uncompressed Arrow files in the temporary output directory, as large
as the converted rows (about 60 kB an item with 300 assets).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from stacforge.catalog.io import atomic_directory, dumps
from stacforge.catalog.model import Item
from stacforge.errors import InputError, StacforgeError
from stacforge.index import convert, geoparquet, layout, tables
from stacforge.index.hilbert import hilbert_keys
from stacforge.index.label_order import LabelsByClass
from stacforge.index.manifest import Manifest
from stacforge.index.runs import ExternalSort, sort_keys
from stacforge.index.summary import Summary

_HELPERS: Final = (tables.HREF, tables.SOURCES)

MEMORY_LIMIT: Final = 64 << 20
"""Default bytes of converted rows held before a sorted run is spilled (see
:class:`IndexWriter`)."""
ROW_GROUP_BYTES: Final = 32 << 20
"""Default Arrow bytes of an ``items.parquet`` row group: what :meth:`IndexWriter.close` holds
a copy or two of at a time (a few hundred items with 300 assets)."""
_CONVERT_EVERY: Final = 128
"""Item dicts held before converting them to Arrow (a 300-asset item is ~0.2 MB as dicts)."""
_ROW_GROUP_ROWS: Final = (128, 65_536)
_SIDE_ROW_GROUP: Final = 65_536
"""Rows per row group of ``assets.parquet``, and per piece of the label rows."""
_RUNS_FOLDER: Final = ".runs"
_ITEM_STATISTICS: Final = (
    "id",
    "collection",
    "datetime",
    "start_datetime",
    "end_datetime",
    *(f"bbox.{name}" for name in layout.BBOX.names),
)


class IndexWriter:
    """Writes the index of a stream of items into ``directory``, atomically.

    Use it as a context manager: leaving the block normally calls :meth:`close`; an exception
    removes everything written so far and leaves ``directory`` as it was.

    Args:
        directory: The index directory to create (its files are listed in
            :mod:`stacforge.index.layout`).
        source: The catalog the items come from, recorded in the manifest.
        overwrite: Replace an existing ``directory`` (only once the new index is complete).
        memory_limit: Bytes of converted rows held before a sorted run is spilled to disk,
            and of run batches held while they are merged (see :mod:`stacforge.index.runs`).
        row_group_bytes: Target size of an ``items.parquet`` row group before compression
            (between 128 and 65,536 rows); smaller groups prune finer but make a larger footer,
            and :meth:`close` holds one or two of them at a time.
        on_invalid: Receives each item that cannot be indexed, as an :class:`InputError`, and
            the write goes on without it (a crawl of a messy catalog). Without it the first
            such item raises its error, from :meth:`add` or :meth:`close` (items are converted
            a batch at a time).

    Raises:
        StacforgeError: ``directory`` exists (and is not empty) without ``overwrite``.
    """

    def __init__(
        self,
        directory: Path,
        *,
        source: str | None = None,
        overwrite: bool = False,
        memory_limit: int = MEMORY_LIMIT,
        row_group_bytes: int = ROW_GROUP_BYTES,
        on_invalid: Callable[[InputError], None] | None = None,
    ) -> None:
        self._directory = Path(directory)
        self._source = source
        self._memory_limit = memory_limit
        self._row_group_bytes = row_group_bytes
        self._on_invalid = on_invalid
        self._rejected = 0
        self._output = atomic_directory(self._directory, overwrite=overwrite)
        self._tmp = self._output.__enter__()
        self._pending: list[Item] = []
        self._pending_hrefs: list[str | None] = []
        self._pending_sources: list[list[str]] = []
        self._sort = ExternalSort(self._tmp / _RUNS_FOLDER, memory_limit)
        """Its schema is the union of the schemas of every item converted so far (helper
        columns aside), the columns of items.parquet."""
        self._count = 0
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            if not self._closed:
                self.close()
        else:
            self.abort(exc)

    def add(self, item: Item, href: str | None = None) -> None:
        """Adds one item.

        Args:
            item: A STAC item dict; it is not modified.
            href: Where the item's JSON lives: a path relative to the index directory (such as
                ``../33N/16E-243N/<id>/<id>.json``), an absolute path or a URL. It becomes the
                item's ``self`` link, against which its relative links resolve.

        Raises:
            InputError: Without ``on_invalid``: this item, or one of its batch, cannot be
                indexed (no id or geometry, malformed fields, types that clash).
        """
        if self._closed:
            raise StacforgeError("index writer already closed")
        try:
            row, sources = convert.prepare(item, href)
        except InputError as error:
            self._reject([error])
            return
        self._pending.append(row)
        self._pending_hrefs.append(href)
        self._pending_sources.append(sources)
        self._count += 1
        if len(self._pending) >= _CONVERT_EVERY:
            self._convert()

    def add_rows(
        self, table: pa.Table, item_hrefs: list[str], *, collection: str | None, where: str
    ) -> None:
        """Adds items already in the stac-geoparquet layout, such as a row group of another
        index or of a collection mirror, without making dicts of them.

        They are checked as :meth:`add` checks items (see
        :func:`~stacforge.index.convert.prepare_rows`); rows that cannot be indexed are
        rejected one by one.

        Args:
            table: The rows.
            item_hrefs: Where each row's item lives (its ``self`` link, resolved).
            collection: The id of the collection they belong to, for rows without one.
            where: The file they come from, for errors.

        Raises:
            InputError: The rows as a whole cannot be indexed (see
                :func:`~stacforge.index.convert.prepare_rows`), or their types clash with
                those of earlier items; without ``on_invalid``, also a row that cannot be.
        """
        if self._closed:
            raise StacforgeError("index writer already closed")
        self._convert()  # the items before these keep their arrival numbers
        rows = convert.prepare_rows(table, item_hrefs, collection=collection, where=where)
        self._reject(rows.rejected)
        table = rows.table
        if not table.num_rows:
            return
        try:
            self._sort.schema = convert.unify(self._sort.schema, table.schema)
        except convert.CONVERSION_ERRORS as error:
            message = f"a field's type differs from earlier items ({error})"
            raise InputError(where, message) from None
        first = self._count
        self._count += table.num_rows
        self._append(table, list(range(first, self._count)), rows.item_hrefs, rows.sources)

    def close(self) -> Manifest:
        """Sorts and writes every file, then moves the directory into place.

        Returns:
            The manifest (also written as ``manifest.json``).
        """
        if self._closed:
            raise StacforgeError("index writer already closed")
        self._closed = True
        try:
            self._convert()
            manifest = self._write()
            shutil.rmtree(self._tmp / _RUNS_FOLDER, ignore_errors=True)
            # The whole directory appears at once, so its files need no atomic writes.
            (self._tmp / layout.MANIFEST_FILE).write_bytes(dumps(manifest.to_json()))
        except BaseException as error:
            self._output.__exit__(type(error), error, error.__traceback__)
            raise
        self._output.__exit__(None, None, None)
        return manifest

    def abort(self, error: BaseException | None = None) -> None:
        """Removes everything written so far; ``directory`` is left as it was."""
        if self._closed:
            return
        self._closed = True
        error = error or StacforgeError("index writer aborted")
        with contextlib.suppress(BaseException):
            self._output.__exit__(type(error), error, error.__traceback__)

    def _convert(self) -> None:
        """Converts the pending item dicts to Arrow and hands them to the sort; rejects the
        items that cannot be converted (see :func:`~stacforge.index.convert.convert`)."""
        if not self._pending:
            return
        rows, item_hrefs, sources = self._pending, self._pending_hrefs, self._pending_sources
        self._pending, self._pending_hrefs, self._pending_sources = [], [], []
        first = self._count - len(rows)
        done = convert.convert(rows, item_hrefs, self._sort.schema)
        self._sort.schema = done.schema
        if done.table is not None and done.table.num_rows:
            self._append(
                done.table,
                [first + i for i in done.kept],
                [item_hrefs[i] for i in done.kept],
                [sources[i] for i in done.kept],
            )
        self._reject(done.rejected)

    def _reject(self, errors: list[InputError]) -> None:
        """Hands rejected items to ``on_invalid``, or raises the first error."""
        self._rejected += len(errors)
        if self._on_invalid is None:
            if errors:
                raise errors[0]
            return
        for error in errors:
            self._on_invalid(error)

    def _append(
        self,
        table: pa.Table,
        seqs: list[int],
        item_hrefs: Sequence[str | None],
        sources: list[list[str]],
    ) -> None:
        """Adds converted rows, with the writer's own columns, to the sort by footprint."""
        bounds = tables.footprint_bounds(table["geometry"])
        centre = np.nan_to_num((bounds[:, :2] + bounds[:, 2:]) / 2)
        keys = sort_keys(hilbert_keys(centre[:, 0], centre[:, 1]), seqs)
        table = table.append_column(tables.HREF, pa.array(item_hrefs, pa.string())).append_column(
            tables.SOURCES, pa.array(sources, pa.list_(pa.string()))
        )
        self._sort.add(table, keys)

    def _write(self) -> Manifest:
        """Writes the four Parquet files from the merged rows; returns the manifest."""
        rows_per_chunk = _rows_per_group(self._row_group_bytes, self._sort.bytes, self._sort.rows)
        summary = Summary()
        tmp = self._tmp
        stac_schema = self._sort.schema or _EMPTY_ITEMS_SCHEMA
        # Parquet cannot store a struct without fields (``assets`` when every item has none);
        # stac-geoparquet leaves such columns out and its readers restore them.
        empty = [
            f.name for f in stac_schema if pa.types.is_struct(f.type) and not f.type.num_fields
        ]
        items_schema = pa.schema(f for f in stac_schema if f.name not in empty)
        items_schema = items_schema.with_metadata(geoparquet.parquet_metadata(items_schema))
        with contextlib.ExitStack() as stack:
            # No dictionary pages in items.parquet: its columns are mostly asset fields of a few
            # thousand values per row group, hrefs all different; for items with 300 assets,
            # plain and zstd make a fifth smaller file, a third faster to write and no slower
            # to read.
            items = stack.enter_context(
                pq.ParquetWriter(
                    tmp / layout.ITEMS_FILE,
                    items_schema,
                    compression="zstd",
                    use_dictionary=False,
                    write_page_checksum=True,
                    write_statistics=[
                        name for name in _ITEM_STATISTICS if _has_column(items_schema, name)
                    ],
                )
            )
            search, assets = (
                stack.enter_context(
                    pq.ParquetWriter(
                        tmp / name,
                        schema,
                        compression="zstd",
                        write_page_checksum=True,
                        write_statistics=layout.STATISTICS_COLUMNS[name],
                    )
                )
                for name, schema in (
                    (layout.SEARCH_FILE, layout.SEARCH_SCHEMA),
                    (layout.ASSETS_FILE, layout.ASSETS_SCHEMA),
                )
            )
            asset_groups = _RowGroups(assets)
            # Label rows are few next to the items (tens of bytes each): a quarter of the
            # memory limit keeps them in memory for most indexes.
            labels = LabelsByClass(tmp / _RUNS_FOLDER / "labels", self._memory_limit // 4)
            # items.parquet is written in a thread of its own (pyarrow lets go of the GIL while
            # it encodes) as the derived tables of the same rows are made here: the biggest file
            # and the Python-heavy tables then share two cores.
            items_thread = stack.enter_context(
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="stacforge-items")
            )
            first_row = 0
            for chunk in self._sort.sorted_chunks(rows_per_chunk):
                written = items_thread.submit(
                    items.write_table,
                    geoparquet.readable_geometries(chunk.drop_columns([*_HELPERS, *empty])),
                    chunk.num_rows,
                )
                rows = tables.search_table(chunk)
                search.write_table(rows)
                summary.add(rows)
                for part in tables.asset_tables(chunk, first_row, _SIDE_ROW_GROUP):
                    asset_groups.write(part)
                    summary.add_assets(part)
                for part in tables.label_tables(chunk, first_row, _SIDE_ROW_GROUP):
                    labels.add(part)
                    summary.add_labels(part)
                written.result()
                first_row += chunk.num_rows
                del chunk, rows  # before the next chunk is gathered, not after
            asset_groups.flush()
        labels.write(tmp / layout.LABELS_FILE)
        return summary.manifest(
            source=self._source, rows_per_group=rows_per_chunk, rejected=self._rejected
        )


_EMPTY_ITEMS_SCHEMA: Final = pa.schema(
    [
        ("type", pa.string()),
        ("stac_version", pa.string()),
        ("stac_extensions", pa.list_(pa.string())),
        ("id", pa.string()),
        ("geometry", pa.binary()),
        ("bbox", layout.BBOX),
        ("links", pa.list_(pa.struct([("rel", pa.string()), ("href", pa.string())]))),
        ("collection", pa.string()),
        ("datetime", layout.TIMESTAMP),
    ]
)
"""The items file of an index without items still has the stac-geoparquet core columns."""


def _rows_per_group(target_bytes: int, total_bytes: int, rows: int) -> int:
    low, high = _ROW_GROUP_ROWS
    if not rows:
        return low
    return int(min(high, max(low, target_bytes // max(1, total_bytes // rows))))


def _has_column(schema: pa.Schema, path: str) -> bool:
    name, _, child = path.partition(".")
    if name not in schema.names:
        return False
    return not child or child in schema.field(name).type.names


class _RowGroups:
    """Writes tables of any size to a Parquet file in row groups of :data:`_SIDE_ROW_GROUP`."""

    def __init__(self, writer: pq.ParquetWriter) -> None:
        self._writer = writer
        self._pending: list[pa.Table] = []
        self._rows = 0

    def write(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._rows += table.num_rows
        if self._rows >= _SIDE_ROW_GROUP:
            whole = pa.concat_tables(self._pending)
            full = whole.num_rows - whole.num_rows % _SIDE_ROW_GROUP
            self._writer.write_table(whole.slice(0, full), _SIDE_ROW_GROUP)
            rest = whole.slice(full)
            self._pending, self._rows = [rest], rest.num_rows

    def flush(self) -> None:
        """Writes the rows left over (a last, smaller row group)."""
        if self._rows:
            self._writer.write_table(pa.concat_tables(self._pending), _SIDE_ROW_GROUP)
        self._pending, self._rows = [], 0
