"""The stac-geoparquet adapter: fails loudly when the private API it relies on moves.

stacforge uses stac-geoparquet's batch classes and metadata function, which are private in
0.8 (see :mod:`stacforge.index.geoparquet`). A stac-geoparquet release that moves or changes
them fails here first, naming what moved, instead of deep inside an index write.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from stacforge.index import convert, geoparquet
from stacforge.index.rows import batch_items

Item = dict[str, Any]


def test_the_private_names_it_uses_exist_with_their_signatures() -> None:
    batch = importlib.import_module("stac_geoparquet.arrow._batch")
    to_parquet = importlib.import_module("stac_geoparquet.arrow._to_parquet")
    arrow = importlib.import_module("stac_geoparquet.arrow")
    assert list(inspect.signature(batch.StacJsonBatch).parameters) == ["batch"]
    assert "to_arrow_batch" in vars(batch.StacJsonBatch)
    assert list(inspect.signature(batch.StacArrowBatch).parameters) == ["batch"]
    assert "to_json_batch" in vars(batch.StacArrowBatch)
    parameters = inspect.signature(to_parquet.create_parquet_metadata).parameters
    assert list(parameters)[:2] == ["schema", "schema_version"]
    assert parameters["schema_version"].kind is inspect.Parameter.KEYWORD_ONLY
    assert geoparquet.SCHEMA_VERSION in arrow.SUPPORTED_PARQUET_SCHEMA_VERSIONS.__args__


def test_one_item_round_trips(make_item: Callable[..., Item]) -> None:
    item = make_item(
        "a",
        10.0,
        50.0,
        properties={"eo:cloud_cover": 12.5, "start_datetime": "2020-01-01T00:00:00Z"},
        links=[{"rel": "source", "href": "../b/b.json"}],
    )
    row, sources = convert.prepare(item, "a/a.json")
    assert sources == ["b/b.json"]
    table = convert.to_arrow([row])
    # The stac-geoparquet layout: properties as columns, timestamps as timestamps.
    assert pa.types.is_timestamp(table.schema.field("datetime").type)
    assert table.schema.field("eo:cloud_cover").type == pa.float64()
    (back,) = batch_items(table.to_batches()[0])
    assert back["id"] == "a"
    assert back["geometry"] == json.loads(json.dumps(item["geometry"]))
    assert back["properties"]["eo:cloud_cover"] == 12.5
    assert back["properties"]["datetime"].startswith("2020-01-01T00:00:00")
    assert back["assets"] == item["assets"]
    metadata = geoparquet.parquet_metadata(table.schema)
    geo = json.loads(metadata[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
