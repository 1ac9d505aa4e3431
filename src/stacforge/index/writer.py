"""Streams items into a sidecar index directory (see :mod:`stacforge.index.layout`).

Item dicts are converted to Arrow (with stac-geoparquet's batch conversion) about a hundred at
a time; converted rows pile up to ``memory_limit``, are sorted by their Hilbert key and spilled
as a sorted run; :meth:`IndexWriter.close` merges the runs, streaming, into the final files.
Rows are sorted along a Hilbert curve of their footprint centres so that each row group covers
a compact area and its ``bbox`` statistics let a spatial search skip the rest.

Memory stays bounded however many items arrive:

- while adding, up to ``memory_limit`` of converted rows (twice that while a run is sorted);
- in :meth:`IndexWriter.close`, up to ``memory_limit`` of run batches (runs are read one batch
  of :data:`_RUN_BATCH_BYTES` at a time, so ``memory_limit / _RUN_BATCH_BYTES`` runs, at least
  two, are merged at once; more runs are first merged in groups), one ``items.parquet`` row
  group (``row_group_bytes``; twice that while rows of interleaved runs are gathered), and up
  to :data:`_SIDE_ROW_GROUP` rows of each derived table.

What grows with the number of items: their sort keys (8 bytes an item), and the Parquet writer's
footer, about 1 kB per column and row group until the file is closed (items with 300 assets
have 1,200 columns: about 1 MB per 1,100 such items with the default row groups). Spilled runs
are uncompressed Arrow files in the temporary output directory, as large as the converted rows
(about 60 kB an item with 300 assets)."""

from __future__ import annotations

import contextlib
import itertools
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, NamedTuple, Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import shapely
import shapely.geometry
from numpy.typing import NDArray
from stac_geoparquet.arrow import DEFAULT_PARQUET_SCHEMA_VERSION

# stac-geoparquet's public conversion deep-copies every item dict first, which costs five times
# the conversion itself for items with hundreds of assets; the writer already works on copies,
# so it converts geometries to WKB itself and hands the rows to the same batch class.
from stac_geoparquet.arrow._batch import StacJsonBatch

# Its to_parquet holds two row groups at once (the one it writes and the next, which the writer
# computes meanwhile); the writer writes items.parquet itself, with the same file metadata.
from stac_geoparquet.arrow._to_parquet import create_parquet_metadata

from stacforge import hrefs
from stacforge._version import __version__
from stacforge.catalog.io import atomic_directory, dumps
from stacforge.catalog.model import Item
from stacforge.errors import InputError, StacforgeError
from stacforge.index import layout, tables
from stacforge.index.hilbert import ORDER, hilbert_keys
from stacforge.time import build_time, format_timestamp

_HELPERS: Final = (tables.HREF, tables.SOURCES)

_CONVERT_EVERY: Final = 128
"""Item dicts held before converting them to Arrow (a 300-asset item is ~0.2 MB as dicts)."""
_ROW_GROUP_ROWS: Final = (128, 65_536)
_SIDE_ROW_GROUP: Final = 65_536
"""Rows per row group of ``assets.parquet`` and ``labels.parquet``."""
_CONVERSION_ERRORS: Final = (pa.ArrowException, ValueError, TypeError, KeyError)
"""What stac-geoparquet's conversion and schema unification raise on bad or clashing items."""
_RUN_BATCH_BYTES: Final = 4 << 20
"""Size of a record batch of a spilled run: what a merge holds per run. Reading or writing a
batch costs a few milliseconds for a table with a thousand columns, however few its rows."""
_MAX_SLICES: Final = 16
"""Rows that fall into at most this many stretches of consecutive rows are gathered as zero-copy
slices; more scattered rows are copied with one ``take`` (which costs about 10 ms a call on a
table with a thousand columns, however few its rows)."""
_MAX_ASSET_KEYS: Final = 10_000
"""Asset keys the manifest summarises at most (keys made of item ids would grow it without
bound)."""
_ROLE_SEPARATOR: Final = "\x1f"
_SEQ_BITS: Final = 32
"""A sort key is the Hilbert key (``2 * ORDER`` = 32 bits) above the item's arrival number."""
_SEQ_MASK: Final = np.uint64((1 << _SEQ_BITS) - 1)
_ITEM_STATISTICS: Final = (
    "id",
    "collection",
    "datetime",
    "start_datetime",
    "end_datetime",
    *(f"bbox.{name}" for name in layout.BBOX.names),
)


class IndexWriter:
    """Writes the sidecar index of a stream of items into ``directory``, atomically.

    Use it as a context manager: leaving the block normally calls :meth:`close`; an exception
    removes everything written so far and leaves ``directory`` as it was.

    Args:
        directory: The index directory to create (its files are listed in
            :mod:`stacforge.index.layout`).
        source: The catalog the items come from, recorded in the manifest.
        overwrite: Replace an existing ``directory`` (only once the new index is complete).
        memory_limit: Bytes of converted rows held before a sorted run is spilled to disk,
            and of run batches held while they are merged (see the module notes).
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
        memory_limit: int = 128 << 20,
        row_group_bytes: int = 64 << 20,
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
        self._converted: list[pa.Table] = []
        self._converted_keys: list[NDArray[np.uint64]] = []
        self._converted_bytes = 0
        self._runs: list[_Run] = []
        self._spilled = 0
        self._schema: pa.Schema | None = None
        """The union of the schemas of every converted row so far (helper columns aside)."""
        self._count = 0
        self._rows = 0
        self._row_bytes = 0
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
            row, sources = _prepared(item, href)
        except InputError as error:
            self._reject([error])
            return
        self._pending.append(row)
        self._pending_hrefs.append(href)
        self._pending_sources.append(sources)
        self._count += 1
        if len(self._pending) >= _CONVERT_EVERY:
            self._convert()

    def close(self) -> dict[str, Any]:
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
            shutil.rmtree(self._tmp / ".runs", ignore_errors=True)
            # The whole directory appears at once, so its files need no atomic writes.
            (self._tmp / layout.MANIFEST_FILE).write_bytes(dumps(manifest))
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
        """Converts the pending item dicts to Arrow (and spills when over budget).

        An item stac-geoparquet cannot convert, whose field types clash with those of earlier
        items, or whose assets have malformed times is rejected (see :meth:`_reject`); the
        rest of its batch is kept.
        """
        if not self._pending:
            return
        rows, item_hrefs, sources = self._pending, self._pending_hrefs, self._pending_sources
        self._pending, self._pending_hrefs, self._pending_sources = [], [], []
        first = self._count - len(rows)
        seqs = list(range(first, first + len(rows)))
        kept = list(range(len(rows)))
        rejected: list[InputError] = []
        table: pa.Table | None
        try:
            whole = _stac_arrow(rows)
            self._schema = _unify(self._schema, whole.schema)
            table = whole
        except _CONVERSION_ERRORS:
            table, kept, rejected = self._item_by_item(rows, item_hrefs)
        if table is not None and (bad := tables.asset_time_errors(table)):
            rejected += [
                InputError(
                    item_hrefs[kept[i]] or "<item>", message, record=f"item {rows[kept[i]]['id']}"
                )
                for i, message in sorted(bad.items())
            ]
            table = table.filter(pa.array([i not in bad for i in range(table.num_rows)]))
            kept = [k for i, k in enumerate(kept) if i not in bad]
        if table is not None and table.num_rows:
            self._append(
                table,
                [seqs[i] for i in kept],
                [item_hrefs[i] for i in kept],
                [sources[i] for i in kept],
            )
        self._reject(rejected)

    def _reject(self, errors: list[InputError]) -> None:
        """Hands rejected items to ``on_invalid``, or raises the first error."""
        self._rejected += len(errors)
        if self._on_invalid is None:
            if errors:
                raise errors[0]
            return
        for error in errors:
            self._on_invalid(error)

    def _item_by_item(
        self, rows: list[Item], item_hrefs: list[str | None]
    ) -> tuple[pa.Table | None, list[int], list[InputError]]:
        """Converts a batch that failed as a whole one item at a time.

        Returns:
            The converted items (None if none), their positions in ``rows``, and the errors of
            the others.
        """
        converted: list[pa.Table] = []
        kept: list[int] = []
        rejected: list[InputError] = []
        for i, (row, href) in enumerate(zip(rows, item_hrefs, strict=True)):
            where, record = href or "<item>", f"item {row['id']}"
            try:
                table = _stac_arrow([row])
            except _CONVERSION_ERRORS as error:
                rejected.append(InputError(where, f"cannot index item: {error}", record=record))
                continue
            try:
                self._schema = _unify(self._schema, table.schema)
            except _CONVERSION_ERRORS as error:
                message = f"a field's type differs from earlier items ({error})"
                rejected.append(InputError(where, message, record=record))
                continue
            converted.append(table)
            kept.append(i)
        if not converted:
            return None, kept, rejected
        return pa.concat_tables(converted, promote_options="permissive"), kept, rejected

    def _append(
        self,
        table: pa.Table,
        seqs: list[int],
        item_hrefs: list[str | None],
        sources: list[list[str]],
    ) -> None:
        """Adds converted rows with their sort keys and the writer's own columns."""
        bounds = tables.footprint_bounds(table["geometry"])
        centre = np.nan_to_num((bounds[:, :2] + bounds[:, 2:]) / 2)
        keys = hilbert_keys(centre[:, 0], centre[:, 1]) << np.uint64(_SEQ_BITS)
        keys |= np.asarray(seqs, dtype=np.uint64)
        table = table.append_column(tables.HREF, pa.array(item_hrefs, pa.string())).append_column(
            tables.SOURCES, pa.array(sources, pa.list_(pa.string()))
        )
        self._converted.append(table)
        self._converted_keys.append(keys)
        self._converted_bytes += table.nbytes
        self._rows += table.num_rows
        self._row_bytes += table.nbytes
        if self._converted_bytes >= self._memory_limit:
            self._spill()

    def _sorted_converted(self) -> tuple[pa.Table, NDArray[np.uint64]]:
        """The converted rows (given up by the writer) sorted, and their sorted keys."""
        keys = np.concatenate(self._converted_keys)
        self._converted_keys, self._converted_bytes = [], 0
        order = np.argsort(keys)  # keys are unique (they end in the arrival number)
        return self._gathered(self._converted, order), keys[order]

    def _spill(self) -> None:
        """Writes the converted rows, sorted, as one run on disk."""
        run, keys = self._sorted_converted()
        self._runs.append(self._run([run], keys))

    def _run(self, sorted_rows: Iterable[pa.Table], keys: NDArray[np.uint64]) -> _Run:
        """Writes sorted rows as a run, in batches of :data:`_RUN_BATCH_BYTES`.

        Runs are uncompressed Arrow IPC files: compressing the many small buffers of a wide
        table costs more than writing their bytes.
        """
        folder = self._tmp / ".runs"
        folder.mkdir(exist_ok=True)
        path = folder / f"{self._spilled:05d}.arrow"
        self._spilled += 1
        rows = iter(sorted_rows)
        table = next(rows)
        batch_rows = max(1, _RUN_BATCH_BYTES * self._rows // max(1, self._row_bytes))
        with (
            pa.OSFile(str(path), "wb") as raw,
            pa.BufferedOutputStream(raw, buffer_size=1 << 20) as sink,
            ipc.new_file(sink, table.schema) as out,
        ):
            out.write_table(table, max_chunksize=batch_rows)
            del table  # each table goes before the next is made
            for table in rows:
                out.write_table(table, max_chunksize=batch_rows)
                del table
        return _Run(path, keys, int((keys & _SEQ_MASK).min()))

    def _sorted_chunks(self, rows_per_chunk: int) -> Iterator[pa.Table]:
        """All rows in final order, ``rows_per_chunk`` at a time."""
        if not self._runs:
            if self._converted:
                table, _ = self._sorted_converted()
                for start in range(0, table.num_rows, rows_per_chunk):
                    yield table.slice(start, rows_per_chunk)
            return
        if self._converted:
            self._spill()
        fan_in = max(2, self._memory_limit // _RUN_BATCH_BYTES)
        while len(self._runs) > fan_in:
            # Merge the adjacent runs with the fewest rows down to what one merge can take
            # (adjacent, so that each run still holds one stretch of arrival numbers).
            width = min(fan_in, len(self._runs) - fan_in + 1)
            sizes = np.cumsum([0, *(len(run.keys) for run in self._runs)])
            at = int(np.argmin(sizes[width:] - sizes[:-width]))
            group = self._runs[at : at + width]
            keys = np.sort(np.concatenate([run.keys for run in group]))
            run = self._run(self._merged(group, rows_per_chunk), keys)
            for done in group:
                done.path.unlink()
            self._runs[at : at + width] = [run]
        yield from self._merged(self._runs, rows_per_chunk)

    def _merged(self, runs: list[_Run], rows_per_chunk: int) -> Iterator[pa.Table]:
        """The rows of ``runs`` in order, ``rows_per_chunk`` at a time (a k-way merge)."""
        keys = np.sort(np.concatenate([run.keys for run in runs]))
        firsts = np.array([run.first_seq for run in runs], dtype=np.uint64)
        readers = [_RunReader(run.path) for run in runs]
        try:
            for start in range(0, len(keys), rows_per_chunk):
                seqs = keys[start : start + rows_per_chunk] & _SEQ_MASK
                source = np.searchsorted(firsts, seqs, side="right") - 1
                counts = np.bincount(source, minlength=len(runs))
                parts = [readers[r].take(int(n)) for r, n in enumerate(counts) if n]
                # The rows come run after run; row i of the chunk is row order[i] of those.
                order = np.empty(len(source), dtype=np.int64)
                order[np.argsort(source, kind="stable")] = np.arange(len(source))
                yield self._gathered(parts, order)
        finally:
            for reader in readers:
                reader.close()

    def _gathered(self, parts: list[pa.Table], order: NDArray[np.int64]) -> pa.Table:
        """Rows ``order`` of the tables ``parts`` end to end, with every column seen so far.

        Takes ``parts`` over (the list is emptied) so that the rows are held at most twice.
        Rows that arrived nearly in order are a few stretches of consecutive rows: those are
        gathered as zero-copy slices instead of a copy.
        """
        table = _concat(parts, self._schema)
        parts.clear()
        breaks = np.flatnonzero(np.diff(order) != 1) + 1
        if len(breaks) < _MAX_SLICES:
            bounds = [0, *breaks.tolist(), len(order)]
            return pa.concat_tables(
                [table.slice(int(order[a]), b - a) for a, b in itertools.pairwise(bounds)]
            )
        # A take on a table of many chunks combines them first anyway; doing it here lets the
        # chunks go before the take copies the rows again.
        table = table.combine_chunks()
        return table.take(order)

    def _write(self) -> dict[str, Any]:
        """Writes the four Parquet files from the merged rows; returns the manifest."""
        rows_per_chunk = _rows_per_group(self._row_group_bytes, self._row_bytes, self._rows)
        summary = _Summary()
        tmp = self._tmp
        stac_schema = self._schema or _EMPTY_ITEMS_SCHEMA
        # Parquet cannot store a struct without fields (``assets`` when every item has none);
        # stac-geoparquet leaves such columns out and its readers restore them.
        empty = [
            f.name for f in stac_schema if pa.types.is_struct(f.type) and not f.type.num_fields
        ]
        items_schema = pa.schema(f for f in stac_schema if f.name not in empty)
        items_schema = items_schema.with_metadata(
            create_parquet_metadata(items_schema, schema_version=DEFAULT_PARQUET_SCHEMA_VERSION)
        )
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
                    write_statistics=[
                        name for name in _ITEM_STATISTICS if _has_column(items_schema, name)
                    ],
                )
            )
            search, assets, labels = (
                stack.enter_context(
                    pq.ParquetWriter(
                        tmp / name,
                        schema,
                        compression="zstd",
                        write_statistics=layout.STATISTICS_COLUMNS[name],
                    )
                )
                for name, schema in (
                    (layout.SEARCH_FILE, layout.SEARCH_SCHEMA),
                    (layout.ASSETS_FILE, layout.ASSETS_SCHEMA),
                    (layout.LABELS_FILE, layout.LABELS_SCHEMA),
                )
            )
            asset_groups, label_groups = _RowGroups(assets), _RowGroups(labels)
            first_row = 0
            for chunk in self._sorted_chunks(rows_per_chunk):
                rows = tables.search_table(chunk)
                search.write_table(rows)
                summary.add(rows)
                for part in tables.asset_tables(chunk, first_row, _SIDE_ROW_GROUP):
                    asset_groups.write(part)
                    summary.add_assets(part)
                for part in tables.label_tables(chunk, first_row, _SIDE_ROW_GROUP):
                    label_groups.write(part)
                    summary.add_labels(part)
                items.write_table(chunk.drop_columns([*_HELPERS, *empty]), chunk.num_rows)
                first_row += chunk.num_rows
                del chunk, rows  # before the next chunk is gathered, not after
            asset_groups.flush()
            label_groups.flush()
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


class _Summary:
    """Counts and extents gathered while the final rows stream past."""

    def __init__(self) -> None:
        self.items = 0
        self.assets = 0
        self.asset_keys: dict[str, dict[str, Any]] | None = {}
        self.label_rows = 0
        self.collections: dict[str, dict[str, Any]] = {}
        self.overall: dict[str, Any] = {"items": 0}
        self.classes: dict[str, int] = {}

    def add(self, search: pa.Table) -> None:
        self.items += search.num_rows
        _fold(self.overall, search)
        for collection in pc.unique(search["collection"]).to_pylist():
            if collection is not None:
                rows = search.filter(pc.equal(search["collection"], collection))
                _fold(self.collections.setdefault(collection, {"items": 0}), rows)

    def add_assets(self, assets: pa.Table) -> None:
        """Counts asset rows, and folds them into the per-key summary (see :func:`_asset_keys`)."""
        self.assets += assets.num_rows
        if self.asset_keys is None:
            return
        # Null roles filter like no roles; both join to "".
        roles = pc.fill_null(pc.binary_join(assets["roles"], _ROLE_SEPARATOR), "")
        per_key = (
            assets.select(["key", "start", "end"])
            .append_column("roles", roles)
            .group_by("key")
            .aggregate(
                [
                    ("key", "count"),
                    ("start", "count"),
                    ("end", "count"),
                    ("start", "min_max"),
                    ("end", "min_max"),
                    ("roles", "distinct"),
                ]
            )
        )
        for row in per_key.to_pylist():
            known = self.asset_keys.setdefault(
                row["key"],
                {
                    "assets": 0,
                    "timed": 0,
                    "start": [None, None],
                    "end": [None, None],
                    "roles": set(),
                },
            )
            known["assets"] += row["key_count"]
            known["timed"] += min(row["start_count"], row["end_count"])
            for name in ("start", "end"):
                for i, (bound, pick) in enumerate((("min", min), ("max", max))):
                    value = row[f"{name}_min_max"][bound]
                    if value is not None:
                        held = known[name][i]
                        known[name][i] = value if held is None else pick(held, value)
            known["roles"].update(row["roles_distinct"])
        if len(self.asset_keys) > _MAX_ASSET_KEYS:
            self.asset_keys = None

    def add_labels(self, labels: pa.Table) -> None:
        """Counts label rows, and items per class (each item's rows come in one table)."""
        self.label_rows += labels.num_rows
        per_class = labels.group_by("name").aggregate([("row", "count_distinct")])
        for name, n in zip(
            per_class["name"].to_pylist(), per_class["row_count_distinct"].to_pylist(), strict=True
        ):
            self.classes[name] = self.classes.get(name, 0) + n

    def manifest(self, *, source: str | None, rows_per_group: int, rejected: int) -> dict[str, Any]:
        return {
            "format": layout.FORMAT,
            "stacforge_version": __version__,
            "created": _format(build_time()),
            "source": source,
            "files": {
                "items": layout.ITEMS_FILE,
                "search": layout.SEARCH_FILE,
                "assets": layout.ASSETS_FILE,
                "labels": layout.LABELS_FILE,
            },
            "order": {
                "curve": "hilbert",
                "bits_per_axis": ORDER,
                "of": "centre of each item's footprint bounds (longitude, latitude)",
                "items_per_row_group": rows_per_group,
            },
            "items": self.items,
            "rejected_items": rejected,
            "assets": self.assets,
            "asset_keys": _asset_keys(self.asset_keys),
            "label_rows": self.label_rows,
            "extent": _extent(self.overall),
            "collections": {
                cid: {"items": stats["items"], "extent": _extent(stats)}
                for cid, stats in sorted(self.collections.items())
            },
            "label_classes": dict(sorted(self.classes.items())),
        }


def _asset_keys(keys: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any] | None:
    """The manifest's ``asset_keys``: for each asset key, how many assets have it, how many of
    those have a time, the range of their starts and of their ends, and their roles when every
    asset of the key has the same (else null). A search decides asset filters key by key when
    these allow. Null when the items have more than :data:`_MAX_ASSET_KEYS` keys."""
    if keys is None:
        return None
    summary = {}
    for key, known in sorted(keys.items()):
        roles = None
        if len(known["roles"]) == 1:
            (joined,) = known["roles"]
            roles = joined.split(_ROLE_SEPARATOR) if joined else []
        summary[key] = {
            "assets": known["assets"],
            "timed": known["timed"],
            **{name: [_format(v) if v else None for v in known[name]] for name in ("start", "end")},
            "roles": roles,
        }
    return summary


def _fold(stats: dict[str, Any], search: pa.Table) -> None:
    """Adds the rows of ``search`` to running counts and extents."""
    if not search.num_rows:
        return
    stats["items"] += search.num_rows
    bbox = search["bbox"].combine_chunks()
    for name, function in (("xmin", pc.min), ("ymin", pc.min), ("xmax", pc.max), ("ymax", pc.max)):
        value = function(bbox.field(name)).as_py()
        known = stats.get(name)
        if value is not None:
            pick = min if function is pc.min else max
            stats[name] = value if known is None else pick(known, value)
    for name, column, pick in (("start", "start", min), ("end", "end", max)):
        value = (pc.min if pick is min else pc.max)(search[column]).as_py()
        known = stats.get(name)
        if value is not None:
            stats[name] = value if known is None else pick(known, value)


def _extent(stats: Mapping[str, Any]) -> dict[str, Any]:
    bbox = [stats.get(name) for name in ("xmin", "ymin", "xmax", "ymax")]
    start, end = stats.get("start"), stats.get("end")
    return {
        "spatial": {"bbox": [bbox] if None not in bbox else []},
        "temporal": {
            "interval": [[_format(start) if start else None, _format(end) if end else None]]
        },
    }


def _format(value: datetime) -> str:
    return format_timestamp(value)


def _prepared(item: Item, href: str | None) -> tuple[Item, list[str]]:
    """A shallow copy of ``item`` ready for Arrow, and the hrefs of its ``source`` links.

    The copy has a ``self`` link to ``href``, a 2D float ``bbox`` (computed when missing) and
    its GeoJSON geometries as WKB, as stac-geoparquet stores them.

    Raises:
        InputError: No id, no properties, or a geometry shapely cannot read.
    """
    where = href or "<item>"
    item_id = item.get("id") if isinstance(item, Mapping) else None
    if not isinstance(item_id, str) or not item_id:
        raise InputError(where, "item has no id")
    record = f"item {item_id}"
    if not isinstance(item.get("properties"), Mapping):
        raise InputError(where, "item has no properties", record=record)
    try:
        geometry = shapely.geometry.shape(item["geometry"])
    except (TypeError, KeyError, AttributeError, ValueError, shapely.errors.ShapelyError):
        raise InputError(
            where,
            "item has no readable geometry (items without one cannot be indexed)",
            record=record,
        ) from None
    bbox = item.get("bbox")
    if not (isinstance(bbox, list | tuple) and len(bbox) in (4, 6)):
        bbox = geometry.bounds
    elif len(bbox) == 6:
        bbox = [bbox[0], bbox[1], bbox[3], bbox[4]]
    links = [
        link
        for link in item.get("links") or ()
        if isinstance(link, Mapping) and link.get("rel") != "self"
    ]
    sources = [
        link["href"] if href is None else hrefs.join(href, link["href"])
        for link in links
        if link.get("rel") == "source" and isinstance(link.get("href"), str)
    ]
    if href is not None:
        links.append({"rel": "self", "href": href, "type": "application/geo+json"})
    row = dict(item)
    row["geometry"] = shapely.to_wkb(geometry, flavor="iso")
    row["bbox"] = [float(v) for v in bbox]
    row["links"] = links
    row.setdefault("stac_extensions", [])
    assets = row.setdefault("assets", {})
    # stac-geoparquet stores every GeoJSON geometry as WKB, projection geometries included.
    # (isinstance against dict, not Mapping: ABC checks would cost more than the conversion.)
    properties = item["properties"]
    if isinstance(properties.get("proj:geometry"), dict):
        row["properties"] = {**properties, "proj:geometry": _wkb(properties["proj:geometry"])}
    if isinstance(assets, dict) and any(
        isinstance(asset, dict) and "proj:geometry" in asset for asset in assets.values()
    ):
        row["assets"] = {
            key: {**asset, "proj:geometry": _wkb(asset["proj:geometry"])}
            if isinstance(asset, dict) and isinstance(asset.get("proj:geometry"), dict)
            else asset
            for key, asset in assets.items()
        }
    return row, sources


def _wkb(geometry: Mapping[str, Any]) -> bytes:
    return shapely.to_wkb(shapely.geometry.shape(geometry), flavor="iso")


def _stac_arrow(rows: list[Item]) -> pa.Table:
    """Rows from :func:`_prepared` in the stac-geoparquet layout (properties as columns)."""
    batch = pa.RecordBatch.from_struct_array(pa.array(rows))
    table = pa.Table.from_batches([StacJsonBatch(batch).to_arrow_batch().inner])
    return table.set_column(
        table.schema.get_field_index("bbox"), "bbox", table["bbox"].cast(layout.BBOX)
    )


def _unify(known: pa.Schema | None, new: pa.Schema) -> pa.Schema:
    """The union of two stac-geoparquet schemas (raises where a field's types clash)."""
    return new if known is None else pa.unify_schemas([known, new], promote_options="permissive")


def _concat(parts: list[pa.Table], schema: pa.Schema | None = None) -> pa.Table:
    """Concatenates tables whose columns differ (their schemas unify), as ``schema``."""
    if schema is not None:
        parts = [schema.empty_table(), *parts]
    return pa.concat_tables(parts, promote_options="permissive")


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


class _Run(NamedTuple):
    """A sorted run on disk, and its sort keys (kept in memory for the merge)."""

    path: Path
    keys: NDArray[np.uint64]
    first_seq: int
    """The lowest arrival number in the run (each run holds one stretch of them)."""


class _RunReader:
    """Reads a sorted run front to back, a requested number of rows at a time.

    Batches are read into memory one at a time, not memory-mapped: the pages of a map would
    count towards the process's memory until the whole run was unmapped.
    """

    def __init__(self, path: Path) -> None:
        self._source = pa.OSFile(str(path))
        self._file = ipc.open_file(self._source)
        self._next_batch = 0
        self._buffer: pa.Table | None = None

    def take(self, n: int) -> pa.Table:
        parts: list[pa.Table] = []
        while n:
            if self._buffer is None or not self._buffer.num_rows:
                batch = self._file.get_batch(self._next_batch)
                self._next_batch += 1
                self._buffer = pa.Table.from_batches([batch])
            part = self._buffer.slice(0, n)
            self._buffer = self._buffer.slice(part.num_rows)
            parts.append(part)
            n -= part.num_rows
        return pa.concat_tables(parts)

    def close(self) -> None:
        self._buffer = None
        self._source.close()


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
