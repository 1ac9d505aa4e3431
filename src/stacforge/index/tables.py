"""The derived tables of an index (search, assets, labels), computed from stac-geoparquet rows.

Each function takes a chunk of rows in final order (an Arrow table in the stac-geoparquet layout
plus the writer's :data:`HREF` and :data:`SOURCES` columns) and the row number of its first row.
The asset and label tables of a chunk can hold many times its rows (an item with 300 assets has
300), so they come in pieces of at most ``max_rows`` rows, item by item.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from numpy.typing import NDArray

from stacforge.index.layout import (
    ASSETS_SCHEMA,
    BBOX,
    LABELS_SCHEMA,
    SEARCH_SCHEMA,
    TIMESTAMP,
)

_ASSET_TIMES: Final = ("start_datetime", "end_datetime", "datetime")
_ASSET_FIELDS: Final = (
    ("href", pa.string()),
    ("type", pa.string()),
    ("roles", pa.list_(pa.string())),
    *((name, TIMESTAMP) for name in _ASSET_TIMES),
)
_LABEL_LISTS: Final = (("counts", "count", pa.int64()), ("statistics", "value", pa.float64()))
"""The lists of a ``label:overviews`` entry: list name, number field, number type."""

HREF: Final = "__stacforge_href"
"""Writer column: where the item's JSON lives (relative to the index directory, or absolute)."""
SOURCES: Final = "__stacforge_sources"
"""Writer column: the item's ``source`` link hrefs, resolved like :data:`HREF`."""


def footprint_bounds(geometry: pa.Array | pa.ChunkedArray) -> NDArray[np.float64]:
    """``(n, 4)`` bounds (xmin, ymin, xmax, ymax) of a WKB geometry column."""
    wkb = geometry.to_numpy(zero_copy_only=False)
    return np.asarray(shapely.bounds(shapely.from_wkb(wkb)), dtype=np.float64).reshape(-1, 4)


def item_interval(chunk: pa.Table) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Each item's time interval: ``start_datetime``/``end_datetime``, else ``datetime``."""

    def column(name: str) -> pa.ChunkedArray:
        if name in chunk.column_names:
            return chunk[name].cast(TIMESTAMP)
        return pa.chunked_array([pa.nulls(chunk.num_rows, TIMESTAMP)])

    instant = column("datetime")
    return (
        pc.coalesce(column("start_datetime"), instant),
        pc.coalesce(column("end_datetime"), instant),
    )


def search_table(chunk: pa.Table) -> pa.Table:
    """One narrow row per item: what a search tests before it reads anything else."""
    bounds = footprint_bounds(chunk["geometry"])
    start, end = item_interval(chunk)
    collection = (
        chunk["collection"].cast(pa.string())
        if "collection" in chunk.column_names
        else pa.nulls(chunk.num_rows, pa.string())
    )
    # An item without geometry has no bounds (null, not NaN: statistics and extents skip it).
    located = ~np.isnan(bounds[:, 0])
    mask = None if located.all() else pa.array(~located)
    bbox = pa.StructArray.from_arrays(
        [pa.array(bounds[:, i], mask=~located) for i in range(4)], fields=list(BBOX), mask=mask
    )
    return pa.Table.from_arrays(
        [
            chunk["id"],
            collection,
            chunk[HREF],
            bbox,
            chunk["geometry"],
            start,
            end,
            chunk[SOURCES],
        ],
        schema=SEARCH_SCHEMA,
    )


def asset_tables(chunk: pa.Table, first_row: int, max_rows: int) -> Iterator[pa.Table]:
    """One row per asset, ordered by item row (an item's assets in key order), at most
    ``max_rows`` rows at a time (an item with more assets comes alone); an asset's time falls
    back to its item's."""
    if "assets" not in chunk.column_names:
        return
    item_start, item_end = (a.combine_chunks() for a in item_interval(chunk))
    offset = 0
    # Batch by batch: a chunk gathered from sorted runs is a few zero-copy slices, and combining
    # them would copy the widest column.
    for batch in chunk.select(["assets"]).to_batches():
        assets = batch.column(0)
        keys = assets.type.names
        if keys and len(batch):
            per_key = assets.flatten()  # each key's assets, null where an item lacks the key
            present = np.vstack([a.is_valid().to_numpy(zero_copy_only=False) for a in per_key])
            fields = [dict(zip(a.type.names, a.flatten(), strict=True)) for a in per_key]
            for start, stop in _item_ranges(present.sum(axis=0), max_rows):
                if not present[:, start:stop].any():
                    continue
                yield _asset_rows(
                    keys,
                    fields,
                    present[:, start:stop],
                    start,
                    item_start.slice(offset + start, stop - start),
                    item_end.slice(offset + start, stop - start),
                    first_row + offset + start,
                )
        offset += len(batch)


def _asset_rows(
    keys: list[str],
    fields: list[dict[str, pa.Array]],
    present: NDArray[np.bool_],
    start: int,
    item_start: pa.Array,
    item_end: pa.Array,
    first_row: int,
) -> pa.Table:
    """The asset rows of the items ``start:start + n`` of a batch (``present`` is keys x n)."""
    n = present.shape[1]
    here = np.flatnonzero(present.any(axis=1))
    # Each field of every key here, end to end (key after key), then picked item by item.
    row, which = np.nonzero(present[here].T)
    picked = pa.array(which * n + row)
    columns = {
        name: _joined(
            [
                fields[k][name].slice(start, n) if name in fields[k] else pa.nulls(n)
                for k in here.tolist()
            ],
            type_,
        ).take(picked)
        for name, type_ in _ASSET_FIELDS
    }
    owner = pa.array(row)
    return pa.Table.from_arrays(
        [
            pa.array(row + first_row, pa.int64()),
            pa.array([keys[k] for k in here.tolist()], pa.string()).take(pa.array(which)),
            *_split_hrefs(columns["href"]),
            columns["type"],
            columns["roles"],
            pc.coalesce(columns["start_datetime"], columns["datetime"], item_start.take(owner)),
            pc.coalesce(columns["end_datetime"], columns["datetime"], item_end.take(owner)),
        ],
        schema=ASSETS_SCHEMA,
    )


def _split_hrefs(href: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Hrefs split after their last ``/`` (see :data:`~stacforge.index.layout.ASSETS_SCHEMA`):
    the folder (empty when there is no ``/``) and the file name; null where ``href`` is."""
    parts = pc.split_pattern(href, "/", max_splits=1, reverse=True)
    values = parts.flatten()
    offsets = parts.offsets.to_numpy() - parts.offsets[0].as_py()
    lengths = np.diff(offsets)
    name = values.take(pa.array(offsets[1:] - 1, mask=lengths == 0))
    folder = values.take(pa.array(offsets[:-1], mask=lengths != 2))
    folder = pc.binary_join_element_wise(folder, "/", "")
    return pc.if_else(pc.equal(pa.array(lengths), 1), "", folder), name


def _joined(pieces: list[pa.Array], type_: pa.DataType) -> pa.Array:
    """The pieces end to end as ``type_``: cast once when they share a type (asset times are
    strings, so a thousand keys' times parse in one call), else piece by piece."""
    kinds = {piece.type for piece in pieces} - {pa.null()}
    if len(kinds) > 1:
        pieces = [piece.cast(type_) for piece in pieces]
    elif kinds:
        (kind,) = kinds
        pieces = [piece if piece.type == kind else piece.cast(kind) for piece in pieces]
    joined = pa.concat_arrays(pieces) if pieces else pa.nulls(0, type_)
    return joined if joined.type == type_ else joined.cast(type_)


def label_tables(chunk: pa.Table, first_row: int, max_rows: int) -> Iterator[pa.Table]:
    """One row per class in each item's ``label:overviews`` (its count or statistics value, and
    its count's share of its entry), ordered by item row, at most ``max_rows`` rows at a time
    (an item with more comes alone)."""
    column = "label:overviews"
    if column not in chunk.column_names or not pa.types.is_list(chunk.schema.field(column).type):
        return
    overviews = chunk[column].combine_chunks()
    if not pa.types.is_struct(overviews.type.value_type):
        return
    per_item = np.zeros(len(overviews), dtype=np.int64)
    overview_row = pc.list_parent_indices(overviews).to_numpy()
    for _, entries, _ in _label_lists(pc.list_flatten(overviews)):
        lengths = pc.fill_null(pc.list_value_length(entries), 0).to_numpy()
        per_item += np.bincount(overview_row, weights=lengths, minlength=len(per_item)).astype(
            np.int64
        )
    ids = chunk["id"].combine_chunks()
    for start, stop in _item_ranges(per_item, max_rows):
        if per_item[start:stop].any():
            yield _label_rows(
                overviews.slice(start, stop - start),
                ids.slice(start, stop - start),
                first_row + start,
            )


def _label_rows(overviews: pa.ListArray, ids: pa.Array, first_row: int) -> pa.Table:
    """The label rows of some items (their ``label:overviews`` lists and ids)."""
    overview_row = pc.list_parent_indices(overviews).to_numpy()
    flat = pc.list_flatten(overviews)
    fields = dict(zip(flat.type.names, flat.flatten(), strict=True))
    property_key = _field(fields, "property_key", pa.string(), len(flat))
    parts: list[pa.Table] = []
    for (number, number_type), entries, values in _label_lists(flat):
        owner = pc.list_parent_indices(entries).to_numpy()
        rows = overview_row[owner]
        n = len(rows)
        numbers = {
            "count": pa.nulls(n, pa.int64()),
            "value": pa.nulls(n, pa.float64()),
            number: _field(values, number, number_type, n),
        }
        parts.append(
            pa.Table.from_arrays(
                [
                    pa.array(rows + first_row, pa.int64()),
                    ids.take(rows),
                    property_key.take(owner),
                    values["name"].cast(pa.string()),
                    numbers["count"],
                    numbers["value"],
                    pa.nulls(n, pa.float64()),
                ],
                schema=LABELS_SCHEMA,
            )
        )
    table = pa.concat_tables(parts)
    table = table.take(pc.sort_indices(table, sort_keys=[("row", "ascending")]))
    return table.set_column(table.schema.get_field_index("share"), "share", _count_shares(table))


def _count_shares(table: pa.Table) -> pa.Array:
    """Each label row's count over the total of the counts of its ``label:overviews`` entry
    (null where the count is null or the total is 0).

    The entries of an item are told apart by their ``property_key`` (an overview summarises
    one property, so an item has one entry per key; null keys form an entry of their own).

    Args:
        table: The label rows of whole items, with ``row``, ``property_key`` and ``count``.
    """
    keys = pc.dictionary_encode(table["property_key"].combine_chunks())
    width = len(keys.dictionary) + 1
    key = pc.fill_null(keys.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64) + 1
    _, item = np.unique(table["row"].to_numpy(), return_inverse=True)
    _, entry = np.unique(item * width + key, return_inverse=True)
    count = table["count"]
    counts = pc.fill_null(count, 0).to_numpy(zero_copy_only=False).astype(np.float64)
    totals = np.bincount(entry, counts)[entry]
    unknown = pc.is_null(count).to_numpy(zero_copy_only=False) | (totals == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = counts / totals
    return pa.array(shares, pa.float64(), mask=unknown)


def _label_lists(
    flat: pa.StructArray,
) -> Iterator[tuple[tuple[str, pa.DataType], pa.ListArray, dict[str, pa.Array]]]:
    """The ``counts`` and ``statistics`` lists of ``label:overviews`` entries that hold named
    entries: (number field and type), the lists, and the fields of their flattened entries."""
    fields = dict(zip(flat.type.names, flat.flatten(), strict=True))
    for list_name, number, number_type in _LABEL_LISTS:
        entries = fields.get(list_name)
        if entries is None or not pa.types.is_list(entries.type):
            continue
        if not pa.types.is_struct(entries.type.value_type):
            continue
        flat_entries = pc.list_flatten(entries)
        values = dict(zip(flat_entries.type.names, flat_entries.flatten(), strict=True))
        if "name" in values:
            yield (number, number_type), entries, values


def _item_ranges(per_item: NDArray[np.int_], max_rows: int) -> Iterator[tuple[int, int]]:
    """Consecutive item ranges ``(start, stop)`` whose ``per_item`` row counts add up to at
    most ``max_rows`` (an item with more forms a range of its own)."""
    ends = np.cumsum(per_item)
    start, done = 0, 0
    while start < len(per_item):
        stop = max(start + 1, int(np.searchsorted(ends, done + max_rows, side="right")))
        yield start, stop
        done, start = int(ends[stop - 1]), stop


def _field(fields: dict[str, pa.Array], name: str, type_: pa.DataType, n: int) -> pa.Array:
    """A struct child cast to ``type_``, or nulls where no row has the field."""
    if name not in fields:
        return pa.nulls(n, type_)
    return fields[name].cast(type_)


def asset_time_errors(table: pa.Table) -> dict[int, str]:
    """Rows whose assets have a time that is no RFC 3339 timestamp, and what is wrong.

    The writer checks each batch as it converts it, so that :func:`asset_tables` cannot fail
    later on one item.
    """
    if "assets" not in table.column_names:
        return {}
    assets = table["assets"].combine_chunks()
    keys = assets.type.names
    fields = [dict(zip(a.type.names, a.flatten(), strict=True)) for a in assets.flatten()]
    try:
        for name in _ASSET_TIMES:
            _joined([f[name] for f in fields if name in f], TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return _bad_asset_times(keys, fields)
    return {}


def _bad_asset_times(keys: list[str], fields: list[dict[str, pa.Array]]) -> dict[int, str]:
    """Finds the rows and values behind a failed conversion of asset times, key by key."""
    errors: dict[int, str] = {}
    for key, own in zip(keys, fields, strict=True):
        for name in _ASSET_TIMES:
            if name not in own:
                continue
            try:
                own[name].cast(TIMESTAMP)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                for row, value in enumerate(own[name].to_pylist()):
                    if not _is_timestamp(value):
                        errors.setdefault(
                            row, f"asset {key!r}: {name} {value!r} is not an RFC 3339 timestamp"
                        )
    return errors


def _is_timestamp(value: object) -> bool:
    try:
        pa.array([value]).cast(TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return False
    return True
