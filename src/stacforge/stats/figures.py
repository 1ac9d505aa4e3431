"""The numbers behind the pictures of one index: class counts by split, a footprint grid.

Read from the index files (``items.parquet``, ``labels.parquet``) a few columns at a time, so a
million items take seconds; no item JSON is opened.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

SPLIT = "ml-aoi:split"
OUTLINES_UP_TO = 20_000
"""Collections with at most this many label items get their footprints drawn; bigger ones a
density grid (drawing a million polygons would take minutes and show a smear)."""
MAX_BARS = 40
"""The bar chart shows the classes with the highest totals, at most this many."""
GRID_CELLS = 72
"""The footprint grid has at most this many cells along its longer side."""
_GRID_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)


@dataclass(frozen=True)
class ClassCount:
    """One class of one split: a bar of the class chart.

    Attributes:
        property_key: The ``label:overviews`` property the class belongs to.
        name: The class name.
        split: The ``ml-aoi:split`` of the items counted, ``None`` where they have none.
        items: Label items whose overview lists the class with a count or share above 0.
        count: The sum of the class's overview counts, ``None`` where overviews give shares.
        share: The mean of the class's overview shares over all label items of the split
            (an item without the class counts 0), ``None`` where overviews give counts.
    """

    property_key: str | None
    name: str
    split: str | None
    items: int
    count: int | None
    share: float | None


@dataclass(frozen=True)
class FootprintGrid:
    """How many label items have the centre of their bounding box in each grid cell.

    Attributes:
        step: The cell size in degrees.
        west: The longitude of the grid's western edge.
        south: The latitude of the grid's southern edge.
        items: Item counts, one list per row of cells from south to north, each from west to
            east.
    """

    step: float
    west: float
    south: float
    items: list[list[int]]


@dataclass(frozen=True)
class LabelStats:
    """The figures of one collection of label items.

    Attributes:
        collection: The collection id.
        index: The index folder the numbers were read from.
        label_items: How many label items the collection has.
        splits: Label items per ``ml-aoi:split`` (key ``None``: items without a split).
        bbox: ``[west, south, east, north]`` of the label items.
        classes: The class counts, by property key, class and split.
        footprints: The footprint grid.
    """

    collection: str
    index: Path
    label_items: int
    splits: dict[str | None, int]
    bbox: list[float]
    classes: list[ClassCount]
    footprints: FootprintGrid

    def classes_json(self) -> dict[str, Any]:
        """The class chart as JSON-ready numbers."""
        return {
            "collection": self.collection,
            "label_items": self.label_items,
            "splits": [{"split": key, "items": n} for key, n in self.splits.items()],
            "classes": [asdict(c) for c in self.classes],
        }

    def footprints_json(self) -> dict[str, Any]:
        """The footprint map as JSON-ready numbers."""
        return {
            "collection": self.collection,
            "label_items": self.label_items,
            "bbox": self.bbox,
            "grid": asdict(self.footprints),
        }


def label_stats(index: str | Path) -> list[LabelStats]:
    """The figures of every collection of label items in one index folder, by collection id.

    ``labels.parquet`` rows point at their item by ``row``, its position in ``items.parquet``
    (the index format keeps one row order in all its tables).
    """
    index = Path(index)
    items_file = pq.ParquetFile(index / "items.parquet")
    names = set(items_file.schema_arrow.names)
    if "label:type" not in names:
        return []
    columns = ["collection", "label:type", "bbox"] + ([SPLIT] if SPLIT in names else [])
    items = items_file.read(columns=columns)
    collection = _strings(items["collection"])
    split = _strings(items[SPLIT]) if SPLIT in names else pa.nulls(items.num_rows, pa.string())
    labelled = pa.table(
        {"row": pa.array(np.arange(items.num_rows)), "collection": collection, "split": split}
    ).filter(pc.is_valid(items["label:type"]))
    labels = _label_rows(index / "labels.parquet")
    labels = labels.append_column("collection", collection.take(labels["row"]))
    labels = labels.append_column("split", split.take(labels["row"]))
    labels = labels.filter(pc.is_valid(items["label:type"]).take(labels["row"]))
    found = []
    for name in sorted(pc.unique(labelled["collection"]).drop_null().to_pylist()):
        mine = labelled.filter(pc.equal(labelled["collection"], name))
        bbox = _bbox_array(items["bbox"].take(mine["row"]))
        sizes = _split_sizes(mine["split"])
        found.append(
            LabelStats(
                collection=str(name),
                index=index,
                label_items=mine.num_rows,
                splits=sizes,
                bbox=_extent(bbox),
                classes=_class_counts(labels.filter(pc.equal(labels["collection"], name)), sizes),
                footprints=_grid(bbox),
            )
        )
    return found


def _strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A string column, dictionary-encoded or not, as plain strings."""
    return pc.cast(column, pa.string())


def _label_rows(path: Path) -> pa.Table:
    """The ``labels.parquet`` rows with a count or share above 0."""
    columns = ["row", "property_key", "name", "count", "value"]
    if not path.is_file():
        return pa.table(
            {"row": pa.array([], pa.int64()), "property_key": pa.array([], pa.string())}
            | {"name": pa.array([], pa.string()), "count": pa.array([], pa.int64())}
            | {"value": pa.array([], pa.float64())}
        )
    table = pq.read_table(path, columns=columns)
    present = pc.or_(
        pc.greater(pc.fill_null(table["count"], 0), 0),
        pc.greater(pc.fill_null(table["value"], 0.0), 0.0),
    )
    table = table.filter(present)
    return table.set_column(1, "property_key", _strings(table["property_key"])).set_column(
        2, "name", _strings(table["name"])
    )


def _split_sizes(splits: pa.ChunkedArray) -> dict[str | None, int]:
    """Items per split, in the order train, validate, test, others, none."""
    counted = pc.value_counts(splits).to_pylist()
    sizes = {entry["values"]: entry["counts"] for entry in counted}
    return {split: sizes[split] for split in sorted(sizes, key=_split_order)}


def _split_order(split: str | None) -> tuple[int, str]:
    known = {"train": 0, "validate": 1, "validation": 1, "test": 2}
    return (known.get(split or "", 3 if split else 4), split or "")


def _class_counts(labels: pa.Table, sizes: dict[str | None, int]) -> list[ClassCount]:
    """The class counts of one collection's label rows; ``sizes``: its items per split."""
    if labels.num_rows == 0:
        return []
    grouped = labels.group_by(["property_key", "name", "split"]).aggregate(
        [("row", "count"), ("count", "sum"), ("value", "sum")]
    )
    counts = [
        ClassCount(
            property_key=entry["property_key"],
            name=str(entry["name"]),
            split=entry["split"],
            items=int(entry["row_count"]),  # an item lists a class once
            count=None if entry["count_sum"] is None else int(entry["count_sum"]),
            share=(
                None
                if entry["value_sum"] is None
                else round(entry["value_sum"] / sizes[entry["split"]], 6)
            ),
        )
        for entry in grouped.to_pylist()
    ]
    return sorted(counts, key=lambda c: (c.property_key or "", c.name, _split_order(c.split)))


def _bbox_array(bbox: pa.ChunkedArray) -> np.ndarray:
    """``bbox`` structs as an ``n x 4`` array (west, south, east, north)."""
    flat = bbox.combine_chunks()
    return np.column_stack(
        [
            flat.field(name).to_numpy(zero_copy_only=False)
            for name in ("xmin", "ymin", "xmax", "ymax")
        ]
    )


def _centres(bbox: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box centres; a box that crosses the antimeridian (west > east) is unwrapped."""
    east = np.where(bbox[:, 0] > bbox[:, 2], bbox[:, 2] + 360.0, bbox[:, 2])
    lon = (bbox[:, 0] + east) / 2.0
    return np.where(lon > 180.0, lon - 360.0, lon), (bbox[:, 1] + bbox[:, 3]) / 2.0


def _extent(bbox: np.ndarray) -> list[float]:
    return [
        float(bbox[:, 0].min()),
        float(bbox[:, 1].min()),
        float(bbox[:, 2].max()),
        float(bbox[:, 3].max()),
    ]


def _grid(bbox: np.ndarray) -> FootprintGrid:
    """Counts of bounding box centres on a grid of round steps covering them."""
    lon, lat = _centres(bbox)
    span = max(float(lon.max() - lon.min()), float(lat.max() - lat.min()))
    step = next((s for s in _GRID_STEPS if span / s < GRID_CELLS), 10.0)
    west = math.floor(float(lon.min()) / step) * step
    south = math.floor(float(lat.min()) / step) * step
    columns = int((float(lon.max()) - west) // step) + 1
    rows = int((float(lat.max()) - south) // step) + 1
    counts = np.zeros((rows, columns), dtype=np.int64)
    row = np.minimum(((lat - south) // step).astype(np.int64), rows - 1)
    column = np.minimum(((lon - west) // step).astype(np.int64), columns - 1)
    np.add.at(counts, (row, column), 1)
    return FootprintGrid(
        step=step, west=round(west, 6), south=round(south, 6), items=counts.tolist()
    )


def footprint_rings(stats: LabelStats) -> Sequence[tuple[str | None, np.ndarray]]:
    """The exterior rings of the collection's label item footprints (lon/lat ``n x 2``
    arrays) with each item's split, read from ``items.parquet``; empty above
    :data:`OUTLINES_UP_TO` items."""
    if stats.label_items > OUTLINES_UP_TO:
        return []
    items_file = pq.ParquetFile(stats.index / "items.parquet")
    names = items_file.schema_arrow.names
    columns = ["collection", "label:type", "geometry"] + ([SPLIT] if SPLIT in names else [])
    table = items_file.read(columns=columns)
    table = table.filter(
        pc.and_(
            pc.is_valid(table["label:type"]),
            pc.equal(_strings(table["collection"]), stats.collection),
        )
    )
    splits = table[SPLIT].to_pylist() if SPLIT in names else [None] * table.num_rows
    geometries = shapely.from_wkb(table["geometry"].to_numpy(zero_copy_only=False))
    parts, item = shapely.get_parts(geometries, return_index=True)
    rings = shapely.get_exterior_ring(parts)
    return [
        (splits[i], shapely.get_coordinates(ring))
        for i, ring in zip(item.tolist(), rings, strict=True)
        if ring is not None
    ]
