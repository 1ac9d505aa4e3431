"""``build``: one dataset from its native files to a static STAC catalog, atomically."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stacforge.catalog.io import atomic_directory
from stacforge.catalog.writer import CatalogWriter
from stacforge.datasets import DATASETS, BuildOptions
from stacforge.errors import InputError, StacforgeError


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote, and what it skipped (only with ``skip_invalid``)."""

    catalog: Path
    items: dict[str, int]
    collections: int
    skipped: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def build(
    dataset: str,
    source: str | Path,
    out: str | Path,
    *,
    overwrite: bool = False,
    root_href: str | None = None,
    asset_href_base: str | None = None,
    skip_invalid: bool = False,
    index: bool = True,
) -> BuildResult:
    """Builds the static catalog of ``dataset`` from ``source`` into ``out``.

    Nothing appears at ``out`` unless the whole build succeeds.

    Args:
        dataset: A name from :data:`stacforge.datasets.DATASETS`.
        source: Folder with the dataset's files in their native format.
        out: Folder that receives ``catalog.json`` and everything below it.
        overwrite: Replace an existing ``out`` (only once the new catalog is complete).
        root_href: Publication URL of ``out``; adds an absolute root ``self`` link.
        asset_href_base: Prefix of asset hrefs, where the dataset's assets are URLs.
        skip_invalid: Skip and report bad samples instead of failing on the first.
        index: Write each top-level collection's sidecar index (stac-geoparquet) alongside.

    Raises:
        StacforgeError: Unknown dataset, ``out`` exists without ``overwrite``, or bad input
            (an :class:`InputError` naming the file and record).
    """
    if dataset not in DATASETS:
        raise StacforgeError(f"unknown dataset {dataset!r} (known: {', '.join(sorted(DATASETS))})")
    source = Path(source)
    if not source.is_dir():
        raise InputError(source, "not a folder")
    skipped: list[InputError] = []
    options = BuildOptions(
        asset_href_base=asset_href_base, on_invalid=skipped.append if skip_invalid else None
    )
    with atomic_directory(Path(out), overwrite=overwrite) as tmp:
        plan = DATASETS[dataset].plan(source, options)
        with CatalogWriter(
            tmp, plan.catalog, plan.collections, root_href=root_href, index=index
        ) as writer:
            for placed in plan.items:
                writer.add(placed)
            summary = writer.close()
    return BuildResult(
        catalog=Path(out) / "catalog.json",
        items=summary.items,
        collections=summary.collections,
        skipped=skipped,
        warnings=summary.warnings,
    )
