"""``sortby``: all hits of a search in the order of item fields, a block at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stacforge.errors import StacforgeError
from stacforge.index.directory import read_rows
from stacforge.index.hits import Hits
from stacforge.index.query import Query

BLOCK: Final = 4096
"""Results fetched at a time for output (bounds memory for huge results)."""


def sorted_blocks(found: list[Hits], query: Query) -> Iterator[Hits]:
    """All hits in ``sortby`` order (then index and row order), cut to ``max_items``."""
    if not found:
        return
    keys: list[pa.Table] = []
    for number, hits in enumerate(found):
        values = {key.field: _sort_values(hits, key.field) for key in query.sortby}
        keys.append(
            pa.table(
                {
                    **{f"k{i}": values[key.field] for i, key in enumerate(query.sortby)},
                    "hits": pa.array(np.full(len(hits.rows), number)),
                    "position": pa.array(np.arange(len(hits.rows))),
                }
            )
        )
    try:
        table = pa.concat_tables(keys, promote_options="permissive")
        order = pc.sort_indices(
            table,
            sort_keys=[
                *(
                    (f"k{i}", "descending" if key.descending else "ascending", "at_end")
                    for i, key in enumerate(query.sortby)
                ),
                ("hits", "ascending", "at_end"),
                ("position", "ascending", "at_end"),
            ],
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
        raise StacforgeError(f"sortby: cannot sort by these fields ({error})") from None
    if query.max_items is not None:
        order = order[: query.max_items]
    which = table["hits"].take(order).to_numpy()
    position = table["position"].take(order).to_numpy()
    start = 0
    while start < len(which):
        stop = start + 1
        while stop < len(which) and which[stop] == which[start] and stop - start < BLOCK:
            stop += 1
        hits = found[which[start]]
        yield hits.only(hits.rows[position[start:stop]])
        start = stop


def _sort_values(hits: Hits, field: str) -> pa.Array:
    """The values of ``field`` for the hits (``datetime``: the item's time, or its start)."""
    directory = hits.directory
    if field in ("id", "collection", "datetime"):
        column = "start" if field == "datetime" else field
        table = read_rows(directory.search, directory.search_offsets, hits.rows, [column])
        return table[column].combine_chunks()
    if field not in directory.items.schema_arrow.names:
        return pa.nulls(len(hits.rows))
    table = read_rows(directory.items, directory.items_offsets, hits.rows, [field])
    return table[field].combine_chunks()
