"""``stacforge search``: items, ids, asset hrefs or a count from indexes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import pyarrow as pa

    from stacforge.index.item_search import ItemSearch

FORMATS = ("ids", "items", "hrefs", "count")


@click.command("search")
@click.argument("indexes", nargs=-1, required=True, metavar="INDEX...")
@click.option("--bbox", metavar="W,S,E,N", help="Items intersecting this box (WGS 84).")
@click.option(
    "--intersects", metavar="GEOJSON", help="Items intersecting a GeoJSON geometry (file or text)."
)
@click.option(
    "--datetime",
    "datetime_",
    metavar="RANGE",
    help="Instant, partial date (2018, 2018-05) or START/END with .. for an open end.",
)
@click.option("--ids", metavar="ID[,ID...]", help="Item ids.")
@click.option("--collections", metavar="ID[,ID...]", help="Collection ids (the item's field).")
@click.option("--filter", "filter_", metavar="CQL2", help="CQL2 filter, as text or JSON.")
@click.option("--sortby", metavar="FIELDS", help="E.g. -datetime,+id (default: index order).")
@click.option(
    "--query",
    "query",
    multiple=True,
    metavar="NAME<op>VALUE",
    help="STAC API query extension, as stac-client takes it: 'gsd<=20' or JSON; repeat for AND.",
)
@click.option(
    "--fields",
    metavar="[+|-]FIELD,...",
    help="Fields extension: include (+ or bare) or exclude (-) dotted fields (--format items).",
)
@click.option(
    "--max-items", type=click.IntRange(min=0), help="At most N items in all (default: all)."
)
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=10_000),
    help="Page size, as in stac-client (items are written as they come; no effect on the total).",
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="CLASS<op>N[%]",
    help="A threshold on a label class's statistics value, else its count ('corn>=5000'), "
    "or on its share of its overview's counts ('corn>=30%'); repeat for AND.",
)
@click.option(
    "--label-any",
    multiple=True,
    metavar="A,B,C<op>N[%]",
    help="Threshold on the sum of several classes, e.g. 'clc_311,clc_312,clc_313>=1.0' "
    "(or of their shares: 'corn,soybeans>=50%').",
)
@click.option("--asset-role", "asset_roles", multiple=True, help="Keep assets with this role.")
@click.option(
    "--asset-key",
    "asset_keys",
    multiple=True,
    metavar="GLOB",
    help="Keep assets whose key matches.",
)
@click.option(
    "--asset-datetime", metavar="RANGE", help="Keep assets whose own time meets this range."
)
@click.option(
    "--format",
    "output",
    type=click.Choice(FORMATS),
    default="ids",
    show_default=True,
    help="ids, items (a GeoJSON FeatureCollection), asset hrefs (one per line) or count.",
)
def search_command(
    indexes: tuple[str, ...],
    bbox: str | None,
    intersects: str | None,
    datetime_: str | None,
    ids: str | None,
    collections: str | None,
    filter_: str | None,
    sortby: str | None,
    query: tuple[str, ...],
    fields: str | None,
    max_items: int | None,
    limit: int | None,
    labels: tuple[str, ...],
    label_any: tuple[str, ...],
    asset_roles: tuple[str, ...],
    asset_keys: tuple[str, ...],
    asset_datetime: str | None,
    output: str,
) -> None:
    """Search indexes: INDEX is an index directory, or a catalog or collection whose
    collections advertise one (as `stacforge build` writes them).

    Every filter combines with AND. Label conditions select label items and the items they
    name as their source, across all INDEXes. Asset filters keep only matching assets (and
    items with at least one).

    The answer is written as it is found. A search that fails part-way (a damaged index file)
    prints its error and exits with status 1, after the part of the answer already written.
    """
    from stacforge.index.search import open_index

    index = open_index(*indexes)
    params: dict[str, Any] = {
        "bbox": bbox,
        "intersects": intersects,
        "datetime": datetime_,
        "ids": ids,
        "collections": collections,
        "filter": filter_,
        "sortby": sortby,
        "query": list(query) or None,
        "fields": fields,
        "max_items": max_items,
        "limit": limit,
        "labels": list(labels) or None,
        "label_any": list(label_any) or None,
        "asset_roles": list(asset_roles) or None,
        "asset_keys": list(asset_keys) or None,
        "asset_datetime": asset_datetime,
    }
    search = index.search(**{name: value for name, value in params.items() if value is not None})
    if output == "count":
        chunks: Iterator[bytes | memoryview] = iter([b"%d\n" % search.count()])
    elif output == "items":
        chunks = _feature_collection(search)
    else:
        blocks = search.ids_as_arrow() if output == "ids" else search.hrefs_as_arrow()
        chunks = map(_lines, blocks)
    out = sys.stdout.buffer
    try:
        for chunk in chunks:
            out.write(chunk)
        out.flush()
    except BrokenPipeError:
        # The reader (`head`, a download tool) stopped early: not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _lines(strings: pa.Array) -> memoryview:
    """Arrow strings (no nulls) as UTF-8 text, one per line: their data with a newline after
    each, without a Python string."""
    import numpy as np
    import pyarrow as pa

    if not len(strings):
        return memoryview(b"")
    _, offset_buffer, data_buffer = strings.buffers()
    large = pa.types.is_large_string(strings.type)
    offsets = np.frombuffer(offset_buffer, dtype=np.int64 if large else np.int32)
    offsets = offsets[strings.offset : strings.offset + len(strings) + 1]
    data = np.frombuffer(data_buffer or b"", dtype=np.uint8)[offsets[0] : offsets[-1]]
    return np.insert(data, offsets[1:] - offsets[0], ord("\n")).data


def _feature_collection(search: ItemSearch) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection, one feature per line, streamed; ``numberReturned`` and
    ``numberMatched`` at its end (counted again only when ``--max-items`` cut the result)."""
    import orjson

    yield b'{"type":"FeatureCollection","features":['
    separator = b"\n"
    returned = 0
    for item in search.items_as_dicts():
        yield separator + orjson.dumps(item)
        separator = b",\n"
        returned += 1
    cut = search.query.max_items is not None and returned >= search.query.max_items
    matched = search.matched() if cut else returned
    yield b'\n],"numberMatched":%d,"numberReturned":%d}\n' % (matched, returned)
