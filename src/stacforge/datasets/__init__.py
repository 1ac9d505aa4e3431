"""The registered datasets, by name; a dataset's package is imported only when it is used."""

from __future__ import annotations

import importlib

from stacforge.datasets.base import BuildOptions, BuildPlan, Dataset, DatasetOption
from stacforge.errors import StacforgeError

_PACKAGES = {
    "breizhcrops": "stacforge.datasets.breizhcrops",
    "deeporchidseries": "stacforge.datasets.deeporchidseries",
    "hls-crop": "stacforge.datasets.hls_crop",
    "rapidai4eo": "stacforge.datasets.rapidai4eo",
    "s2-cloud": "stacforge.datasets.s2_cloud",
}
NAMES = tuple(sorted(_PACKAGES))
"""The names of every registered dataset."""


def get(name: str) -> Dataset:
    """The dataset called ``name``, importing its package (and its dependencies) now.

    Raises:
        StacforgeError: No dataset has that name.
    """
    if name not in _PACKAGES:
        raise StacforgeError(f"unknown dataset {name!r} (known: {', '.join(NAMES)})")
    dataset: Dataset = importlib.import_module(_PACKAGES[name]).DATASET
    return dataset


__all__ = ["NAMES", "BuildOptions", "BuildPlan", "Dataset", "DatasetOption", "get"]
