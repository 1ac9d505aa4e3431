"""The manifest of an index directory (``manifest.json``): what the index holds, typed.

:class:`Manifest` is the one place that knows the manifest's JSON form: the index writer makes
one (:meth:`Manifest.to_json`) and searches read it back (:func:`read_manifest`), which also
checks the layout's :data:`FORMAT`. Times are RFC 3339 strings in the JSON and datetimes
here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import orjson

from stacforge.errors import InputError
from stacforge.index import layout
from stacforge.index.hilbert import ORDER
from stacforge.time import format_timestamp, parse_timestamp

FORMAT: Final = 3
"""Version of the index layout, recorded in the manifest as ``format`` (no ``format``: 1).
Version 2 split ``assets.parquet``'s ``href``; version 3 sorted ``labels.parquet`` by class,
added its ``share`` column and the manifest's ``label_items``."""

Bounds = tuple[float, float, float, float]
TimeRange = tuple[datetime | None, datetime | None]


@dataclass(frozen=True)
class Extent:
    """Where and when the items are: their footprints' bounds and their time span."""

    bbox: Bounds | None = None
    start: datetime | None = None
    end: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The extent in the form of a STAC collection's ``extent``."""
        return {
            "spatial": {"bbox": [list(self.bbox)] if self.bbox is not None else []},
            "temporal": {"interval": [[_format(self.start), _format(self.end)]]},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Extent:
        boxes = data["spatial"]["bbox"]
        ((start, end),) = data["temporal"]["interval"]
        bbox = None
        if boxes:
            xmin, ymin, xmax, ymax = (float(v) for v in boxes[0])
            bbox = (xmin, ymin, xmax, ymax)
        return cls(bbox, _parse(start), _parse(end))


@dataclass(frozen=True)
class CollectionSummary:
    """The items of one ``collection`` id in the index."""

    items: int
    extent: Extent


@dataclass(frozen=True)
class AssetKeySummary:
    """The assets under one asset key, over all items: a search decides asset filters key by
    key when these allow (see :mod:`stacforge.index.assets`).

    Attributes:
        assets: How many assets have the key.
        timed: How many of those have a time (a start and an end).
        start: The earliest and latest start of those times.
        end: The earliest and latest end.
        roles: The roles of the key's assets when they all have the same, else None.
    """

    assets: int
    timed: int
    start: TimeRange
    end: TimeRange
    roles: tuple[str, ...] | None


@dataclass(frozen=True)
class Manifest:
    """What an index directory holds (``manifest.json``).

    Attributes:
        items: Items in the index.
        rejected_items: Items the writer could not index (and left out).
        assets: Rows of ``assets.parquet``.
        label_rows: Rows of ``labels.parquet``.
        label_items: Items with labels (rows of ``labels.parquet`` name this many items).
        extent: Extent of all items.
        collections: Items and extent per ``collection`` id.
        label_classes: For each ``label:overviews`` class name, how many items list it.
        asset_keys: Per asset key, a summary (None when the items have too many keys).
        items_per_row_group: Rows per row group of ``items.parquet`` and ``search.parquet``.
        source: The catalog the items came from.
        created: When the index was written.
        stacforge_version: The stacforge that wrote it.
        format: The layout version (:data:`FORMAT`).
    """

    items: int
    rejected_items: int
    assets: int
    label_rows: int
    label_items: int
    extent: Extent
    collections: Mapping[str, CollectionSummary]
    label_classes: Mapping[str, int]
    asset_keys: Mapping[str, AssetKeySummary] | None
    items_per_row_group: int
    source: str | None
    created: datetime
    stacforge_version: str
    format: int = field(default=FORMAT)

    def to_json(self) -> dict[str, Any]:
        """The manifest as ``manifest.json`` holds it (keys in a fixed order)."""
        return {
            "format": self.format,
            "stacforge_version": self.stacforge_version,
            "created": format_timestamp(self.created),
            "source": self.source,
            "files": {
                "items": layout.ITEMS_FILE,
                "search": layout.SEARCH_FILE,
                "assets": layout.ASSETS_FILE,
                "labels": layout.LABELS_FILE,
            },
            "order": {
                "curve": "hilbert",
                "bits_per_axis": ORDER,
                "of": "centre of each item's footprint bounds (longitude, latitude)",
                "items_per_row_group": self.items_per_row_group,
                "labels": "by class name, then item row",
            },
            "items": self.items,
            "rejected_items": self.rejected_items,
            "assets": self.assets,
            "asset_keys": None
            if self.asset_keys is None
            else {key: _asset_key_json(known) for key, known in self.asset_keys.items()},
            "label_rows": self.label_rows,
            "label_items": self.label_items,
            "extent": self.extent.to_json(),
            "collections": {
                cid: {"items": known.items, "extent": known.extent.to_json()}
                for cid, known in self.collections.items()
            },
            "label_classes": dict(self.label_classes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """Reads :meth:`to_json`'s form (of this :data:`FORMAT`).

        Raises:
            KeyError, TypeError, ValueError: ``data`` is not such a manifest.
        """
        keys = data["asset_keys"]
        return cls(
            format=data["format"],
            stacforge_version=data["stacforge_version"],
            created=parse_timestamp(data["created"]),
            source=data["source"],
            items_per_row_group=data["order"]["items_per_row_group"],
            items=data["items"],
            rejected_items=data["rejected_items"],
            assets=data["assets"],
            asset_keys=None if keys is None else _AssetKeys(keys),
            label_rows=data["label_rows"],
            label_items=data["label_items"],
            extent=Extent.from_json(data["extent"]),
            collections={
                cid: CollectionSummary(known["items"], Extent.from_json(known["extent"]))
                for cid, known in data["collections"].items()
            },
            label_classes=data["label_classes"],
        )


def read_manifest(directory: Path) -> Manifest:
    """The manifest of the index directory ``directory``.

    Raises:
        InputError: ``directory`` has no manifest, or one of another format, or a malformed one.
    """
    path = directory / layout.MANIFEST_FILE
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputError(directory, f"not a stacforge index (no {layout.MANIFEST_FILE})") from None
    except orjson.JSONDecodeError as error:
        raise InputError(path, f"invalid JSON ({error})") from None
    written = data.get("format", 1) if isinstance(data, dict) else None
    if written != FORMAT:
        raise InputError(
            directory,
            f"index format {written}, this stacforge reads format {FORMAT}: "
            "write the index again with `stacforge index`",
        )
    try:
        return Manifest.from_json(data)
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(path, f"malformed manifest ({type(error).__name__}: {error})") from None


class _AssetKeys(Mapping[str, AssetKeySummary]):
    """The manifest's ``asset_keys``, each summary read on first access: a manifest may list
    thousands of keys, and only searches with asset filters read them."""

    def __init__(self, data: Mapping[str, Mapping[str, Any]]) -> None:
        self._data = data
        self._read: dict[str, AssetKeySummary] = {}

    def __getitem__(self, key: str) -> AssetKeySummary:
        found = self._read.get(key)
        if found is None:
            found = self._read[key] = _asset_key(self._data[key])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _asset_key_json(known: AssetKeySummary) -> dict[str, Any]:
    return {
        "assets": known.assets,
        "timed": known.timed,
        "start": [_format(v) for v in known.start],
        "end": [_format(v) for v in known.end],
        "roles": None if known.roles is None else list(known.roles),
    }


def _asset_key(data: Mapping[str, Any]) -> AssetKeySummary:
    roles = data["roles"]
    low, high = data["start"]
    first, last = data["end"]
    return AssetKeySummary(
        assets=data["assets"],
        timed=data["timed"],
        start=(_parse(low), _parse(high)),
        end=(_parse(first), _parse(last)),
        roles=None if roles is None else tuple(roles),
    )


def _format(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def _parse(text: str | None) -> datetime | None:
    return None if text is None else parse_timestamp(text)
