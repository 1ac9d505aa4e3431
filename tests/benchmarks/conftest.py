"""The benchmark scripts, importable, and a small RapidAI4EO sample to run them on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# benchmarks/ holds scripts, not a package: put it on the path so the tests import them by
# name, as the scripts import each other (and spawned runs unpickle their functions).
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))


@pytest.fixture(scope="session")
def small_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RapidAI4EO resource files for 30 made-up locations (90 items)."""
    from stacforge.datasets.rapidai4eo.sample import write_sample

    return write_sample(tmp_path_factory.mktemp("bench-source"), count=30, seed=0)
