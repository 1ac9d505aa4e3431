"""The dataset builders, by name."""

from __future__ import annotations

from stacforge.datasets import rapidai4eo
from stacforge.datasets.base import BuildOptions, BuildPlan, Dataset

DATASETS: dict[str, Dataset] = {d.name: d for d in (rapidai4eo.DATASET,)}

__all__ = ["DATASETS", "BuildOptions", "BuildPlan", "Dataset"]
