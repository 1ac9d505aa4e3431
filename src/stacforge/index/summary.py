"""The manifest's statistics, gathered while the index writer's final rows stream past.

:class:`Summary` folds each chunk of ``search.parquet`` rows and each piece of the asset and
label tables into running counts and extents, vectorised, and then makes the
:class:`~stacforge.index.manifest.Manifest`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from stacforge._version import __version__
from stacforge.index.manifest import (
    AssetKeySummary,
    CollectionSummary,
    Extent,
    Manifest,
)
from stacforge.time import build_time

MAX_ASSET_KEYS: Final = 10_000
"""Asset keys the manifest summarises at most (keys made of item ids would grow it without
bound)."""
_ROLE_SEPARATOR: Final = "\x1f"
_T = TypeVar("_T", float, datetime)


class _Running:
    """Running count and extent of some items."""

    def __init__(self) -> None:
        self.items = 0
        self.low: list[float | None] = [None, None]
        self.high: list[float | None] = [None, None]
        self.start: datetime | None = None
        self.end: datetime | None = None

    def fold(self, search: pa.Table) -> None:
        """Adds the rows of ``search`` (``search.parquet`` rows)."""
        if not search.num_rows:
            return
        self.items += search.num_rows
        bbox = search["bbox"].combine_chunks()
        for i, name in enumerate(("xmin", "ymin")):
            self.low[i] = _pick(min, self.low[i], pc.min(bbox.field(name)).as_py())
        for i, name in enumerate(("xmax", "ymax")):
            self.high[i] = _pick(max, self.high[i], pc.max(bbox.field(name)).as_py())
        self.start = _pick(min, self.start, pc.min(search["start"]).as_py())
        self.end = _pick(max, self.end, pc.max(search["end"]).as_py())

    def extent(self) -> Extent:
        xmin, ymin = self.low
        xmax, ymax = self.high
        if xmin is None or ymin is None or xmax is None or ymax is None:
            return Extent(None, self.start, self.end)
        return Extent((xmin, ymin, xmax, ymax), self.start, self.end)


class _AssetKey:
    """Running summary of the assets under one key (see :class:`AssetKeySummary`)."""

    def __init__(self) -> None:
        self.assets = 0
        self.timed = 0
        self.start: list[datetime | None] = [None, None]
        self.end: list[datetime | None] = [None, None]
        self.roles: set[str] = set()

    def summary(self) -> AssetKeySummary:
        roles = None
        if len(self.roles) == 1:
            (joined,) = self.roles
            roles = tuple(joined.split(_ROLE_SEPARATOR)) if joined else ()
        return AssetKeySummary(
            assets=self.assets,
            timed=self.timed,
            start=(self.start[0], self.start[1]),
            end=(self.end[0], self.end[1]),
            roles=roles,
        )


class Summary:
    """Counts and extents gathered while the final rows stream past."""

    def __init__(self) -> None:
        self.items = 0
        self.assets = 0
        self.asset_keys: dict[str, _AssetKey] | None = {}
        self.label_rows = 0
        self.label_items = 0
        self.collections: dict[str, _Running] = {}
        self.overall = _Running()
        self.classes: dict[str, int] = {}

    def add(self, search: pa.Table) -> None:
        """Folds in a chunk of ``search.parquet`` rows."""
        self.items += search.num_rows
        self.overall.fold(search)
        for collection in pc.unique(search["collection"]).to_pylist():
            if collection is not None:
                rows = search.filter(pc.equal(search["collection"], collection))
                self.collections.setdefault(collection, _Running()).fold(rows)

    def add_assets(self, assets: pa.Table) -> None:
        """Counts asset rows, and folds them into the per-key summary."""
        self.assets += assets.num_rows
        if self.asset_keys is None:
            return
        # Null roles filter like no roles; both join to "".
        roles = pc.fill_null(pc.binary_join(assets["roles"], _ROLE_SEPARATOR), "")
        per_key = (
            assets.select(["key", "start", "end"])
            .append_column("roles", roles)
            .group_by("key")
            .aggregate(
                [
                    ("key", "count"),
                    ("start", "count"),
                    ("end", "count"),
                    ("start", "min_max"),
                    ("end", "min_max"),
                    ("roles", "distinct"),
                ]
            )
        )
        for row in per_key.to_pylist():
            known = self.asset_keys.setdefault(row["key"], _AssetKey())
            known.assets += row["key_count"]
            known.timed += min(row["start_count"], row["end_count"])
            for held, values in (
                (known.start, row["start_min_max"]),
                (known.end, row["end_min_max"]),
            ):
                held[0] = _pick(min, held[0], values["min"])
                held[1] = _pick(max, held[1], values["max"])
            known.roles.update(row["roles_distinct"])
        if len(self.asset_keys) > MAX_ASSET_KEYS:
            self.asset_keys = None

    def add_labels(self, labels: pa.Table) -> None:
        """Counts label rows, items with labels, and items per class (each item's rows come in
        one table)."""
        self.label_rows += labels.num_rows
        self.label_items += pc.count_distinct(labels["row"]).as_py()
        per_class = labels.group_by("name").aggregate([("row", "count_distinct")])
        for name, n in zip(
            per_class["name"].to_pylist(), per_class["row_count_distinct"].to_pylist(), strict=True
        ):
            self.classes[name] = self.classes.get(name, 0) + n

    def manifest(self, *, source: str | None, rows_per_group: int, rejected: int) -> Manifest:
        """The manifest of the rows folded in so far."""
        return Manifest(
            stacforge_version=__version__,
            created=build_time(),
            source=source,
            items_per_row_group=rows_per_group,
            items=self.items,
            rejected_items=rejected,
            assets=self.assets,
            asset_keys=None
            if self.asset_keys is None
            else {key: known.summary() for key, known in sorted(self.asset_keys.items())},
            label_rows=self.label_rows,
            label_items=self.label_items,
            extent=self.overall.extent(),
            collections={
                cid: CollectionSummary(running.items, running.extent())
                for cid, running in sorted(self.collections.items())
            },
            label_classes=dict(sorted(self.classes.items())),
        )


def _pick(function: Callable[[_T, _T], _T], held: _T | None, value: _T | None) -> _T | None:
    """``function(held, value)``, or whichever of the two is known."""
    if value is None:
        return held
    return value if held is None else function(held, value)
