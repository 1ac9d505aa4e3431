"""Label conditions: which items' ``label:overviews`` meet them, vectorised over
``labels.parquet``.

A condition (:class:`~stacforge.index.query.LabelCondition`) compares the sum of the numbers
of one or more classes with a threshold. A class's number is its statistics ``value`` (a
share), else its ``count``; for a condition on shares (``corn>=30%``), its statistics
``value``, else its count over the total of the counts of its overview entry. A class an item
does not list counts 0. Label items are judged by their own overviews; an item without labels
of its own matches when a matching label item names it as its ``source``, in any of the
indexes searched together.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from stacforge.index import arrow_values, href_arrays
from stacforge.index.directory import IndexDirectory, read_rows
from stacforge.index.query import LabelCondition


class LabelMatches:
    """Which items meet the label conditions, per index directory: label items by their own
    ``label:overviews``, and items without labels of their own that a matching label item
    names as its ``source``."""

    def __init__(
        self, directories: Iterable[IndexDirectory], conditions: tuple[LabelCondition, ...]
    ) -> None:
        self._directories = list(directories)
        found = {
            directory.path: label_rows(directory, conditions) for directory in self._directories
        }
        self.rows: dict[Path, NDArray[np.int64]] = {path: rows for path, (rows, _) in found.items()}
        """The matching label items' rows."""
        self._ids = {path: ids for path, (_, ids) in found.items()}
        self._linked: dict[Path, pa.Array] = {}

    def ids_of(self, directory: IndexDirectory, rows: NDArray[np.int64]) -> pa.Array | None:
        """The item ids of ``rows``, if they are all matching label items whose ids came with
        their label rows (so ``search.parquet`` need not be read for them); else None."""
        ids = self._ids[directory.path]
        matched = self.rows[directory.path]
        if ids is None or not len(rows):
            return None
        at = np.searchsorted(matched, rows)
        if at.max() >= len(matched) or not np.array_equal(matched[at], rows):
            return None
        return arrow_values.take_binary(ids, at)

    def has_unlabelled(self, directory: IndexDirectory) -> bool:
        """Whether some items of ``directory`` have no labels (and may be sources)."""
        return directory.manifest.label_items < directory.manifest.items

    @functools.cached_property
    def sources(self) -> pa.Array:
        """The hrefs the matching label items name as their sources, absolute (read on first
        need: a search for label items alone never needs them)."""
        sources = [arrow_values.strings([])]
        for directory in self._directories:
            matched = self.rows[directory.path]
            if len(matched):
                linked = read_rows(directory.search, directory.search_offsets, matched, ["sources"])
                sources.append(href_arrays.absolute(directory, pc.list_flatten(linked["sources"])))
        return pc.unique(pa.concat_arrays(sources))

    def linked_in(self, directory: IndexDirectory) -> pa.Array:
        """The linked hrefs in the forms ``directory`` may store them (absolute or relative);
        put in those forms on first need: most searches that combine labels with other
        filters rule out whole directories by their row-group statistics."""
        found = self._linked.get(directory.path)
        if found is None:
            relative = href_arrays.relative_to(directory.path.as_posix(), self.sources)
            found = pa.concat_arrays([self.sources, relative.drop_null()])
            self._linked[directory.path] = found
        return found

    def in_group(
        self,
        directory: IndexDirectory,
        first: int,
        count: int,
        item_hrefs: pa.ChunkedArray | None,
    ) -> NDArray[np.bool_]:
        """Which of the rows ``first:first + count`` match.

        Args:
            directory: The index directory.
            first: The first row.
            count: How many rows.
            item_hrefs: The rows' ``href`` column, when some items of ``directory`` have no
                labels (:meth:`has_unlabelled`): they match through ``source`` links.
        """
        here = np.arange(first, first + count)
        matches: NDArray[np.bool_] = np.isin(here, self.rows[directory.path])
        if item_hrefs is not None:
            # Hashes the group's hrefs, not the linked ones: a few thousand per group, and
            # linked hrefs may be many times that (is_in would hash them for every group).
            found = pc.index_in(
                self.linked_in(directory), value_set=arrow_values.combined(item_hrefs)
            )
            named = arrow_values.to_numpy(found.drop_null())
            if len(named):
                # Items with labels of their own match by them alone (told apart only now: in
                # an index with some unlabelled items, that reads every label row).
                linked = np.zeros(count, dtype=bool)
                linked[named] = True
                matches |= linked & ~np.isin(here, directory.labelled_rows)
        return matches


def label_rows(
    directory: IndexDirectory, conditions: tuple[LabelCondition, ...]
) -> tuple[NDArray[np.int64], pa.Array | None]:
    """Rows of ``directory`` whose ``label:overviews`` meet every condition, sorted, and their
    item ids when the label rows read hold them all (None otherwise).

    Only the row groups of ``labels.parquet`` that may hold the classes named are read (the
    table is sorted by class). The other items with labels list none of those classes, so
    they are read as well (:attr:`~stacforge.index.directory.IndexDirectory.labelled_rows`)
    only when a condition holds for a class an item does not list (``corn<5``).
    """
    if not directory.manifest.label_rows:
        # No labels here: the file is not even opened (imagery indexes searched by label).
        return np.array([], dtype=np.int64), None
    names = sorted({name for condition in conditions for name in condition.names})
    shares = any(condition.share for condition in conditions)
    columns = ["row", "id", "name", "count", "value", *(["share"] if shares else [])]
    groups = class_row_groups(directory, names)
    # On the calling thread: starting Arrow's thread pool costs a cold search more than the
    # one or two row groups it would read in parallel.
    table = directory.labels.read_row_groups(groups, columns=columns, use_threads=False)
    table = table.filter(pc.is_in(table["name"], arrow_values.strings(names)))
    rows = arrow_values.to_numpy(table["row"])
    if any(condition.compare(0.0, condition.threshold) for condition in conditions):
        candidates = directory.labelled_rows
    else:
        # Every condition fails for an item that lists none of its classes (it counts 0).
        candidates = arrow_values.distinct(rows)
    if not len(candidates):
        return candidates, None
    where = np.searchsorted(candidates, rows)
    count = pc.cast(table["count"], pa.float64())
    numbers = {False: _known(pc.coalesce(table["value"], count))}
    if shares:
        numbers[True] = _known(pc.coalesce(table["value"], table["share"]))
    keep = np.ones(len(candidates), dtype=bool)
    for condition in conditions:
        values, valid = numbers[condition.share]
        named = pc.is_in(table["name"], arrow_values.strings(condition.names))
        mine = arrow_values.to_numpy(named)
        # Sums per row by numpy, not a group-by (which imports Arrow's query engine, a tenth of
        # a cold search): nulls are skipped, and a row whose numbers are all null sums to NaN.
        totals = np.bincount(where[mine], values[mine], len(candidates)).astype(np.float64)
        listed = np.bincount(where[mine], minlength=len(candidates))
        known = np.bincount(where[mine & valid], minlength=len(candidates))
        totals[(listed > 0) & (known == 0)] = np.nan
        keep &= condition.compare(totals, condition.threshold)
    matched = candidates[keep]
    listed_rows = np.zeros(len(candidates), dtype=bool)
    listed_rows[where] = True
    if not listed_rows[keep].all():
        return matched, None  # some matched because of a class they do not list: no label row
    # Each candidate's first label row gives its item id (every label row names its item).
    first = np.full(len(candidates), len(rows), dtype=np.int64)
    np.minimum.at(first, where, np.arange(len(rows)))
    return matched, arrow_values.take_binary(table["id"], first[keep])


def class_row_groups(directory: IndexDirectory, names: list[str]) -> list[int]:
    """The row groups of ``labels.parquet`` whose ``name`` range holds one of the sorted
    class ``names`` (or is unknown)."""
    wanted = np.array(names, dtype=object)
    first, last = directory.label_name_ranges
    return [
        group
        for group, (low, high) in enumerate(zip(first, last, strict=True))
        if low is None
        or high is None
        or np.searchsorted(wanted, low) < np.searchsorted(wanted, high, side="right")
    ]


def _known(number: pa.Array | pa.ChunkedArray) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """A nullable number column as numbers (0 where null) and where they are known."""
    valid: NDArray[np.bool_] = arrow_values.to_numpy(pc.is_valid(number))
    values: NDArray[np.float64] = arrow_values.to_numpy(number, null=0.0)
    return values, valid
