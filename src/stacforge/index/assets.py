"""Asset filters (roles, key globs, asset times) and asset hrefs, from ``assets.parquet``.

Asset queries never read ``items.parquet``: ``assets.parquet`` holds one narrow row per asset
with typed times and dictionary-encoded keys and href parts. When the manifest's per-key
summary shows that every asset of a key passes the filters or every one fails them, the
filters are decided key by key and only the keys are read.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from stacforge import hrefs
from stacforge.index import arrow_values, href_arrays, layout
from stacforge.index.directory import IndexDirectory, read_rows
from stacforge.index.hits import Hits
from stacforge.index.manifest import AssetKeySummary
from stacforge.index.prune import meeting_rows
from stacforge.index.query import Interval, Query


def asset_rows(
    directory: IndexDirectory,
    rows: NDArray[np.int64],
    columns: list[str],
    test: Callable[[pa.Table], NDArray[np.bool_]] | None = None,
    tested: Sequence[str] = (),
) -> pa.Table:
    """The ``assets.parquet`` rows of the items ``rows`` (sorted), in file order.

    Keys and hrefs come as dictionaries (see :func:`_whole_hrefs`), so reading them costs
    little whichever rows are kept.

    Args:
        directory: The index directory.
        rows: Item row numbers, sorted.
        columns: Columns to return.
        test: Which of a group's asset rows to keep, given their ``tested`` columns.
        tested: Columns ``test`` reads.
    """
    first, last = directory.asset_row_ranges
    starts = np.searchsorted(rows, first, side="left")
    stops = np.searchsorted(rows, last, side="right")
    read = list(dict.fromkeys(["row", *columns, *tested]))
    parts = []
    for group in np.flatnonzero(starts < stops).tolist():
        table = directory.assets.read_row_group(group, columns=read)
        keep = _of_items(arrow_values.to_numpy(table["row"]), rows[starts[group] : stops[group]])
        if test is not None:
            keep &= test(table)
        if keep.any():
            parts.append(table.filter(arrow_values.from_numpy(keep)).select(columns))
    if not parts:
        return directory.assets.schema_arrow.empty_table().select(columns)
    return pa.concat_tables(parts)


def _of_items(asset_items: NDArray[np.int64], items: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which asset rows (their ``row`` column, sorted) belong to ``items`` (sorted, distinct):
    each item's assets are one run, found by bisection (``np.isin`` takes four times as long
    on a row group)."""
    begin = np.searchsorted(asset_items, items, side="left")
    end = np.searchsorted(asset_items, items, side="right")
    size = len(asset_items) + 1
    inside: NDArray[np.bool_] = (
        np.cumsum(np.bincount(begin, minlength=size) - np.bincount(end, minlength=size))[:-1] > 0
    )
    return inside


def asset_filter(
    directory: IndexDirectory, query: Query
) -> Callable[[NDArray[np.int64]], pa.Table]:
    """The query's asset filters on ``directory``: from item rows (sorted) to their assets
    that meet them (``row``, ``key`` and the href parts), decided once for all row groups.
    """
    columns = ["row", "key", *layout.ASSET_HREF_PARTS]
    wanted = keys_passing(directory, query)
    if wanted is not None:
        # Decided key by key: only the keys are read.
        chosen = arrow_values.strings(sorted(wanted))
        return functools.partial(
            asset_rows,
            directory,
            columns=columns,
            test=lambda table: _key_matches(table, lambda keys: pc.is_in(keys, value_set=chosen)),
            tested=["key"],
        )
    tested: list[str] = []
    if query.asset_keys is not None:
        tested.append("key")
    if query.asset_roles is not None:
        tested.append("roles")
    if query.asset_datetime is not None:
        tested += ["start", "end"]
    return functools.partial(
        asset_rows,
        directory,
        columns=columns,
        test=lambda table: _assets_meet(table, query),
        tested=tested,
    )


def keys_passing(directory: IndexDirectory, query: Query) -> frozenset[str] | None:
    """The asset keys whose every asset meets the asset filters, when the manifest's per-key
    summary shows that every other key's assets all fail them; else None."""
    summary = directory.manifest.asset_keys
    if not summary:
        return None
    passing = set()
    for key, known in summary.items():
        if query.asset_keys is not None and not query.asset_keys.fullmatch(key):
            continue
        if query.asset_roles is not None:
            if known.roles is None:
                return None
            if not query.asset_roles & set(known.roles):
                continue
        if query.asset_datetime is not None:
            meets = _all_or_none_meet(known, query.asset_datetime)
            if meets is None:
                return None
            if not meets:
                continue
        passing.add(key)
    return frozenset(passing)


def _all_or_none_meet(known: AssetKeySummary, interval: Interval) -> bool | None:
    """Whether all (True) or none (False) of a key's assets meet ``interval``, from their
    start and end ranges (see :func:`~stacforge.index.prune.meeting_rows`); None when that
    depends on the asset."""
    if not known.timed:
        return False
    (earliest_start, latest_start), (earliest_end, latest_end) = known.start, known.end
    if earliest_start is None or latest_start is None or earliest_end is None or latest_end is None:
        return None  # not so: some asset has both times, so each range has both bounds
    if (interval.end is not None and earliest_start > interval.end) or (
        interval.start is not None and latest_end < interval.start
    ):
        return False
    if (
        known.timed == known.assets
        and (interval.end is None or latest_start <= interval.end)
        and (interval.start is None or earliest_end >= interval.start)
    ):
        return True
    return None


def _key_matches(
    table: pa.Table, wanted: Callable[[pa.Array], pa.Array | NDArray[np.bool_]]
) -> NDArray[np.bool_]:
    """Which asset rows have a key that ``wanted`` chooses, decided once per distinct key (on
    the keys' dictionary)."""
    keys = _dictionary(arrow_values.combined(table["key"]))
    chosen = wanted(keys.dictionary)
    if isinstance(chosen, pa.Array):
        chosen = arrow_values.to_numpy(chosen)
    matches: NDArray[np.bool_] = chosen[arrow_values.to_numpy(keys.indices)]
    return matches


def _assets_meet(table: pa.Table, query: Query) -> NDArray[np.bool_]:
    """Which asset rows meet the query's asset filters."""
    keep = np.ones(table.num_rows, dtype=bool)
    pattern = query.asset_keys
    if pattern is not None:
        keep &= _key_matches(
            table,
            lambda keys: np.array([bool(pattern.fullmatch(key)) for key in keys.to_pylist()]),
        )
    if query.asset_roles is not None:
        roles = arrow_values.combined(table["roles"])
        flat = pc.list_flatten(roles)
        has = pc.is_in(flat, value_set=arrow_values.strings(sorted(query.asset_roles)))
        parents = arrow_values.to_numpy(pc.list_parent_indices(roles))
        any_role = np.zeros(table.num_rows, dtype=bool)
        any_role[parents[arrow_values.to_numpy(has)]] = True
        keep &= any_role
    if query.asset_datetime is not None:
        keep &= meeting_rows(table["start"], table["end"], query.asset_datetime)
    return keep


def keys_per_row(assets: pa.Table) -> dict[int, set[str]]:
    """The asset keys of each item row in ``assets``."""
    keys: dict[int, set[str]] = {}
    for row, key in zip(assets["row"].to_pylist(), assets["key"].to_pylist(), strict=True):
        keys.setdefault(row, set()).add(key)
    return keys


def absolute_hrefs(hits: Hits) -> Iterator[pa.Array]:
    """The absolute hrefs of the hits' (matching) assets, item by item in output order, as
    Arrow strings (an array per ``assets.parquet`` row group read); relative ones resolved
    against their item's href."""
    assets = hits.assets
    directory = hits.directory
    if assets is None:
        assets = asset_rows(directory, np.sort(hits.rows), ["row", *layout.ASSET_HREF_PARTS])
    if np.any(hits.rows[1:] < hits.rows[:-1]):  # sorted by a field: assets follow the items
        assets = _in_row_order(assets, hits.rows)
    for batch in assets.to_batches():
        yield _whole_hrefs(directory, batch)


def _whole_hrefs(directory: IndexDirectory, assets: pa.RecordBatch) -> pa.Array:
    """The hrefs of asset rows, whole and absolute (null ones left out).

    Their parts are dictionary-encoded, so whether an href is absolute is decided once per
    distinct folder, and a relative one is resolved once per item and folder (the file name
    is a plain path segment, appended as it is); the rest is Arrow kernels on the whole batch.
    """
    folder, name = (_dictionary(assets.column(part)) for part in layout.ASSET_HREF_PARTS)
    valid = arrow_values.to_numpy(pc.is_valid(folder))
    folder_at = arrow_values.to_numpy(folder.indices, null=0).astype(np.int64)
    name_at = arrow_values.to_numpy(name.indices, null=0).astype(np.int64)
    folders, names = folder.dictionary, name.dictionary
    folder_absolute = arrow_values.to_numpy(pc.match_substring_regex(folders, hrefs.ABSOLUTE))
    name_absolute = arrow_values.to_numpy(pc.match_substring_regex(names, hrefs.ABSOLUTE))
    bare = arrow_values.to_numpy(pc.equal(pc.binary_length(folders), arrow_values.scalar(0)))
    # An href's folder is its start up to its last "/": it is absolute if its folder is (an
    # href without a folder is its name).
    absolute = folder_absolute[folder_at] | (bare[folder_at] & name_absolute[name_at])
    relative = np.flatnonzero(valid & ~absolute)
    if len(relative):
        folders, names = _resolved(directory, assets, folders, names, relative, folder_at, name_at)
    if not valid.all():
        folder_at, name_at = folder_at[valid], name_at[valid]
    return pc.binary_join_element_wise(
        folders.take(arrow_values.from_numpy(folder_at)),
        names.take(arrow_values.from_numpy(name_at)),
        arrow_values.scalar(""),
    )


_NOT_A_SEGMENT = frozenset({"", ".", ".."})
_URL_SYNTAX = re.compile(r"[:?#]")
"""Characters that make an href without a folder more than a path (a scheme, query or
fragment) to a URL parser."""


def _resolved(
    directory: IndexDirectory,
    assets: pa.RecordBatch,
    folders: pa.Array,
    names: pa.Array,
    relative: NDArray[np.intp],
    folder_at: NDArray[np.int64],
    name_at: NDArray[np.int64],
) -> tuple[pa.Array, pa.Array]:
    """Resolves the relative hrefs of the asset rows ``relative`` against their items' hrefs.

    Each item's folders are resolved once (with a stand-in name, then taken off) and appended
    to ``folders``; an href whose name is not a plain path segment is resolved whole and
    appended with an empty name. ``folder_at`` and ``name_at`` are pointed at them in place.

    Returns:
        The dictionaries of folders and names, extended.
    """
    rows = arrow_values.to_numpy(assets.column("row"))[relative]
    items = arrow_values.distinct(rows)
    stored = read_rows(directory.search, directory.search_offsets, items, ["href"])["href"]
    bases = href_arrays.absolute(directory, stored).to_pylist()
    base_at = np.searchsorted(items, rows)
    folder_list, name_list = folders.to_pylist(), names.to_pylist()
    bare = np.array([folder == "" for folder in folder_list], dtype=bool)
    not_segment = np.array([name in _NOT_A_SEGMENT for name in name_list], dtype=bool)
    url_syntax = np.array([_URL_SYNTAX.search(name) is not None for name in name_list], dtype=bool)
    whole = not_segment[name_at[relative]] | (
        bare[folder_at[relative]] & url_syntax[name_at[relative]]
    )
    plain = relative[~whole]
    width = len(folder_list)
    distinct, inverse = np.unique(base_at[~whole] * width + folder_at[plain], return_inverse=True)
    resolved = [
        hrefs.join(bases[pair // width], folder_list[pair % width] + "_")[:-1]
        for pair in distinct.tolist()
    ]
    odd = relative[whole]
    resolved += [
        hrefs.join(bases[base], folder_list[folder_at[row]] + name_list[name_at[row]])
        for row, base in zip(odd.tolist(), base_at[whole].tolist(), strict=True)
    ]
    folder_at[plain] = width + inverse
    folder_at[odd] = width + len(distinct) + np.arange(len(odd))
    name_at[odd] = len(name_list)
    return (
        pa.concat_arrays([folders, arrow_values.strings(resolved)]),
        pa.concat_arrays([names, arrow_values.strings([""])]),
    )


def _dictionary(values: pa.Array) -> pa.DictionaryArray:
    """Values as a dictionary array (``assets.parquet`` columns are read as ones)."""
    return values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)


def _in_row_order(assets: pa.Table, rows: NDArray[np.int64]) -> pa.Table:
    """Asset rows reordered to follow the item order ``rows`` (assets keep their order)."""
    position = np.empty(0, dtype=np.int64)
    if len(rows):
        order = np.argsort(rows)
        position = order[np.searchsorted(rows[order], arrow_values.to_numpy(assets["row"]))]
    return assets.take(arrow_values.from_numpy(np.argsort(position, kind="stable")))
