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
