"""STAC extension schema URLs we write, and helpers for the label and ml-aoi extensions.

Only versions with a schema under ``shared/schemas`` are used. pystac's label module is deprecated
and sets no asset roles, so the label fields are built here, once, for every builder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

LABEL = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
ML_AOI = "https://stac-extensions.github.io/ml-aoi/v0.2.0/schema.json"
PROJECTION = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
EO = "https://stac-extensions.github.io/eo/v2.0.0/schema.json"
RASTER = "https://stac-extensions.github.io/raster/v2.0.0/schema.json"
FILE = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
CLASSIFICATION = "https://stac-extensions.github.io/classification/v1.1.0/schema.json"

LabelType = Literal["vector", "raster"]
Split = Literal["train", "validate", "test"]


def label_classes(
    classes: Mapping[str | None, Sequence[str | int | float]],
) -> list[dict[str, Any]]:
    """Builds ``label:classes``: one entry per label property (``None`` for raster labels)."""
    return [{"name": name, "classes": list(values)} for name, values in classes.items()]


def label_overview(
    property_key: str | None,
    *,
    counts: Mapping[str, int] | None = None,
    statistics: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Builds one ``label:overviews`` entry from class counts or class statistics (e.g. shares)."""
    overview: dict[str, Any] = {}
    if property_key is not None:
        overview["property_key"] = property_key
    if counts is not None:
        overview["counts"] = [{"name": name, "count": int(n)} for name, n in counts.items()]
    if statistics is not None:
        overview["statistics"] = [{"name": name, "value": v} for name, v in statistics.items()]
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
    """Builds the label extension's item properties.

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
    href: str, media_type: str, *, label_type: LabelType, title: str | None = None
) -> dict[str, Any]:
    """Builds a label asset with roles ``labels`` and ``labels-vector`` / ``labels-raster``."""
    asset: dict[str, Any] = {"href": href, "type": media_type}
    if title:
        asset["title"] = title
    asset["roles"] = ["labels", f"labels-{label_type}"]
    return asset


def source_link(
    href: str, *, label_assets: Sequence[str] | None = None, title: str | None = None
) -> dict[str, Any]:
    """Builds a label item's ``source`` link to the item its labels were drawn on."""
    link: dict[str, Any] = {"rel": "source", "href": href, "type": "application/geo+json"}
    if title:
        link["title"] = title
    if label_assets:
        link["label:assets"] = list(label_assets)
    return link


def ml_aoi_split(split: Split) -> dict[str, Any]:
    """Builds the ml-aoi item property for a sample's train / validate / test split."""
    if split not in ("train", "validate", "test"):
        raise ValueError(f"ml-aoi:split must be train, validate or test, not {split!r}")
    return {"ml-aoi:split": split}
