"""Writers of small native-format sample data, per dataset (demo, tests, benchmarks)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stacforge.samples import rapidai4eo

SampleWriter = Callable[..., Path]

SAMPLES: dict[str, SampleWriter] = {"rapidai4eo": rapidai4eo.write_sample}

__all__ = ["SAMPLES", "SampleWriter"]
