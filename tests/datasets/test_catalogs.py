"""The committed example catalogs ``catalogs/<dataset>/`` are what ``make catalogs`` builds.

JSON files (catalog, collections, items, index manifests) must match byte for byte. Parquet
files must hold the same schema and rows: their bytes also record the writing pyarrow's version,
which a fresh install may move without changing a value.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from stacforge import datasets

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_catalogs.py"


def _build_example(name: str, out: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_catalogs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build_example(name, out)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", datasets.NAMES)
def test_committed_example_catalog_is_reproduced(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed = ROOT / "catalogs" / name
    assert committed.is_dir(), f"catalogs/{name} is missing: run `make catalogs` and commit it"
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    rebuilt = tmp_path / name
    _build_example(name, rebuilt)

    assert _files(rebuilt) == _files(committed)
    for relative in _files(committed):
        old, new = committed / relative, rebuilt / relative
        if relative.endswith(".parquet"):
            assert pq.read_schema(new) == pq.read_schema(old), relative
            assert pq.read_table(new).equals(pq.read_table(old)), relative
        else:
            assert new.read_bytes() == old.read_bytes(), f"{relative} differs: run `make catalogs`"
