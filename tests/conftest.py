"""Shared fixtures: the real schemas and catalogs in ../shared, and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

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
