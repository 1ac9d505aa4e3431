"""The one adapter to the stac-geoparquet library: every use of it in stacforge goes through here.

stacforge keeps ``items.parquet`` exactly as stac-geoparquet lays out items (properties as
top-level columns, timestamps as timestamps, ``bbox`` as a struct, its GeoParquet metadata), so
that other tools read it, but it does not use stac-geoparquet's public functions: they work row
by row and deep-copy every item, several times slower than the index needs for items with
hundreds of assets. It uses the library's batch conversions instead, which are private in
stac-geoparquet 0.8 (``stac_geoparquet.arrow._batch`` and ``_to_parquet``), and so the
dependency is pinned to that minor version. ``tests/index/test_geoparquet.py`` fails loudly
when these private names or signatures move.

stac-geoparquet imports pandas, so it is imported on first use: a search for ids or hrefs
never pays for it.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

SCHEMA_VERSION: Final = "1.1.0"
"""The stac-geoparquet schema version written (the library's default in 0.8)."""


def json_to_arrow(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Item rows in their JSON shape (a column per top-level item field, GeoJSON geometries
    already WKB) into the stac-geoparquet layout."""
    from stac_geoparquet.arrow._batch import StacJsonBatch

    return StacJsonBatch(batch).to_arrow_batch().inner


def arrow_to_json(batch: pa.RecordBatch) -> pa.RecordBatch:
    """stac-geoparquet rows back into their JSON shape (properties in one struct, timestamps as
    strings, ``bbox`` as a list; geometries stay WKB)."""
    from stac_geoparquet.arrow._batch import StacArrowBatch

    return StacArrowBatch(batch).to_json_batch().inner


def parquet_metadata(schema: pa.Schema) -> dict[bytes, bytes]:
    """The file metadata stac-geoparquet writes (GeoParquet ``geo`` and its own) for a file of
    ``schema``."""
    from stac_geoparquet.arrow._to_parquet import create_parquet_metadata

    return create_parquet_metadata(schema, schema_version=SCHEMA_VERSION)


PROJECTION_GEOMETRY: Final = "proj:geometry"
EMPTY_WKB: Final = bytes.fromhex("010300000000000000")
"""``POLYGON EMPTY`` in ISO WKB: what an item without ``proj:geometry`` gets in that column."""


def readable_geometries(table: pa.Table) -> pa.Table:
    """``table`` with an empty polygon where a ``proj:geometry`` column (of the item, or of an
    asset the item has) is null.

    stac-geoparquet lists ``proj:geometry`` as a GeoParquet geometry column, but neither its
    reader nor rustac's can read a null there (one converts every value, the other panics), so
    a file where only some items carry one is unreadable to both. An empty geometry is
    readable to both and, per RFC 7946 (3.1), may be read as null; stacforge's reader drops it.
    """
    if PROJECTION_GEOMETRY in table.column_names:
        column = table[PROJECTION_GEOMETRY]
        if column.null_count:
            index = table.schema.get_field_index(PROJECTION_GEOMETRY)
            table = table.set_column(
                index, table.schema.field(index), _filled(column.combine_chunks())
            )
    if "assets" in table.column_names:
        assets = table["assets"]
        if any(PROJECTION_GEOMETRY in pa.schema(list(asset.type)).names for asset in assets.type):
            index = table.schema.get_field_index("assets")
            filled = _filled_assets(assets.combine_chunks())
            table = table.set_column(index, pa.field("assets", filled.type), filled)
    return table


def _filled(wkb: pa.Array) -> pa.Array:
    """Nulls of a WKB column replaced by :data:`EMPTY_WKB`."""
    if not wkb.null_count:
        return wkb
    return pc.fill_null(wkb, pa.scalar(EMPTY_WKB, wkb.type))


def _filled_assets(assets: pa.StructArray) -> pa.StructArray:
    """The assets struct with :func:`_filled` ``proj:geometry`` in each asset present."""
    children = []
    for asset in assets.flatten():
        if PROJECTION_GEOMETRY in asset.type.names and asset.field(PROJECTION_GEOMETRY).null_count:
            fields = list(asset.type)
            values = [
                _filled(child) if field.name == PROJECTION_GEOMETRY else child
                for field, child in zip(fields, asset.flatten(), strict=True)
            ]
            valid = asset.is_valid()
            mask = None if not asset.null_count else pc.invert(valid)
            geometry = asset.type.get_field_index(PROJECTION_GEOMETRY)
            # An asset the item lacks stays null (its fields are not filled in).
            values[geometry] = pc.if_else(valid, values[geometry], pa.scalar(None, pa.binary()))
            asset = pa.StructArray.from_arrays(values, fields=fields, mask=mask)
        children.append(asset)
    mask = None if not assets.null_count else pc.invert(assets.is_valid())
    return pa.StructArray.from_arrays(children, fields=list(assets.type), mask=mask)
