"""Derived tables: asset and label rows come item by item, in pieces of bounded size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from stac_geoparquet.arrow import parse_stac_items_to_arrow

from stacforge.index import tables

Item = dict[str, Any]
MakeItem = Callable[..., Item]


def _rows(items: list[Item]) -> pa.Table:
    """``items`` in the stac-geoparquet layout, as the index writer holds them."""
    return parse_stac_items_to_arrow(items).read_all()


@pytest.mark.parametrize("max_rows", [1, 5, 7, 1000])
def test_asset_rows_come_item_by_item_in_bounded_pieces(make_item: MakeItem, max_rows: int) -> None:
    items = []
    for i in range(12):
        assets = {
            f"k{k}": {"href": f"{i}/{k}.tif", "datetime": f"2021-01-{k + 1:02d}T00:00:00Z"}
            for k in range(6)
            if (i + k) % 4  # some items lack some keys
        }
        items.append(make_item(f"i{i}", i, i, assets=assets))
    chunk = _rows(items)
    pieces = list(tables.asset_tables(chunk, 100, max_rows))
    assert all(piece.num_rows <= max(max_rows, 6) for piece in pieces)
    rows = pa.concat_tables(pieces).to_pylist()
    key_order = chunk.schema.field("assets").type.names  # each item's assets in this order
    expected = [
        (100 + i, key, item["assets"][key]["href"], f"2021-01-{int(key[1:]) + 1:02d}")
        for i, item in enumerate(items)
        for key in key_order
        if key in item["assets"]
    ]
    assert [
        (
            row["row"],
            row["key"],
            row["href_folder"] + row["href_name"],
            row["start"].date().isoformat(),
        )
        for row in rows
    ] == expected


def test_asset_rows_of_gathered_slices_match_those_of_whole_rows(make_item: MakeItem) -> None:
    items = [make_item(f"i{i}", i, i) for i in range(10)]
    whole = _rows(items)
    sliced = pa.concat_tables([whole.slice(6), whole.slice(0, 2), whole.slice(2, 4)])
    reordered = pa.concat_tables([whole.slice(6), whole.slice(0, 6)])
    assert pa.concat_tables(list(tables.asset_tables(sliced, 0, 3))).equals(
        pa.concat_tables(list(tables.asset_tables(reordered.combine_chunks(), 0, 100)))
    )


@pytest.mark.parametrize(
    ("href", "folder", "name"),
    [
        ("https://host/a/b.tif", "https://host/a/", "b.tif"),
        ("../b.tif", "../", "b.tif"),
        ("b.tif", "", "b.tif"),
        ("/abs/", "/abs/", ""),
    ],
)
def test_asset_hrefs_are_split_after_their_last_slash(
    make_item: MakeItem, href: str, folder: str, name: str
) -> None:
    chunk = _rows([make_item("i", 0, 0, assets={"a": {"href": href}})])
    (row,) = pa.concat_tables(list(tables.asset_tables(chunk, 0, 10))).to_pylist()
    assert (row["href_folder"], row["href_name"]) == (folder, name)


@pytest.mark.parametrize("max_rows", [1, 4, 1000])
def test_label_rows_come_item_by_item_in_bounded_pieces(make_item: MakeItem, max_rows: int) -> None:
    items = [
        make_item(
            f"i{i}",
            i,
            i,
            properties={
                "label:overviews": [
                    {
                        "property_key": "class",
                        "counts": [{"name": f"c{c}", "count": c + i} for c in range(i % 4)],
                    }
                ]
            },
        )
        for i in range(9)
    ]
    pieces = list(tables.label_tables(_rows(items), 10, max_rows))
    assert all(0 < piece.num_rows <= max(max_rows, 3) for piece in pieces)
    rows = pa.concat_tables(pieces).to_pylist()
    assert [(r["row"], r["id"], r["name"], r["count"]) for r in rows] == [
        (10 + i, f"i{i}", f"c{c}", c + i) for i in range(9) for c in range(i % 4)
    ]
