"""Spatial, temporal, id and collection tests on ``search.parquet``: whole row groups first.

:func:`candidate_groups` skips row groups whose min/max statistics rule out a match; the
``*_rows`` tests then check the narrow columns of a remaining group, vectorised; :func:`exact`
decodes geometries only for candidates whose bounds are not already inside the search box.

A search by bbox alone imports neither shapely (but to test geometries on the box's edge) nor
``pyarrow.compute`` (see :mod:`.arrow_values`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from stacforge.index import arrow_values
from stacforge.index.directory import IndexDirectory
from stacforge.index.query import Interval, Query

Box = tuple[float, float, float, float]
"""west, south, east, north"""


def search_boxes(query: Query) -> list[Box] | None:
    """Bounding boxes of the search area: the ``bbox`` (two where it crosses the antimeridian),
    or those of the parts of ``intersects`` (of the whole, when it has many parts); None
    without a search area.

    A ``bbox`` needs no geometry library: shapely is imported only when a geometry must be
    tested (see :func:`exact`).
    """
    if query.bbox is not None:
        west, south, east, north = query.bbox
        if west <= east:
            return [query.bbox]
        return [(west, south, 180.0, north), (-180.0, south, east, north)]
    if query.intersects is None:
        return None
    import shapely

    parts = shapely.get_parts(query.intersects)
    if not 1 < len(parts) <= 16:
        parts = [query.intersects]
    return [(float(w), float(s), float(e), float(n)) for w, s, e, n in shapely.bounds(parts)]


def candidate_groups(
    directory: IndexDirectory, query: Query, area_boxes: list[Box] | None
) -> Iterator[int]:
    """Row groups of ``search.parquet`` whose statistics allow a match."""
    stats = directory.search_statistics
    for group in range(directory.search.metadata.num_row_groups):
        low = {column: mins[group] for column, (mins, _) in stats.items()}
        high = {column: maxs[group] for column, (_, maxs) in stats.items()}
        if area_boxes and not _group_overlaps(low, high, area_boxes):
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


def _group_overlaps(low: dict[str, Any], high: dict[str, Any], area_boxes: list[Box]) -> bool:
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
        for west, south, east, north in area_boxes
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


def _corners(bbox: pa.StructArray) -> list[NDArray[np.float64]]:
    """xmin, ymin, xmax, ymax; NaN for items without geometry (no comparison holds)."""
    return [
        arrow_values.to_numpy(bbox.field(n), null=np.nan) for n in ("xmin", "ymin", "xmax", "ymax")
    ]


def overlapping_rows(bbox: pa.StructArray, area_boxes: list[Box]) -> NDArray[np.bool_]:
    """Which rows' bounds overlap any of ``area_boxes`` (rows without geometry: none)."""
    xmin, ymin, xmax, ymax = _corners(bbox)
    hit = np.zeros(len(bbox), dtype=bool)
    for west, south, east, north in area_boxes:
        hit |= (xmin <= east) & (xmax >= west) & (ymin <= north) & (ymax >= south)
    return hit


def _inside(bbox: pa.StructArray, box: Box, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
    """Which of ``rows`` have bounds inside ``box``."""
    xmin, ymin, xmax, ymax = (corner[rows] for corner in _corners(bbox))
    west, south, east, north = box
    inside: NDArray[np.bool_] = (xmin >= west) & (xmax <= east) & (ymin >= south) & (ymax <= north)
    return inside


def meeting_rows(
    start: pa.ChunkedArray, end: pa.ChunkedArray, interval: Interval
) -> NDArray[np.bool_]:
    """Rows whose time interval meets ``interval`` (rows without a time never do)."""
    import pyarrow.compute as pc

    hit = pc.and_(pc.is_valid(start), pc.is_valid(end))
    if interval.end is not None:
        hit = pc.and_kleene(hit, pc.less_equal(start, arrow_values.timestamp(interval.end)))
    if interval.start is not None:
        hit = pc.and_kleene(hit, pc.greater_equal(end, arrow_values.timestamp(interval.start)))
    # No nulls are left: a row without both times is false, and false AND unknown is false.
    met: NDArray[np.bool_] = arrow_values.to_numpy(hit)
    return met


def rows_in(column: pa.ChunkedArray, wanted: frozenset[str]) -> NDArray[np.bool_]:
    """Rows whose value is one of ``wanted``."""
    import pyarrow.compute as pc

    found = pc.is_in(column, value_set=arrow_values.strings(sorted(wanted)))
    rows: NDArray[np.bool_] = arrow_values.to_numpy(found)
    return rows


def exact(
    directory: IndexDirectory,
    group: int,
    local: NDArray[np.intp],
    query: Query,
    table: pa.Table | None,
) -> NDArray[np.intp]:
    """The candidates (rows ``local`` of row group ``group``) whose geometry intersects the
    search area.

    For a bbox search, candidates whose bounds lie inside the box need no geometry.
    """
    if query.bbox is not None and table is not None and query.bbox[0] <= query.bbox[2]:
        sure = _inside(arrow_values.combined(table["bbox"]), query.bbox, local)
    else:
        sure = np.zeros(len(local), dtype=bool)
    unsure = local[~sure]
    if not len(unsure):
        return local
    import shapely

    wkb = directory.search_columns(group, ["geometry"])["geometry"]
    geometries = shapely.from_wkb(arrow_values.take_binary(wkb, unsure).to_pylist())
    hit = sure.copy()
    hit[~sure] = shapely.intersects(query.spatial, geometries)
    return local[hit]
