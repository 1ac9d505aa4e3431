"""Shared fixtures: the real schemas and catalogs in ../shared, and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

SHARED = Path(__file__).resolve().parents[2] / "shared"
if (SHARED / "schemas").is_dir():
    os.environ.setdefault("STACFORGE_SCHEMAS", str(SHARED / "schemas"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only ``../shared`` folder (schemas, real-world catalogs, dataset notes)."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def realworld(shared: Path) -> Path:
    """Real catalogs written by others (pystac test cases, label examples)."""
    return shared / "realworld"


@pytest.fixture
def runner() -> CliRunner:
    """A click test runner that keeps stderr apart from stdout."""
    return CliRunner()


@pytest.fixture(scope="session")
def rapidai4eo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RapidAI4EO resource files (the corpus' native formats) for 120 made-up locations."""
    from stacforge.datasets.rapidai4eo.sample import write_sample

    return write_sample(tmp_path_factory.mktemp("rapidai4eo-source"), count=120, seed=0)


@pytest.fixture(scope="session")
def rapidai4eo_catalog(rapidai4eo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The RapidAI4EO catalog built from :func:`rapidai4eo_source`; its ``catalog.json``."""
    from stacforge.builder import build

    out = tmp_path_factory.mktemp("rapidai4eo-catalog") / "catalog"
    return build("rapidai4eo", rapidai4eo_source, out).catalog


@pytest.fixture(scope="session")
def damage_a_page() -> Callable[[Path], None]:
    """Damages one Parquet page of a file in place: flips 16 bytes in the middle of the largest
    column chunk's data, not a header, not the footer, so that only a checksum tells (pyarrow
    decodes damaged plain values without complaint)."""

    def damage(path: Path) -> None:
        metadata = pq.ParquetFile(path).metadata
        chunks = [
            metadata.row_group(g).column(c)
            for g in range(metadata.num_row_groups)
            for c in range(metadata.num_columns)
        ]
        biggest = max(chunks, key=lambda chunk: chunk.total_compressed_size)
        middle = biggest.data_page_offset + biggest.total_compressed_size * 3 // 4
        data = bytearray(path.read_bytes())
        for i in range(middle, middle + 16):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))

    return damage
