"""Rebuilds ``catalogs/<dataset>/`` for every registered dataset from its built-in sample.

Deterministic: the sample seed is fixed and ``SOURCE_DATE_EPOCH`` stamps the indexes'
manifests, so a rebuild reproduces the committed catalogs (``tests/datasets/test_catalogs.py``
checks it). Usage: ``python scripts/build_catalogs.py [OUT] [DATASET...]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

SOURCE_DATE_EPOCH = "1767225600"  # 2026-01-01T00:00:00Z: the manifests' "created"


def build_example(name: str, out: Path) -> None:
    """Writes the sample of ``name`` and builds its example catalog into ``out``."""
    from stacforge import build, datasets

    os.environ["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH
    dataset = datasets.get(name)
    with tempfile.TemporaryDirectory() as tmp:
        source = dataset.write_sample(Path(tmp) / name, count=dataset.sample_count, seed=0)
        build(name, source, out, overwrite=True, workers=1)


def main(argv: list[str]) -> None:
    from stacforge import datasets

    root = Path(argv[0]) if argv else Path("catalogs")
    for name in argv[1:] or datasets.NAMES:
        build_example(name, root / name)
        print(f"built {root / name}")


if __name__ == "__main__":
    main(sys.argv[1:])
