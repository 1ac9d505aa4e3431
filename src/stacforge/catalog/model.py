"""What a dataset builder hands the catalog writer: catalog and collection specs, placed items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Item = dict[str, Any]
"""A STAC item as a plain JSON-ready dict."""


@dataclass(frozen=True)
class CatalogSpec:
    """The root catalog of a built dataset."""

    id: str
    title: str
    description: str


@dataclass(frozen=True)
class CollectionSpec:
    """A top-level collection; the writer adds extents, item_assets, links and sub-collections.

    Attributes:
        summary_fields: Item properties whose distinct values (or numeric range) the writer
            gathers into ``summaries`` while items stream past; ``label:overviews`` is summed
            instead (the counts of each class over the items).
        summaries: Summaries known up front (e.g. all label classes from a mapping file).
        links: Extra links (``cite-as``, ``license``, ``about``...), written as given.
    """

    id: str
    title: str
    description: str
    license: str
    providers: Sequence[Mapping[str, Any]] = ()
    keywords: Sequence[str] = ()
    stac_extensions: Sequence[str] = ()
    summaries: Mapping[str, Any] = field(default_factory=dict)
    summary_fields: Sequence[str] = ()
    links: Sequence[Mapping[str, Any]] = ()
    extra_fields: Mapping[str, Any] = field(default_factory=dict)


class PlacedItem(NamedTuple):
    """An item dict and where it goes: its top-level collection and partition path.

    ``partition`` names the nested sub-collections, outermost first, e.g. ``("33N", "16E-243N")``;
    an empty tuple puts the item straight into the top-level collection. ``files`` are small
    files written beside the item's JSON, by name (a label GeoJSON that an asset points at as
    ``./<name>``); the mapper stays pure, it only hands over their bytes.
    """

    collection: str
    partition: tuple[str, ...]
    item: Item
    files: Mapping[str, bytes] = {}
