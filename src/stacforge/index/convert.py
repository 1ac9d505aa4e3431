"""STAC item dicts into Arrow rows in the stac-geoparquet layout, a batch at a time.

:func:`prepare` checks one item and makes the shallow copy that is converted;
:func:`convert` turns a batch of those into one Arrow table. A batch that fails as a whole is
converted item by item, so that a bad item (or one whose field types clash with earlier items)
costs only itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import shapely
import shapely.geometry

from stacforge import hrefs, media_types
from stacforge.catalog.model import Item
from stacforge.errors import InputError
from stacforge.index import geoparquet, layout, tables

CONVERSION_ERRORS: Final = (pa.ArrowException, ValueError, TypeError, KeyError)
"""What stac-geoparquet's conversion and schema unification raise on bad or clashing items."""
_NO_BBOX: Final = [0.0, 0.0, 0.0, 0.0]
MAX_DEPTH: Final = 255
"""How deeply an item's JSON may nest: a real item nests a few levels (GeoJSON coordinates
five); one nested 900 levels deep makes the Arrow conversion take gigabytes (measured), while
128 items 250 levels deep take a fraction of a second. The limit is orjson's, which its
serializer checks in C, about 0.03 ms an item with 300 assets (a Python walk cost six times
that)."""


@dataclass
class Converted:
    """The outcome of converting a batch of prepared items.

    Attributes:
        table: The converted items (None if none), in the stac-geoparquet layout.
        kept: Their positions in the batch.
        rejected: The errors of the others.
        schema: The union of the schemas of every item converted so far.
    """

    table: pa.Table | None
    kept: list[int]
    schema: pa.Schema | None
    rejected: list[InputError] = field(default_factory=list)


def prepare(item: Item, href: str | None) -> tuple[Item, list[str]]:
    """A shallow copy of ``item`` ready for Arrow, and the hrefs of its ``source`` links.

    The copy has a ``self`` link to ``href``, a 2D float ``bbox`` (computed when missing) and
    its GeoJSON geometries as WKB, as stac-geoparquet stores them. An item whose geometry is
    ``null`` (valid STAC: it has no location) keeps a null geometry and no ``bbox``.

    Raises:
        InputError: No id, no properties, a geometry shapely cannot read, or nested deeper
            than :data:`MAX_DEPTH`.
    """
    where = href or "<item>"
    item_id = item.get("id") if isinstance(item, Mapping) else None
    if not isinstance(item_id, str) or not item_id:
        raise InputError(where, "item has no id")
    record = f"item {item_id}"
    try:
        # Only the depth is checked: values JSON has no type for (numpy, datetimes) pass.
        orjson.dumps(item, default=repr)
    except TypeError:  # orjson's serializer refuses to go deeper than MAX_DEPTH, checked in C
        raise nesting_error(href, item_id) from None
    if not isinstance(item.get("properties"), Mapping):
        raise InputError(where, "item has no properties", record=record)
    if "geometry" not in item:
        raise InputError(
            where, "item has no geometry (null when it has no location)", record=record
        )
    geometry = _geometry(item["geometry"], where, record)
    bbox = item.get("bbox")
    if geometry is None:
        bbox = None
    elif not (isinstance(bbox, list | tuple) and len(bbox) in (4, 6)):
        bbox = geometry.bounds
    elif len(bbox) == 6:
        bbox = [bbox[0], bbox[1], bbox[3], bbox[4]]
    links = [
        link
        for link in item.get("links") or ()
        if isinstance(link, Mapping) and link.get("rel") != "self"
    ]
    sources = [
        link["href"] if href is None else hrefs.join(href, link["href"])
        for link in links
        if link.get("rel") == "source" and isinstance(link.get("href"), str)
    ]
    if href is not None:
        links.append({"rel": "self", "href": href, "type": media_types.GEOJSON})
    row = dict(item)
    row["geometry"] = None if geometry is None else shapely.to_wkb(geometry, flavor="iso")
    row["bbox"] = None if bbox is None else [float(v) for v in bbox]
    row["links"] = links
    row.setdefault("stac_extensions", [])
    assets = row.setdefault("assets", {})
    # stac-geoparquet stores every GeoJSON geometry as WKB, projection geometries included.
    # (isinstance against dict, not Mapping: ABC checks would cost more than the conversion.)
    properties = item["properties"]
    if isinstance(properties.get("proj:geometry"), dict):
        row["properties"] = {**properties, "proj:geometry": _wkb(properties["proj:geometry"])}
    if isinstance(assets, dict) and any(
        isinstance(asset, dict) and "proj:geometry" in asset for asset in assets.values()
    ):
        row["assets"] = {
            key: {**asset, "proj:geometry": _wkb(asset["proj:geometry"])}
            if isinstance(asset, dict) and isinstance(asset.get("proj:geometry"), dict)
            else asset
            for key, asset in assets.items()
        }
    return row, sources


def nesting_error(href: str | None, item_id: str | None) -> InputError:
    """The error of an item nested deeper than :data:`MAX_DEPTH` levels."""
    record = None if item_id is None else f"item {item_id}"
    return InputError(href or "<item>", f"nested deeper than {MAX_DEPTH} levels", record=record)


def convert(rows: list[Item], item_hrefs: list[str | None], schema: pa.Schema | None) -> Converted:
    """Converts rows from :func:`prepare` to one table.

    An item stac-geoparquet cannot convert, whose field types clash with those of earlier
    items (``schema``), or whose assets have malformed times is rejected; the rest of its
    batch is kept.

    Args:
        rows: Prepared items.
        item_hrefs: Where each item lives (names it in errors).
        schema: The union schema of the items converted before (None at first).
    """
    try:
        table = to_arrow(rows)
        done = Converted(table, list(range(len(rows))), unify(schema, table.schema))
    except CONVERSION_ERRORS:
        done = _item_by_item(rows, item_hrefs, schema)
    if done.table is not None and (bad := tables.asset_time_errors(done.table)):
        done.rejected += [
            InputError(
                item_hrefs[done.kept[i]] or "<item>",
                message,
                record=f"item {rows[done.kept[i]]['id']}",
            )
            for i, message in sorted(bad.items())
        ]
        done.table = done.table.filter(pa.array([i not in bad for i in range(done.table.num_rows)]))
        done.kept = [k for i, k in enumerate(done.kept) if i not in bad]
    return done


def _item_by_item(
    rows: list[Item], item_hrefs: list[str | None], schema: pa.Schema | None
) -> Converted:
    """Converts a batch that failed as a whole one item at a time."""
    converted: list[pa.Table] = []
    done = Converted(None, [], schema)
    for i, (row, href) in enumerate(zip(rows, item_hrefs, strict=True)):
        where, record = href or "<item>", f"item {row['id']}"
        try:
            table = to_arrow([row])
        except CONVERSION_ERRORS as error:
            done.rejected.append(InputError(where, f"cannot index item: {error}", record=record))
            continue
        try:
            done.schema = unify(done.schema, table.schema)
        except CONVERSION_ERRORS as error:
            message = f"a field's type differs from earlier items ({error})"
            done.rejected.append(InputError(where, message, record=record))
            continue
        converted.append(table)
        done.kept.append(i)
    if converted:
        done.table = pa.concat_tables(converted, promote_options="permissive")
    return done


def to_arrow(rows: list[Item]) -> pa.Table:
    """Rows from :func:`prepare` in the stac-geoparquet layout (properties as columns).

    Parquet cannot store a struct without fields, so an empty object nested in a field
    (``"statistics": {}`` in a band) would fail the whole index when it is written: such rows
    are converted again without their empty objects (rare, so only then are they walked).
    """
    table = _to_arrow(rows)
    if any(_nests_an_empty_struct(field.type) for field in table.schema):
        table = _to_arrow([{k: _without_empty_objects(v) for k, v in row.items()} for row in rows])
    return table


def _to_arrow(rows: list[Item]) -> pa.Table:
    # stac-geoparquet cannot convert a null bbox (an item without geometry): it converts a
    # stand-in, nulled afterwards.
    unlocated = [row["bbox"] is None for row in rows]
    if any(unlocated):
        rows = [{**row, "bbox": _NO_BBOX} if row["bbox"] is None else row for row in rows]
    batch = pa.RecordBatch.from_struct_array(pa.array(rows))
    table = pa.Table.from_batches([geoparquet.json_to_arrow(batch)])
    bbox = table["bbox"].cast(layout.BBOX)
    if any(unlocated):
        bbox = pc.if_else(pa.array(unlocated), pa.scalar(None, layout.BBOX), bbox)
    return table.set_column(table.schema.get_field_index("bbox"), "bbox", bbox)


def _nests_an_empty_struct(data_type: pa.DataType) -> bool:
    """Whether a struct without fields sits anywhere below ``data_type`` (not itself: a
    top-level empty column is left out of the file, see the writer)."""
    if pa.types.is_struct(data_type):
        children = [data_type.field(i).type for i in range(data_type.num_fields)]
    elif pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        children = [data_type.value_type]
    else:
        return False
    return any(
        (pa.types.is_struct(child) and child.num_fields == 0) or _nests_an_empty_struct(child)
        for child in children
    )


def _without_empty_objects(value: Any) -> Any:
    """``value`` (kept itself) without the empty objects below it: dropped from objects, null
    in arrays (objects emptied so are dropped too)."""
    if isinstance(value, dict):
        kept = {}
        for key, child in value.items():
            cleaned = _without_empty_objects(child)
            if not (isinstance(cleaned, dict) and not cleaned):
                kept[key] = cleaned
        return kept
    if isinstance(value, list):
        cleaned_items = [_without_empty_objects(child) for child in value]
        return [None if isinstance(c, dict) and not c else c for c in cleaned_items]
    return value


def unify(known: pa.Schema | None, new: pa.Schema) -> pa.Schema:
    """The union of two stac-geoparquet schemas (raises where a field's types clash)."""
    return new if known is None else pa.unify_schemas([known, new], promote_options="permissive")


def _geometry(value: Any, where: str, record: str) -> shapely.Geometry | None:
    """The item's geometry (None for ``null``).

    Raises:
        InputError: A geometry shapely cannot read.
    """
    if value is None:
        return None
    try:
        geometry: shapely.Geometry = shapely.geometry.shape(value)
    except (TypeError, KeyError, AttributeError, ValueError, shapely.errors.ShapelyError):
        raise InputError(where, "item has no readable geometry", record=record) from None
    return geometry


def _wkb(geometry: Mapping[str, Any]) -> bytes:
    wkb: bytes = shapely.to_wkb(shapely.geometry.shape(geometry), flavor="iso")
    return wkb
