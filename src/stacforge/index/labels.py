"""Label conditions: which items' ``label:overviews`` meet them, vectorised over
``labels.parquet``.

A condition (:class:`~stacforge.index.query.LabelCondition`) compares the sum of the numbers
of one or more classes with a threshold. A class's number is its statistics ``value`` (a
share), else its ``count``; a class an item does not list counts 0. Label items are judged by
their own overviews; an item without labels of its own matches when a matching label item
names it as its ``source``, in any of the indexes searched together.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from stacforge.index import href_arrays
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
        self.rows: dict[Path, NDArray[np.int64]] = {}
        """The matching label items' rows."""
        self.labelled: dict[Path, NDArray[np.int64]] = {}
        """The rows of all items with labels."""
        self._linked: dict[Path, pa.Array] = {}
        for directory in self._directories:
            self.rows[directory.path], self.labelled[directory.path] = label_rows(
                directory, conditions
            )

    def has_unlabelled(self, directory: IndexDirectory) -> bool:
        """Whether some items of ``directory`` have no labels (and may be sources)."""
        return len(self.labelled[directory.path]) < directory.manifest.items

    @functools.cached_property
    def sources(self) -> pa.Array:
        """The hrefs the matching label items name as their sources, absolute (read on first
        need: a search for label items alone never needs them)."""
        sources = [pa.array([], pa.string())]
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
            found = pc.index_in(self.linked_in(directory), value_set=item_hrefs.combine_chunks())
            named = np.zeros(count, dtype=bool)
            named[found.drop_null().to_numpy()] = True
            matches |= named & ~np.isin(here, self.labelled[directory.path])
        return matches


def label_rows(
    directory: IndexDirectory, conditions: tuple[LabelCondition, ...]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Rows of ``directory`` whose ``label:overviews`` meet every condition, and the rows of
    all its items with labels."""
    if not directory.manifest.label_rows:
        # No labels here: the file is not even opened (imagery indexes searched by label).
        none = np.array([], dtype=np.int64)
        return none, none
    names = sorted({name for condition in conditions for name in condition.names})
    table = directory.labels.read(columns=["row", "name", "count", "value"])
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
    for condition in conditions:
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
