"""What a dataset builder is: a reader and a mapper joined into a build plan."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from stacforge.catalog.model import CatalogSpec, CollectionSpec, PlacedItem
from stacforge.errors import InputError


@dataclass(frozen=True)
class BuildOptions:
    """Options every builder understands.

    Attributes:
        asset_href_base: Prefix for asset hrefs (``None``: the dataset's own default).
        on_invalid: Called with the error for a bad sample, which is then skipped; ``None``
            makes the first bad sample fail the build.
    """

    asset_href_base: str | None = None
    on_invalid: Callable[[InputError], None] | None = None


@dataclass(frozen=True)
class BuildPlan:
    """The catalog, its collections and the stream of items one build writes."""

    catalog: CatalogSpec
    collections: Sequence[CollectionSpec]
    items: Iterator[PlacedItem]


@dataclass(frozen=True)
class Dataset:
    """A registered dataset builder.

    Attributes:
        name: Name on the command line (``stacforge build <name> ...``).
        title: Human-readable name.
        plan: Opens SOURCE (reading up-front what collections need, e.g. label classes) and
            returns the plan whose ``items`` stream reads and maps the samples lazily.
    """

    name: str
    title: str
    plan: Callable[[Path, BuildOptions], BuildPlan]
