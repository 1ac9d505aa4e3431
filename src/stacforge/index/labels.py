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
            named = np.zeros(count, dtype=bool)
            named[arrow_values.to_numpy(found.drop_null())] = True
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
    shares = any(condition.share for condition in conditions)
    columns = ["row", "name", "count", "value", *(["property_key"] if shares else [])]
    table = directory.labels.read(columns=columns)
    # Arrow's hash unique then a sort: a fifth of np.unique's time on 10^5 rows.
    labelled = np.sort(arrow_values.to_numpy(pc.unique(table["row"])))
    if not len(labelled):
        return labelled, labelled
    # Shares need the counts of every class of an entry, so they come before the name filter.
    share = _count_shares(table, labelled) if shares else None
    wanted = pc.is_in(table["name"], arrow_values.strings(names))
    table = table.filter(wanted)
    where = np.searchsorted(labelled, arrow_values.to_numpy(table["row"]))
    count = pc.cast(table["count"], pa.float64())
    numbers = {False: _known(pc.coalesce(table["value"], count))}
    if share is not None:
        numbers[True] = _known(pc.coalesce(table["value"], pc.filter(share, wanted)))
    keep = np.ones(len(labelled), dtype=bool)
    for condition in conditions:
        values, valid = numbers[condition.share]
        named = pc.is_in(table["name"], arrow_values.strings(condition.names))
        mine = arrow_values.to_numpy(named)
        # Sums per row by numpy, not a group-by (which imports Arrow's query engine, a tenth of
        # a cold search): nulls are skipped, and a row whose numbers are all null sums to NaN.
        totals = np.bincount(where[mine], values[mine], len(labelled)).astype(np.float64)
        listed = np.bincount(where[mine], minlength=len(labelled))
        known = np.bincount(where[mine & valid], minlength=len(labelled))
        totals[(listed > 0) & (known == 0)] = np.nan
        keep &= condition.compare(totals, condition.threshold)
    return labelled[keep], labelled


def _known(number: pa.Array | pa.ChunkedArray) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """A nullable number column as numbers (0 where null) and where they are known."""
    valid: NDArray[np.bool_] = arrow_values.to_numpy(pc.is_valid(number))
    values: NDArray[np.float64] = arrow_values.to_numpy(number, null=0.0)
    return values, valid


def _count_shares(table: pa.Table, labelled: NDArray[np.int64]) -> pa.Array:
    """Each label row's count over the total of the counts of its ``label:overviews`` entry
    (null where the count is null or the total is 0).

    The entries of an item are told apart by their ``property_key`` (``labels.parquet`` keeps
    no entry number; an overview summarises one property, so an item has one entry per key).

    Args:
        table: Label rows with ``row``, ``property_key`` and ``count``.
        labelled: The sorted distinct ``row`` values of ``table``.
    """
    keys = pc.dictionary_encode(arrow_values.combined(table["property_key"]))
    width = len(keys.dictionary) + 1  # null keys form an entry of their own
    key = arrow_values.to_numpy(keys.indices, null=-1).astype(np.int64) + 1
    entry = np.searchsorted(labelled, arrow_values.to_numpy(table["row"])) * width + key
    entries = len(labelled) * width
    if entries > 4 * len(entry):
        # Many distinct keys: number only the entries that occur.
        _, entry = np.unique(entry, return_inverse=True)
        entries = int(entry.max()) + 1
    count = table["count"]
    counts = arrow_values.to_numpy(count, null=0).astype(np.float64)
    totals = np.bincount(entry, counts, entries)[entry]
    unknown = arrow_values.to_numpy(pc.is_null(count)) | (totals == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = counts / totals
    return arrow_values.from_numpy(shares, null=unknown)
