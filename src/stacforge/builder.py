"""``build``: one dataset from its native files to a static STAC catalog, atomically.

The builder joins the layers below it: the dataset's plan streams placed items into the
catalog writer, and each top-level collection's items also stream into its index writer (the
index, see :mod:`stacforge.index`), which the collection then advertises as a
``collection-mirror`` asset.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacforge import datasets
from stacforge.catalog.io import atomic_directory
from stacforge.catalog.layout import CATALOG_FILE, relative_href
from stacforge.catalog.model import CollectionSpec, Item
from stacforge.catalog.writer import CatalogWriter
from stacforge.datasets import BuildOptions
from stacforge.errors import InputError, StacforgeError
from stacforge.index import layout as index_layout
from stacforge.index.background import IndexProcess

INDEX_FOLDER = "index"
"""Folder of a top-level collection's index, beside its ``collection.json``."""
INDEX_ASSET = "index"
"""Key of the collection asset that advertises the index (role ``collection-mirror``)."""
INDEX_MEMORY = 64 << 20
"""Bytes of converted rows the index writers of one build hold between them (each top-level
collection's writer gets an equal share), so that a build's memory does not grow with the
number of items or of collections."""


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
    workers: int | None = None,
    **dataset_options: Any,
) -> BuildResult:
    """Builds the static catalog of ``dataset`` from ``source`` into ``out``.

    Nothing appears at ``out`` unless the whole build succeeds.

    Args:
        dataset: A name from :data:`stacforge.datasets.NAMES`.
        source: Folder with the dataset's files in their native format.
        out: Folder that receives ``catalog.json`` and everything below it.
        overwrite: Replace an existing ``out`` (only once the new catalog is complete).
        root_href: Publication URL of ``out``; adds an absolute root ``self`` link.
        asset_href_base: Prefix of asset hrefs (default: the dataset's own).
        skip_invalid: Skip and report bad samples instead of failing on the first.
        index: Write each top-level collection's index (stac-geoparquet and search tables)
            alongside, and advertise it on the collection.
        workers: Processes for parallel reads (default: every core).
        **dataset_options: The dataset's own options (``stacforge build NAME --help``).

    Raises:
        StacforgeError: Unknown dataset or option, ``out`` exists without ``overwrite``, or
            bad input (an :class:`InputError` naming the file and record).
    """
    spec = datasets.get(dataset)
    source = Path(source)
    if not source.is_dir():
        raise InputError(source, "not a folder")
    if source.resolve().is_relative_to(Path(out).resolve()):
        # --overwrite would replace the input with the catalog built from it.
        raise StacforgeError(
            f"{out}: is SOURCE or a folder holding it; write the catalog elsewhere"
        )
    skipped: list[InputError] = []
    warnings: list[str] = []
    options = BuildOptions(
        asset_href_base=asset_href_base,
        skip_invalid=skip_invalid,
        workers=workers,
        dataset=spec.build_options(dataset_options),
        on_skip=skipped.append,
        on_warning=warnings.append,
    )
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(atomic_directory(Path(out), overwrite=overwrite))
        plan = spec.plan(source, options)
        collections = plan.collections
        sinks = None
        if index:
            collections = [_advertise_index(c) for c in collections]
            memory = INDEX_MEMORY // max(1, len(collections))
            # Stopped (aborting what is left open) before the output is moved or removed.
            process = stack.enter_context(IndexProcess())

            def sinks(collection: str) -> _IndexSink:
                return _IndexSink(process, tmp, collection, memory)

        with CatalogWriter(
            tmp,
            plan.catalog,
            collections,
            root_href=root_href,
            sinks=sinks,
            reserved=(INDEX_FOLDER,),
        ) as writer:
            for partition in plan.partitions:
                for placed in plan.items(partition):
                    writer.add(placed)
            summary = writer.close()
    return BuildResult(
        catalog=Path(out) / CATALOG_FILE,
        items=summary.items,
        collections=summary.collections,
        skipped=skipped,
        warnings=[*warnings, *summary.warnings],
    )


def _advertise_index(spec: CollectionSpec) -> CollectionSpec:
    """``spec`` with the ``collection-mirror`` asset that points at its index's items."""
    extra = dict(spec.extra_fields)
    extra["assets"] = {
        **extra.get("assets", {}),
        INDEX_ASSET: {
            "href": f"./{INDEX_FOLDER}/{index_layout.ITEMS_FILE}",
            "type": index_layout.MEDIA_TYPE,
            "title": "All items of this collection as stac-geoparquet",
            "roles": [index_layout.MIRROR_ROLE],
        },
    }
    return dataclasses.replace(spec, extra_fields=extra)


class _IndexSink:
    """The index writer of one top-level collection, as the catalog writer's item sink."""

    def __init__(self, process: IndexProcess, root: Path, collection: str, memory: int) -> None:
        self._anchor = f"{collection}/{INDEX_FOLDER}/x"  # hrefs are relative to the index
        self._writer = process.open(
            root / collection / INDEX_FOLDER,
            source=relative_href(self._anchor, CATALOG_FILE),
            memory_limit=memory,
        )

    def add(self, item: Item, path: str, data: bytes) -> None:
        self._writer.add_json(data, relative_href(self._anchor, path))

    def close(self) -> None:
        self._writer.close()

    def abort(self, error: BaseException) -> None:
        self._writer.abort(error)
