"""The streaming static-catalog writer shared by every builder.

Items go to disk as they arrive; the writer keeps only one small record per (sub-)collection
(extent, counts, summaries, item_assets), so memory stays flat however many items stream past.
Collection files are written at :meth:`CatalogWriter.close`, when their extents are known; their
item links are read back from the directory tree rather than held in memory. Item sinks see
every item in the same pass (the builder plugs in the index writer there).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from stacforge import media_types
from stacforge.catalog.io import dumps
from stacforge.catalog.items import STAC_VERSION
from stacforge.catalog.layout import (
    CATALOG_FILE,
    COLLECTION_FILE,
    collection_path,
    item_path,
    relative_href,
)
from stacforge.catalog.model import CatalogSpec, CollectionSpec, Item, PlacedItem
from stacforge.errors import StacforgeError
from stacforge.geometry import geojson_bbox
from stacforge.time import format_timestamp, item_interval

MAX_LINKS = 10_000
"""Best practice: no catalog or collection file should list more links than this."""

_JSON = media_types.JSON
_GEOJSON = media_types.GEOJSON
_ID_UNSAFE = re.compile(r"[^a-z0-9_-]+")


class ItemSink(Protocol):
    """Receives every item of one top-level collection as the writer writes it."""

    def add(self, item: Item, path: str, data: bytes) -> None:
        """Takes one finished item; ``path`` is its file relative to the catalog root and
        ``data`` the JSON written there."""

    def close(self) -> None:
        """Finishes, before the collection files are written."""

    def abort(self, error: BaseException) -> None:
        """Discards what was received: the write failed with ``error``."""


@dataclass
class _Extent:
    """Running spatial and temporal extent of the items below one (sub-)collection."""

    bbox: list[float] | None = None
    start: datetime | None = None
    end: datetime | None = None

    def add(self, bbox: Sequence[float], start: datetime | None, end: datetime | None) -> None:
        west, south, east, north = bbox[0], bbox[1], bbox[-2], bbox[-1]
        if west > east:  # crosses the antimeridian: the extent spans every longitude
            west, east = -180.0, 180.0
        if self.bbox is None:
            self.bbox = [west, south, east, north]
        else:
            b = self.bbox
            b[0], b[1] = min(b[0], west), min(b[1], south)
            b[2], b[3] = max(b[2], east), max(b[3], north)
        if start is not None and (self.start is None or start < self.start):
            self.start = start
        if end is not None and (self.end is None or end > self.end):
            self.end = end

    def to_dict(self) -> dict[str, Any]:
        return {
            "spatial": {"bbox": [self.bbox or [-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [[_timestamp(self.start), _timestamp(self.end)]]},
        }


@dataclass
class _Summary:
    """Distinct values (or the numeric range) of one item property across a collection."""

    values: set[Any] = field(default_factory=set)
    minimum: float | None = None
    maximum: float | None = None

    def add(self, value: Any) -> None:
        for v in value if isinstance(value, list) else (value,):
            if isinstance(v, bool) or not isinstance(v, int | float):
                self.values.add(v)
            else:
                self.minimum = v if self.minimum is None else min(self.minimum, v)
                self.maximum = v if self.maximum is None else max(self.maximum, v)

    def to_json(self) -> Any:
        """The summary, or None when no item had the property."""
        if self.values:
            return sorted(self.values, key=str)
        if self.minimum is None:
            return None
        return {"minimum": self.minimum, "maximum": self.maximum}


@dataclass
class _OverviewTotals:
    """The counts of every ``label:overviews`` entry summed over a collection's items, per
    property key and class, in the order classes first appear (``statistics`` entries, shares
    or means, do not add up and are left out)."""

    totals: dict[str | None, dict[str, int]] = field(default_factory=dict)

    def add(self, value: Any) -> None:
        for overview in value if isinstance(value, list) else ():
            if not isinstance(overview, dict) or not isinstance(overview.get("counts"), list):
                continue
            counts = self.totals.setdefault(overview.get("property_key"), {})
            for entry in overview["counts"]:
                name = str(entry["name"])
                counts[name] = counts.get(name, 0) + int(entry["count"])

    def to_json(self) -> Any:
        """The summed overviews, or None when no item had any counts."""
        if not self.totals:
            return None
        return [
            {
                **({"property_key": key} if key is not None else {}),
                "counts": [{"name": name, "count": n} for name, n in counts.items()],
            }
            for key, counts in self.totals.items()
        ]


_SUMMED = {"label:overviews": _OverviewTotals}
"""Summary fields gathered by their own rule instead of distinct values or a range."""


@dataclass
class _Node:
    """A (sub-)collection being filled: its place, extent and what it links to."""

    collection: str
    partition: tuple[str, ...]
    item_links: list[dict[str, str]]
    extent: _Extent = field(default_factory=_Extent)
    children: set[str] = field(default_factory=set)
    items: int = 0


@dataclass(frozen=True)
class WriteSummary:
    """What a finished write produced."""

    items: dict[str, int]
    collections: int
    warnings: list[str]


class CatalogWriter:
    """Writes a static catalog below ``root`` from a stream of :class:`PlacedItem`.

    Args:
        root: Folder to write into (the builder passes a temporary folder, see
            :func:`stacforge.catalog.io.atomic_directory`).
        catalog: The root catalog.
        collections: The top-level collections; every item must name one of them.
        root_href: Where the catalog will be published; adds an absolute ``self`` link to the
            root catalog (a relative-published catalog). Without it, the catalog is
            self-contained (relative links only).
        sinks: Makes the item sink of a top-level collection (called with its id when its
            first item arrives).
        reserved: Folder names in a top-level collection's folder that are not items (where
            sinks write); no item may take them as its id.

    Use it as a context manager: an exception inside the block aborts the sinks.
    """

    def __init__(
        self,
        root: Path,
        catalog: CatalogSpec,
        collections: Sequence[CollectionSpec],
        *,
        root_href: str | None = None,
        sinks: Callable[[str], ItemSink] | None = None,
        reserved: Collection[str] = (),
    ) -> None:
        self._root = Path(root)
        self._make_sink = sinks
        self._sinks: dict[str, ItemSink] = {}
        self._reserved = frozenset(reserved)
        self._catalog = catalog
        self._specs = {spec.id: spec for spec in collections}
        self._root_href = root_href
        self._nodes: dict[tuple[str, ...], _Node] = {}
        self._summaries: dict[str, dict[str, _Summary | _OverviewTotals]] = {
            spec.id: {name: _SUMMED.get(name, _Summary)() for name in spec.summary_fields}
            for spec in collections
        }
        self._item_assets: dict[str, dict[str, dict[str, Any]]] = {s.id: {} for s in collections}
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None:
            for sink in self._sinks.values():
                sink.abort(exc)

    def add(self, placed: PlacedItem) -> None:
        """Writes one item and folds it into its collections' extents and summaries."""
        collection, partition, item, files = placed
        node = self._nodes.get((collection, *partition)) or self._open_node(collection, partition)
        item_id = item["id"]
        if item_id in self._reserved and not partition:
            raise StacforgeError(f"item id {item_id!r} is reserved in {collection}")
        path = item_path(collection, partition, item_id)
        item.setdefault("stac_version", STAC_VERSION)
        item["collection"] = collection
        item["links"] = [*node.item_links, *item.get("links", ())]
        item.setdefault("stac_extensions", [])
        if "bbox" not in item and item.get("geometry"):
            item["bbox"] = geojson_bbox(item["geometry"])
        folder = self._root / path.rpartition("/")[0]
        try:
            folder.mkdir()
        except FileExistsError:
            raise StacforgeError(f"duplicate item id {item_id!r} in {collection}") from None
        data = dumps(item)
        (folder / f"{item_id}.json").write_bytes(data)
        for name, content in files.items():
            if "/" in name or name.startswith(".") or name == f"{item_id}.json":
                raise StacforgeError(f"item {item_id!r}: {name!r} is not a file name of its own")
            (folder / name).write_bytes(content)

        start, end = item_interval(item["properties"])
        for depth in range(len(partition), -1, -1):
            self._nodes[(collection, *partition[:depth])].extent.add(item["bbox"], start, end)
        node.items += 1
        summaries = self._summaries[collection]
        properties = item["properties"]
        for name, summary in summaries.items():
            if (value := properties.get(name)) is not None:
                summary.add(value)
        _merge_item_assets(self._item_assets[collection], item.get("assets", {}))
        if sink := self._sinks.get(collection):
            sink.add(item, path, data)

    def close(self) -> WriteSummary:
        """Writes the collection files and the root catalog; returns counts and warnings."""
        if self._closed:
            raise StacforgeError("catalog writer already closed")
        self._closed = True
        warnings: list[str] = []
        for sink in self._sinks.values():
            sink.close()
        for node in self._nodes.values():
            self._write_collection(node, warnings)
        catalog: dict[str, Any] = {
            "type": "Catalog",
            "id": self._catalog.id,
            "stac_version": STAC_VERSION,
            "stac_extensions": [],
            "title": self._catalog.title,
            "description": self._catalog.description,
            "links": [
                {"rel": "root", "href": f"./{CATALOG_FILE}", "type": _JSON},
                *(
                    [
                        {
                            "rel": "self",
                            "href": self._root_href.rstrip("/") + f"/{CATALOG_FILE}",
                            "type": _JSON,
                        }
                    ]
                    if self._root_href
                    else []
                ),
                *(
                    {
                        "rel": "child",
                        "href": f"./{collection_path(spec.id)}",
                        "type": _JSON,
                        "title": spec.title,
                    }
                    for spec in self._specs.values()
                    if (spec.id,) in self._nodes
                ),
            ],
        }
        (self._root / CATALOG_FILE).write_bytes(dumps(catalog))
        items = {cid: 0 for cid in self._specs if (cid,) in self._nodes}
        for node in self._nodes.values():
            items[node.collection] += node.items
        return WriteSummary(items=items, collections=len(self._nodes), warnings=warnings)

    def _open_node(self, collection: str, partition: tuple[str, ...]) -> _Node:
        """Creates the (sub-)collection for ``partition`` and any missing ancestors."""
        if collection not in self._specs:
            raise StacforgeError(f"item placed in unknown collection {collection!r}")
        for depth in range(len(partition) + 1):
            key = (collection, *partition[:depth])
            if key in self._nodes:
                continue
            here = partition[:depth]
            if depth:
                self._nodes[key[:-1]].children.add(here[-1])
            (self._root / collection_path(collection, here)).parent.mkdir(
                parents=True, exist_ok=True
            )
            if not depth and self._make_sink is not None:
                self._sinks[collection] = self._make_sink(collection)
            # Every item of a node sits at the same depth, so its structural links are shared.
            sample = item_path(collection, here, "x")
            self._nodes[key] = _Node(
                collection=collection,
                partition=here,
                item_links=[
                    {"rel": "root", "href": relative_href(sample, CATALOG_FILE), "type": _JSON},
                    {
                        "rel": "parent",
                        "href": relative_href(sample, collection_path(collection, here)),
                        "type": _JSON,
                    },
                    {
                        "rel": "collection",
                        "href": relative_href(sample, collection_path(collection)),
                        "type": _JSON,
                    },
                ],
            )
        return self._nodes[(collection, *partition)]

    def _write_collection(self, node: _Node, warnings: list[str]) -> None:
        spec = self._specs[node.collection]
        path = collection_path(node.collection, node.partition)
        parent = (
            CATALOG_FILE
            if not node.partition
            else collection_path(node.collection, node.partition[:-1])
        )
        links: list[dict[str, Any]] = [
            {"rel": "root", "href": relative_href(path, CATALOG_FILE), "type": _JSON},
            {"rel": "parent", "href": relative_href(path, parent), "type": _JSON},
        ]
        for child in sorted(node.children):
            links.append(
                {
                    "rel": "child",
                    "href": f"./{child}/{COLLECTION_FILE}",
                    "type": _JSON,
                    "title": " / ".join((*node.partition, child)),
                }
            )
        if node.items:
            folder = self._root / path.rpartition("/")[0]
            item_ids = sorted(
                entry.name
                for entry in os.scandir(folder)
                if entry.is_dir()
                and entry.name not in node.children
                and (node.partition or entry.name not in self._reserved)
            )
            links.extend(
                {"rel": "item", "href": f"./{item_id}/{item_id}.json", "type": _GEOJSON}
                for item_id in item_ids
            )
        if len(links) - 2 > MAX_LINKS:
            warnings.append(
                f"{path} lists {len(links) - 2:,} children and items (best practice: at most "
                f"{MAX_LINKS:,}); partition the collection further"
            )
        links.extend(dict(link) for link in spec.links)
        collection: dict[str, Any] = {
            "type": "Collection",
            "id": _partition_id(node.collection, node.partition),
            "stac_version": STAC_VERSION,
            "stac_extensions": list(spec.stac_extensions) if not node.partition else [],
            "title": " / ".join((spec.title, *node.partition)),
            "description": spec.description
            if not node.partition
            else f"{spec.title}, partition {'/'.join(node.partition)}.",
            "license": spec.license,
            "extent": node.extent.to_dict(),
        }
        if spec.keywords:
            collection["keywords"] = list(spec.keywords)
        if spec.providers:
            collection["providers"] = [dict(p) for p in spec.providers]
        if not node.partition:
            summaries = dict(spec.summaries)
            for name, summary in self._summaries[spec.id].items():
                if (gathered := summary.to_json()) is not None:
                    summaries[name] = gathered
            if summaries:
                collection["summaries"] = summaries
            if item_assets := self._item_assets[spec.id]:
                collection["item_assets"] = item_assets
            collection.update(spec.extra_fields)
        collection["links"] = links
        (self._root / path).write_bytes(dumps(collection))


def _partition_id(collection: str, partition: tuple[str, ...]) -> str:
    """Sub-collection id: the top-level id plus the partition keys, lowercase and id-safe."""
    if not partition:
        return collection
    return "_".join((collection, *(_ID_UNSAFE.sub("-", key.lower()) for key in partition)))


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def _merge_item_assets(item_assets: dict[str, dict[str, Any]], assets: Mapping[str, Any]) -> None:
    """Keeps, per asset key, the fields whose values every item so far agrees on."""
    for key, asset in assets.items():
        known = item_assets.get(key)
        if known is None:
            item_assets[key] = {k: v for k, v in asset.items() if k != "href"}
            continue
        if known.items() <= asset.items():  # the usual case, checked in C
            continue
        for name in [n for n, v in known.items() if asset.get(n) != v]:
            del known[name]
