"""The matches of a search in one index directory, as the search stages pass them on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from stacforge.index import arrow_values
from stacforge.index.directory import IndexDirectory, read_strings

if TYPE_CHECKING:
    from stacforge.index.labels import LabelMatches


@dataclass(frozen=True)
class Hits:
    """Matching rows of one index directory, in output order.

    Attributes:
        directory: Where the rows are.
        rows: Item row numbers.
        assets: With asset filters, the matching ``assets.parquet`` rows of these items.
        labels: With label conditions, the matches (which know the ids of label items).
    """

    directory: IndexDirectory
    rows: NDArray[np.int64]
    assets: pa.Table | None = None
    labels: LabelMatches | None = None

    def ids(self) -> pa.Array:
        """The item ids of :attr:`rows`: from the label rows read when the label matches have
        them, else from ``search.parquet``."""
        if self.labels is not None:
            ids = self.labels.ids_of(self.directory, self.rows)
            if ids is not None:
                return ids
        directory = self.directory
        return read_strings(directory.search, directory.search_offsets, self.rows, "id")

    def only(self, rows: NDArray[np.int64]) -> Hits:
        """The hits of ``rows`` (some of :attr:`rows`, in their new order) and their assets."""
        assets = self.assets
        if assets is not None:
            import pyarrow.compute as pc

            assets = assets.filter(pc.is_in(assets["row"], arrow_values.from_numpy(rows)))
        return Hits(self.directory, rows, assets, self.labels)
