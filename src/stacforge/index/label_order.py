"""Writes ``labels.parquet`` sorted by class, then by item row, in bounded memory.

The index writer derives label rows item by item (:func:`~stacforge.index.tables.label_tables`),
but a search by class wants each class's rows together, so that the ``name`` statistics of the
row groups skip every other class. Where a class falls in that order is known only once every
class name has been seen, so the rows are sorted twice by an
:class:`~stacforge.index.runs.ExternalSort`: as they arrive, in arrival order (held, or spilled
once over the memory limit), then, in :meth:`LabelsByClass.write`, by class name and arrival
(item rows arrive in order, so ties stay in row order).

Memory: up to ``memory_limit`` in each of the two sorts (twice that while a run is sorted),
one row group being written, and the sort keys of every label row (8 bytes a row, twice).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from stacforge.index.layout import LABELS_FILE, LABELS_SCHEMA, STATISTICS_COLUMNS
from stacforge.index.runs import ExternalSort, sort_keys

ROW_GROUP_ROWS: Final = 16_384
"""Rows per row group of ``labels.parquet``. Opening a RapidAI4EO label table of 242,090 rows
(100,000 locations) and reading one class (12,550 rows) took 1.4 ms with groups of 16,384 rows,
1.5 ms with 4,096 or 8,192 (more groups to read, a larger footer), 2.0 ms with 32,768 and
2.7-3.4 ms with 65,536 (a class shares its groups with more others)."""


class LabelsByClass:
    """Gathers label rows in item order, and writes them sorted by class.

    Args:
        folder: Where the sorts spill their runs (created; the caller removes it).
        memory_limit: Bytes of rows each of the two sorts holds before spilling.
    """

    def __init__(self, folder: Path, memory_limit: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._folder = folder
        self._memory_limit = memory_limit
        self._arrived = ExternalSort(folder / "by-item", memory_limit)
        self._arrived.schema = LABELS_SCHEMA
        self._names: set[str] = set()

    def add(self, labels: pa.Table) -> None:
        """Adds label rows (:data:`LABELS_SCHEMA`), which come after those added before."""
        first = self._arrived.rows
        arrival = np.arange(first, first + labels.num_rows)
        self._arrived.add(labels, sort_keys(np.zeros(labels.num_rows, np.uint64), arrival))
        self._names.update(pc.unique(labels["name"]).drop_null().to_pylist())

    def write(self, path: Path) -> None:
        """Writes every row added to the Parquet file ``path`` (call once)."""
        # Code point order is the byte order of UTF-8, the order of Parquet's string
        # statistics; rows without a name come last.
        names = pa.array(sorted(self._names), pa.string())
        by_class = ExternalSort(self._folder / "by-class", self._memory_limit)
        by_class.schema = LABELS_SCHEMA
        arrival = 0
        for chunk in self._arrived.sorted_chunks(ROW_GROUP_ROWS):
            rank = pc.fill_null(pc.index_in(chunk["name"], value_set=names), len(names))
            sequence = np.arange(arrival, arrival + chunk.num_rows)
            by_class.add(chunk, sort_keys(rank.to_numpy().astype(np.uint64), sequence))
            arrival += chunk.num_rows
        with pq.ParquetWriter(
            path,
            LABELS_SCHEMA,
            compression="zstd",
            write_page_checksum=True,
            write_statistics=STATISTICS_COLUMNS[LABELS_FILE],
        ) as out:
            for chunk in by_class.sorted_chunks(ROW_GROUP_ROWS):
                out.write_table(chunk, ROW_GROUP_ROWS)
