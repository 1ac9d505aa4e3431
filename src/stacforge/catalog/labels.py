"""Fields of the label (v1.0.1), ml-aoi (v0.2.0) and classification (v1.1.0) extensions.

pystac's label module is deprecated and sets no asset roles, and its classification helper
writes v2.0.0 (no schema under ``shared/schemas``), so the fields are built here, once, for
every builder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from stacforge import media_types

LabelType = Literal["vector", "raster"]
Split = Literal["train", "validate", "test"]
SPLITS: tuple[Split, ...] = ("train", "validate", "test")


def label_classes(
    classes: Mapping[str | None, Sequence[str | int | float]],
) -> list[dict[str, Any]]:
    """``label:classes``: one entry per label property (``None`` for raster labels)."""
    return [{"name": name, "classes": list(values)} for name, values in classes.items()]


def label_overview(
    property_key: str | None,
    *,
    counts: Mapping[str, int] | None = None,
    statistics: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """One ``label:overviews`` entry from class counts or class statistics (e.g. shares)."""
    overview: dict[str, Any] = {}
    if property_key is not None:
        overview["property_key"] = property_key
    if counts is not None:
        overview["counts"] = [{"name": str(name), "count": int(n)} for name, n in counts.items()]
    if statistics is not None:
        overview["statistics"] = [{"name": str(name), "value": v} for name, v in statistics.items()]
    return overview


def label_properties(
    *,
    label_type: LabelType,
    description: str,
    properties: Sequence[str] | None,
    tasks: Iterable[str] = (),
    methods: Iterable[str] = (),
    classes: list[dict[str, Any]] | None = None,
    overviews: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The label extension's item properties.

    Raises:
        ValueError: On combinations the v1.0.1 schema rejects (empty description, raster labels
            with label properties or named classes).
    """
    if not description:
        raise ValueError("label:description must not be empty")
    if label_type == "raster":
        if properties is not None:
            raise ValueError("raster labels have label:properties null")
        if classes and any(entry["name"] is not None for entry in classes):
            raise ValueError("raster label classes must have a null name")
    fields: dict[str, Any] = {
        "label:type": label_type,
        "label:description": description,
        "label:properties": list(properties) if properties is not None else None,
    }
    if tasks:
        fields["label:tasks"] = list(tasks)
    if methods:
        fields["label:methods"] = list(methods)
    if classes is not None:
        fields["label:classes"] = classes
    if overviews:
        fields["label:overviews"] = overviews
    return fields


def label_asset(
    href: str, media_type: str, *, label_type: LabelType, title: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A label asset with roles ``labels`` and ``labels-vector`` / ``labels-raster``."""
    asset: dict[str, Any] = {"href": href, "type": media_type}
    if title:
        asset["title"] = title
    asset.update(fields)
    asset["roles"] = ["labels", f"labels-{label_type}"]
    return asset


def source_link(
    href: str, *, label_assets: Sequence[str] | None = None, title: str | None = None
) -> dict[str, Any]:
    """A label item's ``source`` link to an item its labels were drawn on (``href`` relative
    to the label item, see :func:`stacforge.catalog.items.item_link` for item paths)."""
    link: dict[str, Any] = {"rel": "source", "href": href, "type": media_types.GEOJSON}
    if title:
        link["title"] = title
    if label_assets:
        link["label:assets"] = list(label_assets)
    return link


def ml_aoi_split(split: Split) -> dict[str, Any]:
    """The ml-aoi item property for a sample's train / validate / test split."""
    if split not in SPLITS:
        raise ValueError(f"ml-aoi:split must be train, validate or test, not {split!r}")
    return {"ml-aoi:split": split}


def classification_classes(
    classes: Mapping[int, str], *, nodata: Iterable[int] = ()
) -> list[dict[str, Any]]:
    """``classification:classes`` (v1.1.0) for an asset or raster band: one entry per class
    value, with its name as ``description`` and an id-safe ``name``; ``nodata`` values are
    flagged as such."""
    empty = set(nodata)
    entries = []
    for value, description in sorted(classes.items()):
        entry: dict[str, Any] = {
            "value": int(value),
            "name": _class_name(description),
            "description": description,
        }
        if value in empty:
            entry["nodata"] = True
        entries.append(entry)
    return entries


def _class_name(description: str) -> str:
    # The v1.1.0 schema asks names to match ^[0-9A-Za-z-_]+$.
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in description.lower())
    return "_".join(part for part in name.split("_") if part) or "class"
