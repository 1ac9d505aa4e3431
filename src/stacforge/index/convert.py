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

import numpy as np
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


@dataclass
class PreparedRows:
    """Rows of a stac-geoparquet file made ready for the index writer (see
    :func:`prepare_rows`).

    Attributes:
        table: The rows kept, with their ``self`` links and ``bbox`` set.
        item_hrefs: Where each kept item lives.
        sources: The hrefs of each kept item's ``source`` links, resolved against it.
        rejected: The errors of the rows left out.
    """

    table: pa.Table
    item_hrefs: list[str]
    sources: list[list[str]]
    rejected: list[InputError]


def prepare_rows(
    table: pa.Table, item_hrefs: list[str], *, collection: str | None, where: str
) -> PreparedRows:
    """Checks rows already in the stac-geoparquet layout (a collection mirror's) and sets what
    :func:`prepare` sets on an item dict, in Arrow: the ``self`` link, a 2D ``bbox``, the
    ``collection`` where the row has none; and the ``source`` link hrefs.

    A row without an id, whose geometry is no readable WKB or whose assets have a time that is
    no timestamp is rejected on its own, as :func:`prepare` and :func:`convert` reject such an
    item.

    Args:
        table: The rows, as read from the file.
        item_hrefs: Where each row's item lives (its resolved ``self`` link).
        collection: The id of the collection whose mirror this is.
        where: The file, for errors.

    Raises:
        InputError: The rows as a whole cannot be indexed (no ``id`` or ``geometry`` column
            of the right type, or nested deeper than :data:`MAX_DEPTH`).
    """
    for name, check in (("id", pa.types.is_string), ("geometry", pa.types.is_binary)):
        if name not in table.column_names or not check(table.schema.field(name).type):
            raise InputError(where, f"not stac-geoparquet: no {name} column of its type")
    if max(_depth(field.type) for field in table.schema) > MAX_DEPTH:
        raise InputError(where, f"nested deeper than {MAX_DEPTH} levels")
    ids = table["id"].to_pylist()
    wkb = table["geometry"].to_numpy(zero_copy_only=False)
    geometries = shapely.from_wkb(wkb, on_invalid="ignore")
    bad_times = tables.asset_time_errors(table)
    rejected: list[InputError] = []
    kept: list[int] = []
    for i, (item_id, raw, geometry) in enumerate(zip(ids, wkb, geometries, strict=True)):
        if not item_id:
            rejected.append(InputError(item_hrefs[i], "item has no id", record=f"row {i}"))
        elif raw is not None and geometry is None:
            message = "item has no readable geometry"
            rejected.append(InputError(item_hrefs[i], message, record=f"item {item_id}"))
        elif i in bad_times:
            rejected.append(InputError(item_hrefs[i], bad_times[i], record=f"item {item_id}"))
        else:
            kept.append(i)
    if len(kept) < table.num_rows:
        table = table.take(pa.array(kept, pa.int64()))
        geometries = geometries[kept]
    hrefs_kept = [item_hrefs[i] for i in kept]
    table = _with_bbox(table, geometries)
    if collection is not None:
        table = _with_collection(table, collection)
    links, sources = _with_self_links(table, hrefs_kept)
    table = table.set_column(table.schema.get_field_index("links"), "links", links)
    return PreparedRows(table, hrefs_kept, sources, rejected)


def _depth(data_type: pa.DataType) -> int:
    """How many levels of lists and structs ``data_type`` nests."""
    if pa.types.is_struct(data_type):
        return 1 + max(
            (_depth(data_type.field(i).type) for i in range(data_type.num_fields)), default=0
        )
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return 1 + _depth(data_type.value_type)
    return 0


def _with_bbox(table: pa.Table, geometries: Any) -> pa.Table:
    """``table`` with a 2D float ``bbox`` on every located row: its own where it has one, else
    its geometry's bounds (null for an item without geometry)."""
    bounds = shapely.bounds(geometries)
    located = ~np.isnan(bounds[:, 0])
    from_geometry = pa.StructArray.from_arrays(
        [pa.array(bounds[:, i], mask=~located) for i in range(4)],
        fields=list(layout.BBOX),
        mask=pa.array(~located),
    )
    bbox = from_geometry
    if "bbox" in table.column_names:
        own = table["bbox"].combine_chunks()
        names = ("xmin", "ymin", "xmax", "ymax")
        if pa.types.is_struct(own.type) and all(n in own.type.names for n in names):
            own = pa.StructArray.from_arrays(
                [own.field(n).cast(pa.float64()) for n in names],
                fields=list(layout.BBOX),
                mask=pc.invert(own.is_valid()),
            )
            bbox = pc.if_else(pc.and_(own.is_valid(), pa.array(located)), own, from_geometry)
        return table.set_column(table.schema.get_field_index("bbox"), "bbox", bbox)
    return table.append_column(pa.field("bbox", layout.BBOX), bbox)


def _with_collection(table: pa.Table, collection: str) -> pa.Table:
    if "collection" not in table.column_names:
        return table.append_column("collection", pa.array([collection] * table.num_rows))
    index = table.schema.get_field_index("collection")
    filled = pc.fill_null(table["collection"].cast(pa.string()), collection)
    return table.set_column(index, "collection", filled)


def _with_self_links(table: pa.Table, item_hrefs: list[str]) -> tuple[pa.Array, list[list[str]]]:
    """Each row's links without its ``self`` links and with one to its href (last, as
    :func:`prepare` puts it), and its ``source`` link hrefs resolved against that href."""
    n = table.num_rows
    if "links" in table.column_names:
        links = table["links"].combine_chunks()
    else:
        links = pa.nulls(n, pa.list_(pa.struct([("rel", pa.string()), ("href", pa.string())])))
    flat = pc.list_flatten(links)
    owner = pc.list_parent_indices(links).to_numpy()
    link_type = flat.type
    if "type" not in link_type.names:
        link_type = pa.struct([*link_type, pa.field("type", pa.string())])
    rel = flat.field("rel") if "rel" in flat.type.names else pa.nulls(len(flat), pa.string())
    href = flat.field("href") if "href" in flat.type.names else pa.nulls(len(flat), pa.string())
    not_self = pc.fill_null(pc.not_equal(rel, "self"), True).to_numpy(zero_copy_only=False)
    sources: list[list[str]] = [[] for _ in range(n)]
    is_source = pc.fill_null(pc.equal(rel, "source"), False).to_numpy(zero_copy_only=False)
    for row, target in zip(
        owner[is_source], href.filter(pa.array(is_source)).to_pylist(), strict=True
    ):
        if target is not None:
            sources[row].append(hrefs.join(item_hrefs[row], target))
    self_links = pa.StructArray.from_arrays(
        [
            pa.array(["self"] * n)
            if f.name == "rel"
            else pa.array(item_hrefs, pa.string())
            if f.name == "href"
            else pa.array([media_types.GEOJSON] * n)
            if f.name == "type"
            else pa.nulls(n, f.type)
            for f in link_type
        ],
        fields=list(link_type),
    )
    kept = flat.filter(pa.array(not_self))
    if kept.type != link_type:
        kept = pa.StructArray.from_arrays(
            [
                kept.field(f.name) if f.name in kept.type.names else pa.nulls(len(kept), f.type)
                for f in link_type
            ],
            fields=list(link_type),
        )
    # Every row's kept links, then its self link: order the values by (row, self last).
    rows = np.concatenate([owner[not_self], np.arange(n)])
    order = np.argsort(rows, kind="stable")
    values = pa.concat_arrays([kept, self_links]).take(pa.array(order))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values), sources
