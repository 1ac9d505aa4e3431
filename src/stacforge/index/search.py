"""Searching sidecar indexes: :func:`open_index` and :class:`Index`.

A search reads ``search.parquet`` first: row-group statistics skip groups outside the search
area, time or collections; the narrow columns of the remaining groups are tested vectorised;
exact geometries are decoded (shapely) only for candidates whose bounds are not already inside
the search box. Label conditions read ``labels.parquet``, asset filters ``assets.parquet``, and
only CQL2 filters, sorting on properties and whole items read ``items.parquet``.

Label conditions select the label items that meet them and, across every index searched
together, the items without labels of their own that those label items name as their ``source``
(so a search of imagery and label sidecars by label share returns the imagery at those
locations).
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pystac
import shapely
from numpy.typing import NDArray

from stacforge import hrefs
from stacforge.catalog.model import Item
from stacforge.errors import StacforgeError
from stacforge.index import cql2_filter, layout
from stacforge.index.discovery import index_directories
from stacforge.index.query import Interval, Query, SearchParams, parse_timestamp
from stacforge.index.reader import Sidecar, gc_paused, item_dicts, read_rows

_BLOCK = 4096
"""Results fetched at a time for output (bounds memory for huge results)."""
_ITEMS_AT_ONCE = 256
"""Items turned into pystac objects at a time."""


@dataclass(frozen=True)
class Hits:
    """Matching rows of one sidecar, in output order.

    Attributes:
        sidecar: Where the rows are.
        rows: Item row numbers.
        assets: With asset filters, the matching ``assets.parquet`` rows of these items.
    """

    sidecar: Sidecar
    rows: NDArray[np.int64]
    assets: pa.Table | None = None


def open_index(*paths: str | os.PathLike[str]) -> Index:
    """Opens sidecar indexes to search them together.

    Args:
        paths: Index directories, or catalogs/collections (a ``catalog.json`` or
            ``collection.json``, or the folder holding one) whose collections advertise their
            sidecar with a ``collection-mirror`` asset.

    Raises:
        InputError: A path is neither an index nor a catalog or collection with mirrors.
    """
    if not paths:
        raise StacforgeError("no index to open")
    sidecars: list[Sidecar] = []
    for path in paths:
        for directory in index_directories(Path(path)):
            if all(s.directory != directory.resolve() for s in sidecars):
                sidecars.append(Sidecar(directory))
    return Index(sidecars)


class Index:
    """One or more sidecar indexes, searched together.

    Every search method takes the keyword arguments of
    :class:`~stacforge.index.query.SearchParams`.
    """

    def __init__(self, sidecars: Sequence[Sidecar]) -> None:
        self.sidecars = list(sidecars)

    def __repr__(self) -> str:
        return f"Index({', '.join(str(s.directory) for s in self.sidecars)})"

    def search(self, **params: Unpack[SearchParams]) -> pystac.ItemCollection:
        """The matching items (every match, unless ``max_items`` is given)."""
        return pystac.ItemCollection(self.items(**params), clone_items=False)

    def items(self, **params: Unpack[SearchParams]) -> Iterator[pystac.Item]:
        """The matching items, one at a time."""
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
        query = Query.from_params(**params)
        for hits in self._blocks(query):
            sidecar = hits.sidecar
            table = read_rows(sidecar.items, sidecar.items_offsets, hits.rows)
            found = item_dicts(table, sidecar.base)
            if hits.assets is None:
                yield from found
                continue
            keys = _keys_per_row(hits.assets)
            for row, item in zip(hits.rows.tolist(), found, strict=True):
                wanted = keys.get(row, ())
                item["assets"] = {k: v for k, v in item["assets"].items() if k in wanted}
                yield item

    def ids(self, **params: Unpack[SearchParams]) -> Iterator[str]:
        """The ids of the matching items."""
        query = Query.from_params(**params)
        for hits in self._blocks(query):
            table = read_rows(hits.sidecar.search, hits.sidecar.search_offsets, hits.rows, ["id"])
            yield from table["id"].to_pylist()

    def hrefs(self, **params: Unpack[SearchParams]) -> Iterator[str]:
        """The absolute hrefs of the matching items' (matching) assets, item by item."""
        query = Query.from_params(**params)
        for hits in self._blocks(query):
            assets = hits.assets
            if assets is None:
                assets = _asset_rows(
                    hits.sidecar, np.sort(hits.rows), ["row", *layout.ASSET_HREF_PARTS]
                )
            yield from _absolute_hrefs(hits, _in_row_order(assets, hits.rows))

    def count(self, **params: Unpack[SearchParams]) -> int:
        """How many items match (at most ``max_items``)."""
        query = Query.from_params(**params)
        return sum(len(hits.rows) for hits in self._blocks(query))

    def _blocks(self, query: Query) -> Iterator[Hits]:
        """The hits of ``query`` in output order, a block at a time."""
        labelled = _LabelMatches(self.sidecars, query) if query.labels else None
        matches = (hits for sidecar in self.sidecars for hits in _matches(sidecar, query, labelled))
        if query.sortby:
            yield from _sorted_blocks(list(matches), query)
            return
        remaining = query.max_items
        for hits in matches:
            if remaining is not None:
                if remaining <= 0:
                    return
                if len(hits.rows) > remaining:
                    hits = _first(hits, remaining)
                remaining -= len(hits.rows)
            yield hits


def _absolute_hrefs(hits: Hits, assets: pa.Table) -> list[str]:
    """The assets' hrefs, relative ones resolved against their item's href."""
    whole = _hrefs(assets)
    absolute = pc.fill_null(pc.match_substring_regex(whole, hrefs.ABSOLUTE), True)
    found = whole.to_pylist()
    if pc.all(absolute).as_py():
        return [href for href in found if href is not None]
    sidecar = hits.sidecar
    items = read_rows(sidecar.search, sidecar.search_offsets, hits.rows, ["href"])["href"]
    bases = dict(zip(hits.rows.tolist(), map(sidecar.absolute, items.to_pylist()), strict=True))
    return [
        href if done else hrefs.join(bases[row], href)
        for row, href, done in zip(
            assets["row"].to_pylist(), found, absolute.to_pylist(), strict=True
        )
        if href is not None
    ]


def _first(hits: Hits, n: int) -> Hits:
    rows = hits.rows[:n]
    assets = hits.assets
    if assets is not None:
        assets = assets.filter(pc.is_in(assets["row"], pa.array(rows)))
    return Hits(hits.sidecar, rows, assets)


class _LabelMatches:
    """Which items meet the label conditions, per sidecar: label items by their own
    ``label:overviews``, and items without labels of their own that a matching label item
    names as its ``source``."""

    def __init__(self, sidecars: Iterable[Sidecar], query: Query) -> None:
        self._sidecars = list(sidecars)
        self.rows: dict[Path, NDArray[np.int64]] = {}
        """The matching label items' rows."""
        self.labelled: dict[Path, NDArray[np.int64]] = {}
        """The rows of all items with labels."""
        for sidecar in self._sidecars:
            self.rows[sidecar.directory], self.labelled[sidecar.directory] = _label_rows(
                sidecar, query
            )

    def has_unlabelled(self, sidecar: Sidecar) -> bool:
        """Whether some items of ``sidecar`` have no labels (and may be sources)."""
        return len(self.labelled[sidecar.directory]) < sidecar.manifest["items"]

    @functools.cached_property
    def sources(self) -> pa.Array:
        """The hrefs the matching label items name as their sources, absolute (read on first
        need: a search for label items alone never needs them)."""
        sources = [pa.array([], pa.string())]
        for sidecar in self._sidecars:
            matched = self.rows[sidecar.directory]
            if len(matched):
                linked = read_rows(sidecar.search, sidecar.search_offsets, matched, ["sources"])
                sources.append(_absolute(sidecar, pc.list_flatten(linked["sources"])))
        return pc.unique(pa.concat_arrays(sources))

    def linked_in(self, sidecar: Sidecar) -> pa.Array:
        """The linked hrefs in the forms ``sidecar`` may store them (absolute or relative)."""
        relative = _relative_to(sidecar.directory.as_posix(), self.sources)
        return pa.concat_arrays([self.sources, relative.drop_null()])


_STEPS_UP = r"^(?:\.\./)+"
_IRREGULAR = r"(?:^|/)\.{0,2}(?:/|$)"
"""An empty, ``.`` or ``..`` path segment."""


def _absolute(sidecar: Sidecar, stored: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:meth:`Sidecar.absolute` of each href stored in ``sidecar``, vectorised.

    A relative path of ``../`` steps and then plain segments (what catalog writers produce) is
    the base directory less one folder per step, then the rest; other relative hrefs are
    resolved one by one.
    """
    if isinstance(stored, pa.ChunkedArray):
        stored = stored.combine_chunks()
    absolute = pc.fill_null(pc.match_substring_regex(stored, hrefs.ABSOLUTE), False)
    rest = pc.replace_substring_regex(stored, _STEPS_UP, "", max_replacements=1)
    steps = pc.divide(pc.subtract(pc.binary_length(stored), pc.binary_length(rest)), 3)
    steps = pc.fill_null(steps, 0)
    folders = [folder for folder in sidecar.base.split("/") if folder]
    bases = pa.array(
        [
            "/" + "".join(f"{folder}/" for folder in folders[: max(len(folders) - up, 0)])
            for up in range((pc.max(steps).as_py() or 0) + 1)
        ]
    )
    result = pc.if_else(absolute, stored, pc.binary_join_element_wise(bases.take(steps), rest, ""))
    irregular = pc.fill_null(pc.match_substring_regex(rest, _IRREGULAR), False)
    odd = np.flatnonzero(pc.and_not(irregular, absolute).to_numpy(zero_copy_only=False))
    if not len(odd):
        return result
    values = result.to_pylist()
    for i in odd.tolist():
        values[i] = sidecar.absolute(stored[i].as_py())
    return pa.array(values, pa.string())


def _relative_to(directory: str, paths: pa.Array) -> pa.Array:
    """Absolute normalised ``paths`` relative to the absolute ``directory``, vectorised (null
    for URLs): ``../`` for each folder of ``directory`` below their deepest common folder."""
    folders = [folder for folder in directory.split("/") if folder]
    relative = pa.nulls(len(paths), pa.string())
    for common in range(len(folders), -1, -1):
        ancestor = "/" + "".join(f"{folder}/" for folder in folders[:common])
        below = pc.and_(pc.starts_with(paths, ancestor), pc.is_null(relative))
        if not pc.any(below).as_py():
            continue
        steps = "../" * (len(folders) - common)
        rest = pc.utf8_slice_codeunits(paths, len(ancestor))
        relative = pc.if_else(below, pc.binary_join_element_wise(steps, rest, ""), relative)
    return relative


def _label_rows(sidecar: Sidecar, query: Query) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Rows of ``sidecar`` whose ``label:overviews`` meet every label condition, and the rows
    of all its items with labels."""
    if not sidecar.manifest.get("label_rows", 1):
        # No labels here: the file is not even opened (imagery sidecars searched by label).
        none = np.array([], dtype=np.int64)
        return none, none
    names = sorted({name for condition in query.labels for name in condition.names})
    table = sidecar.labels.read(columns=["row", "name", "count", "value"])
    # Arrow's hash unique then a sort: a fifth of np.unique's time on 10^5 rows.
    labelled = np.sort(pc.unique(table["row"]).to_numpy())
    if not len(labelled):
        return labelled, labelled
    table = table.filter(pc.is_in(table["name"], pa.array(names, pa.string())))
    number = pc.coalesce(table["value"], pc.cast(table["count"], pa.float64()))
    where = np.searchsorted(labelled, table["row"].to_numpy())
    valid = pc.is_valid(number).to_numpy(zero_copy_only=False)
    numbers = pc.fill_null(number, 0.0).to_numpy(zero_copy_only=False)
    keep = np.ones(len(labelled), dtype=bool)
    for condition in query.labels:
        named = pc.is_in(table["name"], pa.array(condition.names, pa.string()))
        mine = named.to_numpy(zero_copy_only=False)
        # Sums per row by numpy, not a group-by (which imports Arrow's query engine, a tenth of
        # a cold search): nulls are skipped, and a row whose numbers are all null sums to NaN.
        totals = np.bincount(where[mine], numbers[mine], len(labelled)).astype(np.float64)
        listed = np.bincount(where[mine], minlength=len(labelled))
        known = np.bincount(where[mine & valid], minlength=len(labelled))
        totals[(listed > 0) & (known == 0)] = np.nan
        keep &= condition.compare(totals, condition.threshold)
    return labelled[keep], labelled


def _matches(sidecar: Sidecar, query: Query, labelled: _LabelMatches | None) -> Iterator[Hits]:
    """The rows of ``sidecar`` that match ``query``, one ``search.parquet`` row group at a time."""
    area = query.spatial
    boxes = None
    if area is not None:
        boxes = _boxes(area)
        shapely.prepare(area)
    if query.collections is not None and not query.collections & sidecar.collections:
        return
    own_labels = labelled.rows.get(sidecar.directory) if labelled is not None else None
    # Linked hrefs are read, and put in this sidecar's forms, on first need: most searches that
    # combine labels with other filters rule out whole sidecars by their row-group statistics.
    linked: pa.Array | None = None
    links = labelled is not None and labelled.has_unlabelled(sidecar)
    columns = ["bbox"] if boxes else []
    if query.datetime is not None:
        columns += ["start", "end"]
    if query.collections is not None:
        columns.append("collection")
    if query.ids is not None:
        columns.append("id")
    if links:
        columns.append("href")
    offsets = sidecar.search_offsets
    for group in _candidate_groups(sidecar, query, boxes):
        first = int(offsets[group])
        count = int(offsets[group + 1]) - first
        table = sidecar.search.read_row_group(group, columns=columns) if columns else None
        keep = np.ones(count, dtype=bool)
        if table is not None and boxes:
            keep &= _overlaps(table["bbox"].combine_chunks(), boxes)
        if table is not None and query.datetime is not None:
            keep &= _meets(table["start"], table["end"], query.datetime)
        if table is not None and query.collections is not None:
            keep &= _is_in(table["collection"], query.collections)
        if table is not None and query.ids is not None:
            keep &= _is_in(table["id"], query.ids)
        if own_labels is not None:
            here = np.arange(first, first + count)
            labels = np.isin(here, own_labels)
            if labelled is not None and links and table is not None:
                if linked is None:
                    linked = labelled.linked_in(sidecar)
                # Hashes the group's hrefs, not the linked ones: a few thousand per group, and
                # linked hrefs may be many times that (is_in would hash them for every group).
                found = pc.index_in(linked, value_set=table["href"].combine_chunks())
                named = np.zeros(count, dtype=bool)
                named[found.drop_null().to_numpy()] = True
                labels |= named & ~np.isin(here, labelled.labelled[sidecar.directory])
            keep &= labels
        local = np.flatnonzero(keep)
        if area is not None and len(local):
            local = _exact(sidecar, group, local, area, query, table)
        rows = (local + first).astype(np.int64)
        if query.filter is not None and len(rows):
            rows = rows[_filtered(sidecar, rows, query.filter)]
        assets = None
        if query.filters_assets and len(rows):
            assets = _matching_assets(sidecar, rows, query)
            rows = np.unique(assets["row"].to_numpy()).astype(np.int64)
        if len(rows):
            yield Hits(sidecar, rows, assets)


def _boxes(area: shapely.Geometry) -> list[tuple[float, float, float, float]]:
    """Bounding boxes of the parts of ``area`` (of the whole, when it has many parts)."""
    parts = shapely.get_parts(area)
    return [_bounds(part) for part in parts] if 1 < len(parts) <= 16 else [_bounds(area)]


def _bounds(geometry: shapely.Geometry) -> tuple[float, float, float, float]:
    west, south, east, north = (float(v) for v in shapely.bounds(geometry))
    return west, south, east, north


def _candidate_groups(
    sidecar: Sidecar, query: Query, boxes: list[tuple[float, float, float, float]] | None
) -> Iterator[int]:
    """Row groups of ``search.parquet`` whose statistics allow a match."""
    stats = sidecar.search_statistics
    for group in range(sidecar.search.metadata.num_row_groups):
        low = {column: mins[group] for column, (mins, _) in stats.items()}
        high = {column: maxs[group] for column, (_, maxs) in stats.items()}
        if boxes and not _group_overlaps(low, high, boxes):
            continue
        if query.datetime is not None and not _group_meets(
            low["start"], high["end"], query.datetime
        ):
            continue
        if not _may_hold(low["collection"], high["collection"], query.collections):
            continue
        if not _may_hold(low["id"], high["id"], query.ids):
            continue
        yield group


def _group_overlaps(
    low: dict[str, Any], high: dict[str, Any], boxes: list[tuple[float, float, float, float]]
) -> bool:
    xmin, ymin, xmax, ymax = (
        low["bbox.xmin"],
        low["bbox.ymin"],
        high["bbox.xmax"],
        high["bbox.ymax"],
    )
    if None in (xmin, ymin, xmax, ymax):
        return True
    return any(
        xmin <= east and xmax >= west and ymin <= north and ymax >= south
        for west, south, east, north in boxes
    )


def _group_meets(earliest: Any, latest: Any, interval: Interval) -> bool:
    if earliest is None or latest is None:
        return False  # no item of the group has a time
    if interval.end is not None and earliest > interval.end:
        return False
    return interval.start is None or latest >= interval.start


def _may_hold(low: Any, high: Any, wanted: frozenset[str] | None) -> bool:
    if wanted is None:
        return True
    if low is None or high is None:
        return False
    return any(low <= w <= high for w in wanted)


def _overlaps(
    bbox: pa.StructArray, boxes: list[tuple[float, float, float, float]]
) -> NDArray[np.bool_]:
    xmin, ymin, xmax, ymax = (bbox.field(n).to_numpy() for n in ("xmin", "ymin", "xmax", "ymax"))
    hit = np.zeros(len(bbox), dtype=bool)
    for west, south, east, north in boxes:
        hit |= (xmin <= east) & (xmax >= west) & (ymin <= north) & (ymax >= south)
    return hit


def _inside(bbox: pa.StructArray, box: tuple[float, float, float, float]) -> NDArray[np.bool_]:
    xmin, ymin, xmax, ymax = (bbox.field(n).to_numpy() for n in ("xmin", "ymin", "xmax", "ymax"))
    west, south, east, north = box
    return (xmin >= west) & (xmax <= east) & (ymin >= south) & (ymax <= north)


def _meets(start: pa.ChunkedArray, end: pa.ChunkedArray, interval: Interval) -> NDArray[np.bool_]:
    """Items whose time interval meets ``interval`` (items without a time never do)."""
    hit = pc.and_(pc.is_valid(start), pc.is_valid(end))
    if interval.end is not None:
        hit = pc.and_kleene(hit, pc.less_equal(start, pa.scalar(interval.end, layout.TIMESTAMP)))
    if interval.start is not None:
        hit = pc.and_kleene(hit, pc.greater_equal(end, pa.scalar(interval.start, layout.TIMESTAMP)))
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)


def _is_in(column: pa.ChunkedArray, wanted: frozenset[str]) -> NDArray[np.bool_]:
    found = pc.is_in(column, value_set=pa.array(sorted(wanted), pa.string()))
    return found.to_numpy(zero_copy_only=False)


def _exact(
    sidecar: Sidecar,
    group: int,
    local: NDArray[np.intp],
    area: shapely.Geometry,
    query: Query,
    table: pa.Table | None,
) -> NDArray[np.intp]:
    """The candidates whose geometry intersects ``area``.

    For a bbox search, candidates whose bounds lie inside the box need no geometry.
    """
    if query.bbox is not None and table is not None and query.bbox[0] <= query.bbox[2]:
        sure = _inside(table["bbox"].combine_chunks().take(local), query.bbox)
    else:
        sure = np.zeros(len(local), dtype=bool)
    unsure = local[~sure]
    if not len(unsure):
        return local
    wkb = sidecar.search.read_row_group(group, columns=["geometry"])["geometry"]
    geometries = shapely.from_wkb(wkb.take(unsure).to_numpy(zero_copy_only=False))
    hit = sure.copy()
    hit[~sure] = shapely.intersects(area, geometries)
    return local[hit]


def _filtered(
    sidecar: Sidecar, rows: NDArray[np.int64], expr: Mapping[str, Any]
) -> NDArray[np.bool_]:
    """Which ``rows`` meet a CQL2 filter (its properties read from ``items.parquet``)."""
    available = set(sidecar.items.schema_arrow.names)
    columns = sorted(cql2_filter.referenced_properties(expr) & available)
    table = read_rows(sidecar.items, sidecar.items_offsets, rows, columns or ["id"])
    return cql2_filter.evaluate(expr, table)


def _asset_rows(
    sidecar: Sidecar,
    rows: NDArray[np.int64],
    columns: list[str],
    test: Callable[[pa.Table], NDArray[np.bool_]] | None = None,
    tested: Sequence[str] = (),
) -> pa.Table:
    """The ``assets.parquet`` rows of the items ``rows`` (sorted), in file order.

    Keys and hrefs come as dictionaries (see :func:`_hrefs`), so reading them costs little
    whichever rows are kept.

    Args:
        sidecar: The index.
        rows: Item row numbers, sorted.
        columns: Columns to return.
        test: Which of a group's asset rows to keep, given their ``tested`` columns.
        tested: Columns ``test`` reads.
    """
    first, last = sidecar.asset_row_ranges
    starts = np.searchsorted(rows, first, side="left")
    stops = np.searchsorted(rows, last, side="right")
    read = list(dict.fromkeys(["row", *columns, *tested]))
    parts = []
    for group in np.flatnonzero(starts < stops).tolist():
        table = sidecar.assets.read_row_group(group, columns=read)
        keep = np.isin(table["row"].to_numpy(), rows[starts[group] : stops[group]])
        if test is not None:
            keep &= test(table)
        if keep.any():
            parts.append(table.filter(pa.array(keep)).select(columns))
    if not parts:
        return sidecar.assets.schema_arrow.empty_table().select(columns)
    return pa.concat_tables(parts)


def _hrefs(assets: pa.Table) -> pa.ChunkedArray:
    """The whole hrefs of asset rows (decoded from their dictionary-encoded parts)."""
    folder, name = (assets[part].cast(pa.string()) for part in layout.ASSET_HREF_PARTS)
    return pc.binary_join_element_wise(folder, name, "")


def _matching_assets(sidecar: Sidecar, rows: NDArray[np.int64], query: Query) -> pa.Table:
    """The assets of ``rows`` that meet the query's asset filters (``row``, ``key`` and the
    href parts)."""
    columns = ["row", "key", *layout.ASSET_HREF_PARTS]
    wanted = _keys_passing(sidecar, query)
    if wanted is not None:
        # Decided key by key: only the keys are read.
        return _asset_rows(
            sidecar, rows, columns, lambda table: _key_matches(table, wanted.__contains__), ["key"]
        )
    tested: list[str] = []
    if query.asset_keys is not None:
        tested.append("key")
    if query.asset_roles is not None:
        tested.append("roles")
    if query.asset_datetime is not None:
        tested += ["start", "end"]
    return _asset_rows(sidecar, rows, columns, lambda table: _assets_meet(table, query), tested)


def _keys_passing(sidecar: Sidecar, query: Query) -> frozenset[str] | None:
    """The asset keys whose every asset meets the asset filters, when the manifest's per-key
    summary shows that every other key's assets all fail them; else None."""
    summary = sidecar.manifest.get("asset_keys")
    if not summary:
        return None
    passing = set()
    for key, known in summary.items():
        if query.asset_keys is not None and not query.asset_keys.fullmatch(key):
            continue
        if query.asset_roles is not None:
            if known["roles"] is None:
                return None
            if not query.asset_roles & set(known["roles"]):
                continue
        if query.asset_datetime is not None:
            meets = _all_or_none_meet(known, query.asset_datetime)
            if meets is None:
                return None
            if not meets:
                continue
        passing.add(key)
    return frozenset(passing)


def _all_or_none_meet(known: Mapping[str, Any], interval: Interval) -> bool | None:
    """Whether all (True) or none (False) of a key's assets meet ``interval``, from their
    start and end ranges (see :func:`_meets`); None when that depends on the asset."""
    if not known["timed"]:
        return False
    # Some asset has both times, so each range has both bounds.
    start = [parse_timestamp(v) for v in known["start"]]
    end = [parse_timestamp(v) for v in known["end"]]
    if (interval.end is not None and start[0] > interval.end) or (
        interval.start is not None and end[1] < interval.start
    ):
        return False
    if (
        known["timed"] == known["assets"]
        and (interval.end is None or start[1] <= interval.end)
        and (interval.start is None or end[0] >= interval.start)
    ):
        return True
    return None


def _key_matches(table: pa.Table, wanted: Callable[[str], object]) -> NDArray[np.bool_]:
    """Which asset rows have a ``wanted`` key, decided once per distinct key (on the keys'
    dictionary)."""
    keys = table["key"].combine_chunks()
    if not pa.types.is_dictionary(keys.type):
        keys = pc.dictionary_encode(keys)
    chosen = np.array([bool(wanted(key)) for key in keys.dictionary.to_pylist()], dtype=bool)
    return chosen[keys.indices.to_numpy(zero_copy_only=False)]


def _assets_meet(table: pa.Table, query: Query) -> NDArray[np.bool_]:
    """Which asset rows meet the query's asset filters."""
    keep = np.ones(table.num_rows, dtype=bool)
    if query.asset_keys is not None:
        keep &= _key_matches(table, query.asset_keys.fullmatch)
    if query.asset_roles is not None:
        roles = table["roles"].combine_chunks()
        flat = pc.list_flatten(roles)
        has = pc.is_in(flat, value_set=pa.array(sorted(query.asset_roles), pa.string()))
        parents = pc.list_parent_indices(roles).to_numpy()
        any_role = np.zeros(table.num_rows, dtype=bool)
        any_role[parents[has.to_numpy(zero_copy_only=False)]] = True
        keep &= any_role
    if query.asset_datetime is not None:
        keep &= _meets(table["start"], table["end"], query.asset_datetime)
    return keep


def _keys_per_row(assets: pa.Table) -> dict[int, set[str]]:
    keys: dict[int, set[str]] = {}
    for row, key in zip(assets["row"].to_pylist(), assets["key"].to_pylist(), strict=True):
        keys.setdefault(row, set()).add(key)
    return keys


def _in_row_order(assets: pa.Table, rows: NDArray[np.int64]) -> pa.Table:
    """Asset rows reordered to follow the item order ``rows`` (assets keep their order)."""
    position = np.empty(0, dtype=np.int64)
    if len(rows):
        order = np.argsort(rows)
        position = order[np.searchsorted(rows[order], assets["row"].to_numpy())]
    return assets.take(np.argsort(position, kind="stable"))


def _sorted_blocks(found: list[Hits], query: Query) -> Iterator[Hits]:
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
        while stop < len(which) and which[stop] == which[start] and stop - start < _BLOCK:
            stop += 1
        hits = found[which[start]]
        rows = hits.rows[position[start:stop]]
        assets = hits.assets
        if assets is not None:
            assets = assets.filter(pc.is_in(assets["row"], pa.array(rows)))
        yield Hits(hits.sidecar, rows, assets)
        start = stop


def _sort_values(hits: Hits, field: str) -> pa.Array:
    """The values of ``field`` for the hits (``datetime``: the item's time, or its start)."""
    sidecar = hits.sidecar
    if field in ("id", "collection", "datetime"):
        column = "start" if field == "datetime" else field
        table = read_rows(sidecar.search, sidecar.search_offsets, hits.rows, [column])
        return table[column].combine_chunks()
    if field not in sidecar.items.schema_arrow.names:
        return pa.nulls(len(hits.rows))
    table = read_rows(sidecar.items, sidecar.items_offsets, hits.rows, [field])
    return table[field].combine_chunks()
