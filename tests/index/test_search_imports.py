"""What a command-line search imports: a search for ids or a count loads neither pandas nor the
libraries that only other searches need (checked with ``python -X importtime``, not timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PF = "rapidai4eo_v1_source_pf"
NEVER = frozenset(
    {"pandas", "stac_geoparquet", "pystac", "geopandas", "cql2", "aiohttp", "numpy.ma"}
)
"""Not imported by these searches: pyarrow imports pandas on its first conversion of Python or
numpy values (0.25 s), numpy imports numpy.ma on the first ``np.unique`` (15-70 ms), the others
only serve items, filters or crawls."""


def _imported(catalog: Path, *args: str) -> tuple[list[str], set[str]]:
    """The output lines of ``stacforge search CATALOG ARGS...`` and the modules it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stacforge.cli", "search", str(catalog), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    return done.stdout.splitlines(), modules


def _top_level(modules: set[str]) -> set[str]:
    return {module.partition(".")[0] for module in modules}


@pytest.fixture(scope="module")
def west_half(rapidai4eo_catalog: Path) -> str:
    """The western half of the Planet Fusion extent: some footprints cross its edge, so the
    search tests geometries."""
    collection = json.loads((rapidai4eo_catalog.parent / PF / "collection.json").read_text())
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    return f"{west},{south},{(west + east) / 2},{north}"


@pytest.mark.parametrize("output", ["count", "ids"])
def test_a_bbox_search_imports_no_pandas(
    rapidai4eo_catalog: Path, west_half: str, output: str
) -> None:
    lines, modules = _imported(
        rapidai4eo_catalog, "--bbox", west_half, "--collections", PF, "--format", output
    )
    assert lines and lines != ["0"]
    assert not _top_level(modules) & NEVER, sorted(_top_level(modules) & NEVER)
    assert "importlib.metadata" not in modules  # the version is read for --version alone
    assert "pyarrow.compute" not in modules  # its import builds 500 wrappers: 20 ms


@pytest.mark.parametrize(
    "labels",
    [
        ("--label", "clc_412>0.1"),  # label items and the imagery they name as sources
        ("--label-any", "clc_311,clc_312,clc_313>=50%"),  # shares of the overview's counts
    ],
)
@pytest.mark.parametrize("output", ["count", "ids"])
def test_a_label_search_imports_no_pandas_or_shapely(
    rapidai4eo_catalog: Path, labels: tuple[str, str], output: str
) -> None:
    lines, modules = _imported(rapidai4eo_catalog, *labels, "--format", output)
    assert lines and lines != ["0"]
    assert not _top_level(modules) & (NEVER | {"shapely"}), sorted(_top_level(modules) & NEVER)
