"""Searching indexes: :func:`open_index` and :class:`Index`.

A search reads ``search.parquet`` first: row-group statistics skip groups outside the search
area, time or collections, and the narrow columns of the remaining groups are tested
vectorised (:mod:`~stacforge.index.prune`). Label conditions read ``labels.parquet``
(:mod:`~stacforge.index.labels`), asset filters ``assets.parquet``
(:mod:`~stacforge.index.assets`), and only CQL2 filters, sorting on properties
(:mod:`~stacforge.index.sort`) and whole items read ``items.parquet``.

Label conditions select the label items that meet them and, across every index searched
together, the items without labels of their own that those label items name as their ``source``
(so a search of imagery and label indexes by label share returns the imagery at those
locations).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Unpack

import numpy as np
from numpy.typing import NDArray

from stacforge.errors import StacforgeError
from stacforge.index import arrow_values, prune
from stacforge.index.directory import IndexDirectory, read_rows
from stacforge.index.discovery import index_directories
from stacforge.index.hits import Hits
from stacforge.index.item_search import ItemSearch
from stacforge.index.query import Query, SearchParams

if TYPE_CHECKING:
    import pyarrow as pa
    import pystac

    from stacforge.catalog.model import Item
    from stacforge.index.labels import LabelMatches

# Each stage is imported by the searches that use it (labels, assets, sorting, CQL2, items),
# with what it needs (pyarrow.compute, shapely, pystac, stac-geoparquet): a command-line search
# for ids or a count by bbox is over in less time than their imports would take.

_ITEMS_AT_ONCE: Final = 256
"""Items turned into pystac objects at a time."""


def open_index(*paths: str | os.PathLike[str]) -> Index:
    """Opens indexes to search them together.

    Args:
        paths: Index directories, or catalogs/collections (a ``catalog.json`` or
            ``collection.json``, or the folder holding one) whose collections advertise their
            index with a ``collection-mirror`` asset.

    Raises:
        InputError: A path is neither an index nor a catalog or collection that advertises
            one.
    """
    if not paths:
        raise StacforgeError("no index to open")
    directories: list[IndexDirectory] = []
    for path in paths:
        for found in index_directories(Path(path)):
            if all(d.path != found.resolve() for d in directories):
                directories.append(IndexDirectory(found))
    return Index(directories)


class Index:
    """One or more index directories, searched together.

    Every search method takes the keyword arguments of
    :class:`~stacforge.index.query.SearchParams`.
    """

    def __init__(self, directories: Sequence[IndexDirectory]) -> None:
        self.directories = list(directories)

    def __repr__(self) -> str:
        return f"Index({', '.join(str(d.path) for d in self.directories)})"

    def search(self, **params: Unpack[SearchParams]) -> ItemSearch:
        """A search, as pystac-client's ``Client.search`` makes one: nothing is read until
        its ``items()``, ``item_collection()``, ``pages()``, ``matched()``... are asked for.

        Raises:
            StacforgeError: A malformed parameter (at once).
        """
        return ItemSearch(self, params)

    def items(self, **params: Unpack[SearchParams]) -> Iterator[pystac.Item]:
        """The matching items, one at a time."""
        import pystac

        from stacforge.index.reader import gc_paused

        dicts = self.item_dicts(**params)
        while batch := list(itertools.islice(dicts, _ITEMS_AT_ONCE)):
            with gc_paused():
                items = [
                    pystac.Item.from_dict(item, preserve_dict=False, migrate=False)
                    for item in batch
                ]
            yield from items

    def item_dicts(self, **params: Unpack[SearchParams]) -> Iterator[Item]:
        """The matching items as dicts; with asset filters, only their matching assets."""
        return self.item_dicts_query(Query.from_params(**params))

    def ids(self, **params: Unpack[SearchParams]) -> Iterator[str]:
        """The ids of the matching items."""
        return self.ids_query(Query.from_params(**params))

    def hrefs(self, **params: Unpack[SearchParams]) -> Iterator[str]:
        """The absolute hrefs of the matching items' (matching) assets, item by item."""
        return self.hrefs_query(Query.from_params(**params))

    def count(self, **params: Unpack[SearchParams]) -> int:
        """How many items match (at most ``max_items``)."""
        return self.count_query(Query.from_params(**params))

    def item_dicts_query(self, query: Query) -> Iterator[Item]:
        """:meth:`item_dicts` of a parsed query (with ``fields`` applied)."""
        from stacforge.index import assets
        from stacforge.index.reader import item_dicts

        for hits in self._blocks(query):
            directory = hits.directory
            table = read_rows(directory.items, directory.items_offsets, hits.rows)
            found = item_dicts(table, directory.base)
            if hits.assets is not None:
                keys = assets.keys_per_row(hits.assets)
                found = (
                    {**item, "assets": _only(item["assets"], keys.get(row, ()))}
                    for row, item in zip(hits.rows.tolist(), found, strict=True)
                )
            if query.fields is None:
                yield from found
            else:
                yield from map(query.fields.apply, found)

    def ids_query(self, query: Query) -> Iterator[str]:
        """:meth:`ids` of a parsed query."""
        for block in self.id_arrays_query(query):
            yield from block.to_pylist()

    def id_arrays_query(self, query: Query) -> Iterator[pa.Array]:
        """The ids of a parsed query as Arrow string arrays, a block of matches at a time."""
        for hits in self._blocks(query):
            yield hits.ids()

    def hrefs_query(self, query: Query) -> Iterator[str]:
        """:meth:`hrefs` of a parsed query."""
        for block in self.href_arrays_query(query):
            yield from block.to_pylist()

    def href_arrays_query(self, query: Query) -> Iterator[pa.Array]:
        """The hrefs of a parsed query as Arrow string arrays, a block of matches at a time."""
        from stacforge.index import assets

        for hits in self._blocks(query):
            yield from assets.absolute_hrefs(hits)

    def count_query(self, query: Query) -> int:
        """:meth:`count` of a parsed query."""
        return sum(len(hits.rows) for hits in self._blocks(query))

    def _check_sortable(self, query: Query) -> None:
        """Rejects a ``sortby`` field that no index has (as a STAC API answers 400)."""
        known = {"id", "collection", "datetime"}.union(
            *(d.items.schema_arrow.names for d in self.directories)
        )
        for key in query.sortby:
            if key.field not in known:
                raise StacforgeError(f"sortby: no item has a field {key.field!r}")

    def _blocks(self, query: Query) -> Iterator[Hits]:
        """The hits of ``query`` in output order, a block at a time."""
        labelled = None
        if query.labels:
            from stacforge.index.labels import LabelMatches

            labelled = LabelMatches(self.directories, query.labels)
        matches = (
            hits for directory in self.directories for hits in _matches(directory, query, labelled)
        )
        if query.sortby:
            from stacforge.index.sort import sorted_blocks

            self._check_sortable(query)
            yield from sorted_blocks(list(matches), query)
            return
        remaining = query.max_items
        for hits in matches:
            if remaining is not None:
                if remaining <= 0:
                    return
                if len(hits.rows) > remaining:
                    hits = hits.only(hits.rows[:remaining])
                remaining -= len(hits.rows)
            yield hits


def _matches(
    directory: IndexDirectory, query: Query, labelled: LabelMatches | None
) -> Iterator[Hits]:
    """The rows of ``directory`` that match ``query``, a ``search.parquet`` row group at a
    time."""
    boxes = prune.search_boxes(query)
    if query.collections is not None and not query.collections & directory.collections:
        return
    # When every item of the directory is in a wanted collection, its rows need no test.
    collections = query.collections
    known = directory.manifest.collections
    if (
        collections is not None
        and directory.collections <= collections
        and sum(summary.items for summary in known.values()) == directory.manifest.items
    ):
        collections = None
    links = labelled is not None and labelled.has_unlabelled(directory)
    columns = ["bbox"] if boxes else []
    if query.datetime is not None:
        columns += ["start", "end"]
    if collections is not None:
        columns.append("collection")
    if query.ids is not None:
        columns.append("id")
    if links:
        columns.append("href")
    match_assets = None
    if query.filters_assets:
        from stacforge.index import assets

        match_assets = assets.asset_filter(directory, query)
    offsets = directory.search_offsets
    for group in prune.candidate_groups(directory, query, boxes):
        first = int(offsets[group])
        count = int(offsets[group + 1]) - first
        table = directory.search_columns(group, columns) if columns else None
        keep = np.ones(count, dtype=bool)
        if table is not None and boxes:
            keep &= prune.overlapping_rows(arrow_values.combined(table["bbox"]), boxes)
        if table is not None and query.datetime is not None:
            keep &= prune.meeting_rows(table["start"], table["end"], query.datetime)
        if table is not None and collections is not None:
            keep &= prune.rows_in(table["collection"], collections)
        if table is not None and query.ids is not None:
            keep &= prune.rows_in(table["id"], query.ids)
        if labelled is not None:
            item_hrefs = table["href"] if links and table is not None else None
            keep &= labelled.in_group(directory, first, count, item_hrefs)
        local = np.flatnonzero(keep)
        if boxes is not None and len(local):
            local = prune.exact(directory, group, local, query, table)
        rows = (local + first).astype(np.int64)
        if query.filter is not None and len(rows):
            rows = rows[_filtered(directory, rows, query.filter)]
        matching = None
        if match_assets is not None and len(rows):
            matching = match_assets(rows)
            rows = arrow_values.distinct(arrow_values.to_numpy(matching["row"])).astype(np.int64)
        if len(rows):
            yield Hits(directory, rows, matching, labelled)


def _only(item_assets: dict[str, Any], wanted: Collection[str]) -> dict[str, Any]:
    """The assets whose keys are ``wanted``."""
    return {key: asset for key, asset in item_assets.items() if key in wanted}


def _filtered(
    directory: IndexDirectory, rows: NDArray[np.int64], expr: Mapping[str, Any]
) -> NDArray[np.bool_]:
    """Which ``rows`` meet a CQL2 filter (its properties read from ``items.parquet``)."""
    from stacforge.index import cql2_filter

    available = set(directory.items.schema_arrow.names)
    columns = sorted(cql2_filter.referenced_properties(expr) & available)
    table = read_rows(directory.items, directory.items_offsets, rows, columns or ["id"])
    return cql2_filter.evaluate(expr, table)
