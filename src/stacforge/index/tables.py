"""The derived tables of a sidecar (search, assets, labels), computed from stac-geoparquet rows.

Each function takes a chunk of rows in final order (an Arrow table in the stac-geoparquet layout
plus the writer's :data:`HREF` and :data:`SOURCES` columns) and the row number of its first row.
"""

from __future__ import annotations

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
    bbox = pa.StructArray.from_arrays([pa.array(bounds[:, i]) for i in range(4)], fields=list(BBOX))
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


def asset_table(chunk: pa.Table, first_row: int) -> pa.Table:
    """One row per asset, ordered by item row; an asset's time falls back to its item's."""
    if "assets" not in chunk.column_names or chunk.num_rows == 0:
        return ASSETS_SCHEMA.empty_table()
    item_start, item_end = (a.combine_chunks() for a in item_interval(chunk))
    assets = chunk["assets"].combine_chunks()
    parts: list[pa.Table] = []
    for key, asset in zip(assets.type.names, assets.flatten(), strict=True):
        present = np.flatnonzero(asset.is_valid().to_numpy(zero_copy_only=False))
        if not len(present):
            continue
        start, end = item_start, item_end
        if len(present) < len(asset):
            asset, start, end = asset.take(present), start.take(present), end.take(present)
        fields = dict(zip(asset.type.names, asset.flatten(), strict=True))
        own_start, own_end, own_instant = (
            _field(fields, name, TIMESTAMP, len(present)) for name in _ASSET_TIMES
        )
        parts.append(
            pa.Table.from_arrays(
                [
                    pa.array(present + first_row, pa.int64()),
                    pa.repeat(pa.scalar(key, pa.string()), len(present)),
                    _field(fields, "href", pa.string(), len(present)),
                    _field(fields, "type", pa.string(), len(present)),
                    _field(fields, "roles", pa.list_(pa.string()), len(present)),
                    pc.coalesce(own_start, own_instant, start),
                    pc.coalesce(own_end, own_instant, end),
                ],
                schema=ASSETS_SCHEMA,
            )
        )
    if not parts:
        return ASSETS_SCHEMA.empty_table()
    table = pa.concat_tables(parts)
    # Keys were gathered one after another; a stable sort by row groups each item's assets.
    return table.take(pc.sort_indices(table, sort_keys=[("row", "ascending")]))


def label_table(chunk: pa.Table, first_row: int) -> pa.Table:
    """One row per class in each item's ``label:overviews`` (its count or statistics value)."""
    column = "label:overviews"
    if column not in chunk.column_names or not pa.types.is_list(chunk.schema.field(column).type):
        return LABELS_SCHEMA.empty_table()
    overviews = chunk[column].combine_chunks()
    if not pa.types.is_struct(overviews.type.value_type):
        return LABELS_SCHEMA.empty_table()
    overview_row = pc.list_parent_indices(overviews).to_numpy()
    flat = pc.list_flatten(overviews)
    fields = dict(zip(flat.type.names, flat.flatten(), strict=True))
    property_key = _field(fields, "property_key", pa.string(), len(flat))
    parts: list[pa.Table] = []
    for list_name, number, number_type in (
        ("counts", "count", pa.int64()),
        ("statistics", "value", pa.float64()),
    ):
        entries = fields.get(list_name)
        if entries is None or not pa.types.is_list(entries.type):
            continue
        if not pa.types.is_struct(entries.type.value_type):
            continue
        owner = pc.list_parent_indices(entries).to_numpy()
        flat_entries = pc.list_flatten(entries)
        values = dict(zip(flat_entries.type.names, flat_entries.flatten(), strict=True))
        if "name" not in values:
            continue
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
                    chunk["id"].combine_chunks().take(rows),
                    property_key.take(owner),
                    values["name"].cast(pa.string()),
                    numbers["count"],
                    numbers["value"],
                ],
                schema=LABELS_SCHEMA,
            )
        )
    if not parts:
        return LABELS_SCHEMA.empty_table()
    table = pa.concat_tables(parts)
    return table.take(pc.sort_indices(table, sort_keys=[("row", "ascending")]))


def _field(fields: dict[str, pa.Array], name: str, type_: pa.DataType, n: int) -> pa.Array:
    """A struct child cast to ``type_``, or nulls where no row has the field."""
    if name not in fields:
        return pa.nulls(n, type_)
    return fields[name].cast(type_)


def asset_time_errors(table: pa.Table) -> dict[int, str]:
    """Rows whose assets have a time that is no RFC 3339 timestamp, and what is wrong.

    The writer checks each batch as it converts it, so that :func:`asset_table` cannot fail
    later on one item.
    """
    errors: dict[int, str] = {}
    if "assets" not in table.column_names:
        return errors
    assets = table["assets"].combine_chunks()
    for key, asset in zip(assets.type.names, assets.flatten(), strict=True):
        fields = dict(zip(asset.type.names, asset.flatten(), strict=True))
        for name in _ASSET_TIMES:
            if name not in fields:
                continue
            try:
                fields[name].cast(TIMESTAMP)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                for row, value in enumerate(fields[name].to_pylist()):
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
