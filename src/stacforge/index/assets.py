"""Asset filters (roles, key globs, asset times) and asset hrefs, from ``assets.parquet``.

Asset queries never read ``items.parquet``: ``assets.parquet`` holds one narrow row per asset
with typed times and dictionary-encoded keys and href parts. When the manifest's per-key
summary shows that every asset of a key passes the filters or every one fails them, the
filters are decided key by key and only the keys are read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from stacforge import hrefs
from stacforge.index import arrow_values, layout
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
        keep = np.isin(arrow_values.to_numpy(table["row"]), rows[starts[group] : stops[group]])
        if test is not None:
            keep &= test(table)
        if keep.any():
            parts.append(table.filter(arrow_values.from_numpy(keep)).select(columns))
    if not parts:
        return directory.assets.schema_arrow.empty_table().select(columns)
    return pa.concat_tables(parts)


def matching_assets(directory: IndexDirectory, rows: NDArray[np.int64], query: Query) -> pa.Table:
    """The assets of ``rows`` that meet the query's asset filters (``row``, ``key`` and the
    href parts)."""
    columns = ["row", "key", *layout.ASSET_HREF_PARTS]
    wanted = keys_passing(directory, query)
    if wanted is not None:
        # Decided key by key: only the keys are read.
        return asset_rows(
            directory,
            rows,
            columns,
            lambda table: _key_matches(table, wanted.__contains__),
            ["key"],
        )
    tested: list[str] = []
    if query.asset_keys is not None:
        tested.append("key")
    if query.asset_roles is not None:
        tested.append("roles")
    if query.asset_datetime is not None:
        tested += ["start", "end"]
    return asset_rows(directory, rows, columns, lambda table: _assets_meet(table, query), tested)


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


def _key_matches(table: pa.Table, wanted: Callable[[str], object]) -> NDArray[np.bool_]:
    """Which asset rows have a ``wanted`` key, decided once per distinct key (on the keys'
    dictionary)."""
    keys = arrow_values.combined(table["key"])
    if not pa.types.is_dictionary(keys.type):
        keys = pc.dictionary_encode(keys)
    chosen = np.array([bool(wanted(key)) for key in keys.dictionary.to_pylist()], dtype=bool)
    matches: NDArray[np.bool_] = chosen[arrow_values.to_numpy(keys.indices)]
    return matches


def _assets_meet(table: pa.Table, query: Query) -> NDArray[np.bool_]:
    """Which asset rows meet the query's asset filters."""
    keep = np.ones(table.num_rows, dtype=bool)
    if query.asset_keys is not None:
        keep &= _key_matches(table, query.asset_keys.fullmatch)
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


def absolute_hrefs(hits: Hits) -> list[str]:
    """The absolute hrefs of the hits' (matching) assets, item by item in output order;
    relative ones resolved against their item's href."""
    assets = hits.assets
    directory = hits.directory
    if assets is None:
        assets = asset_rows(directory, np.sort(hits.rows), ["row", *layout.ASSET_HREF_PARTS])
    assets = _in_row_order(assets, hits.rows)
    whole = _whole_hrefs(assets)
    is_absolute = pc.fill_null(pc.match_substring_regex(whole, hrefs.ABSOLUTE), True)
    found = whole.to_pylist()
    if pc.all(is_absolute).as_py():
        return [href for href in found if href is not None]
    items = read_rows(directory.search, directory.search_offsets, hits.rows, ["href"])["href"]
    bases = dict(zip(hits.rows.tolist(), map(directory.absolute, items.to_pylist()), strict=True))
    return [
        href if done else hrefs.join(bases[row], href)
        for row, href, done in zip(
            assets["row"].to_pylist(), found, is_absolute.to_pylist(), strict=True
        )
        if href is not None
    ]


def _whole_hrefs(assets: pa.Table) -> pa.ChunkedArray:
    """The whole hrefs of asset rows (decoded from their dictionary-encoded parts)."""
    folder, name = (assets[part].cast(pa.string()) for part in layout.ASSET_HREF_PARTS)
    return pc.binary_join_element_wise(folder, name, "")


def _in_row_order(assets: pa.Table, rows: NDArray[np.int64]) -> pa.Table:
    """Asset rows reordered to follow the item order ``rows`` (assets keep their order)."""
    position = np.empty(0, dtype=np.int64)
    if len(rows):
        order = np.argsort(rows)
        position = order[np.searchsorted(rows[order], assets["row"].to_numpy())]
    return assets.take(np.argsort(position, kind="stable"))
