"""Search parameters: STAC API item-search semantics plus label and asset filters, validated.

:class:`SearchParams` is what callers pass (the STAC API names and value forms, as pystac-client
takes them); :class:`Query` is the same, parsed and checked, as the search engine uses it.
"""

from __future__ import annotations

import calendar
import fnmatch
import functools
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, TypedDict

import orjson

from stacforge.errors import StacforgeError
from stacforge.time import parse_timestamp

if TYPE_CHECKING:
    import pystac
    import shapely

    from stacforge.index.fields import Fields, FieldsLike
    from stacforge.index.query_extension import QueryLike

# shapely, pystac, cql2 and the parsers of the query and fields extensions are imported where a
# search needs them: a command-line search by bbox, ids, collections or labels is over before
# they would have loaded.

DEFAULT_LIMIT: Final = 100
"""Items per page when ``limit`` is not given."""
MAX_LIMIT: Final = 10_000
"""The largest page pystac-client asks for."""


class GeoInterface(Protocol):
    """Anything with a GeoJSON ``__geo_interface__`` (shapely, GeoPandas, pygeoif...)."""

    @property
    def __geo_interface__(self) -> Mapping[str, Any]: ...


DatetimeLike: TypeAlias = "datetime | str | Sequence[datetime | str | None]"


class SearchParams(TypedDict, total=False):
    """Keyword arguments of a search; all optional, all combined with AND.

    Attributes:
        bbox: ``[west, south, east, north]`` (or 6 numbers with heights, which are ignored),
            as a sequence or a comma-separated string; ``west > east`` crosses the antimeridian.
        intersects: A GeoJSON geometry (dict, JSON text, or a path to a GeoJSON file; a Feature
            or FeatureCollection stands for the union of its geometries), a shapely geometry,
            or any object with ``__geo_interface__``.
        datetime: An RFC 3339 instant or an interval ``start/end`` with ``..`` (or nothing) for
            an open end; partial dates (``2018``, ``2018-05``, ``2018-05-03``) span their
            period. Or a :class:`~datetime.datetime` (naive: UTC), or a tuple/list of one or
            two such values or strings (None for an open end), as pystac-client takes them.
        ids: Item ids.
        collections: Collection ids (or ``pystac.Collection`` objects), matched against each
            item's ``collection`` field.
        filter: A CQL2 expression, as text or as CQL2 JSON.
        query: A STAC API query extension object (``{"gsd": {"lt": 20}}``) or list of strings
            (``["gsd<20"]``); ANDed with ``filter``.
        fields: The fields extension: which item fields to return (``"id,-properties.gsd"``,
            ``["+id"]`` or ``{"include": [...], "exclude": [...]}``).
        sortby: Fields to sort by, ``"-datetime,+id"`` or ``[{"field": ..., "direction": ...}]``.
        max_items: Return at most this many items (default: every match).
        limit: The page size of :meth:`~stacforge.index.item_search.ItemSearch.pages`
            (1 to 10,000, as pystac-client checks; default 100); it does not cap the total.
        labels: Conditions on a class of ``label:overviews``, such as ``"clc_412>0.8"``: its
            statistics value (a share), else its count (``"corn>=5000"``); a class an item does
            not list counts 0. A threshold in percent compares the class's share instead:
            ``"corn>=30%"`` is its count over the total of the counts of its overview entry
            (statistics values are compared with 0.3).
        label_any: Conditions on the sum of several classes, such as
            ``"clc_311,clc_312,clc_313>=1.0"`` or ``"corn,soybeans>=50%"`` (sum of shares).
        asset_roles: Keep assets with any of these roles.
        asset_keys: Keep assets whose key matches any of these globs (``sr_2018-*``).
        asset_datetime: Keep assets whose time (their own ``datetime`` or
            ``start_datetime``/``end_datetime``, else their item's) meets this interval.
    """

    bbox: Sequence[float] | str
    intersects: Mapping[str, Any] | str | shapely.Geometry | GeoInterface
    datetime: DatetimeLike
    ids: Sequence[str] | str
    collections: Sequence[str | pystac.Collection] | str | pystac.Collection
    filter: Mapping[str, Any] | str
    query: QueryLike
    fields: FieldsLike
    sortby: Sequence[str | Mapping[str, str]] | str
    max_items: int
    limit: int
    labels: Sequence[str] | str
    label_any: Sequence[str] | str
    asset_roles: Sequence[str] | str
    asset_keys: Sequence[str] | str
    asset_datetime: str


@dataclass(frozen=True)
class Interval:
    """A closed time interval; ``None`` is an open end."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class LabelCondition:
    """``sum of the classes' numbers  <op>  threshold``.

    Attributes:
        names: The classes.
        op: The comparison (``>=``, ``<=``, ``>``, ``<``, ``=``, ``==``, ``!=``).
        threshold: The number compared with.
        share: Compare each class's share instead of its number: its count over the total of
            the counts of its ``label:overviews`` entry, or its statistics value (already a
            share); ``threshold`` is then a fraction (``30%`` is 0.3).
    """

    names: tuple[str, ...]
    op: str
    threshold: float
    share: bool = False

    @property
    def compare(self) -> Callable[[Any, Any], Any]:
        return _COMPARISONS[self.op]


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    """A validated search; see :class:`SearchParams` for the meaning of each field."""

    bbox: tuple[float, float, float, float] | None = None
    intersects: shapely.Geometry | None = None
    datetime: Interval | None = None
    ids: frozenset[str] | None = None
    collections: frozenset[str] | None = None
    filter: Mapping[str, Any] | None = None
    sortby: tuple[SortKey, ...] = ()
    max_items: int | None = None
    limit: int = DEFAULT_LIMIT
    query: Mapping[str, Mapping[str, Any]] | None = None
    fields: Fields | None = None
    labels: tuple[LabelCondition, ...] = ()
    asset_roles: frozenset[str] | None = None
    asset_keys: re.Pattern[str] | None = None
    asset_datetime: Interval | None = None

    @property
    def filters_assets(self) -> bool:
        """Whether the query keeps only some of each item's assets."""
        return any(f is not None for f in (self.asset_roles, self.asset_keys, self.asset_datetime))

    @functools.cached_property
    def spatial(self) -> shapely.Geometry | None:
        """The search area (the ``bbox`` as a polygon, or ``intersects``), prepared for the
        many geometries tested against it."""
        import shapely

        area = bbox_geometry(self.bbox) if self.bbox is not None else self.intersects
        if area is not None:
            shapely.prepare(area)
        return area

    @classmethod
    def from_params(cls, **params: Any) -> Query:
        """Parses :class:`SearchParams`.

        Raises:
            StacforgeError: An unknown or malformed parameter, or ``bbox`` with ``intersects``.
        """
        unknown = set(params) - set(SearchParams.__annotations__)
        if unknown:
            raise StacforgeError(f"unknown search parameter(s): {', '.join(sorted(unknown))}")
        given = {name: value for name, value in params.items() if value is not None}
        if "bbox" in given and "intersects" in given:
            raise StacforgeError("bbox and intersects cannot be used together")
        max_items = _count(given["max_items"], "max_items") if "max_items" in given else None
        if max_items is not None and max_items < 0:
            raise StacforgeError(f"max_items must not be negative, not {max_items}")
        limit = _count(given.get("limit", DEFAULT_LIMIT), "limit")
        if max_items is not None and "limit" in given:
            limit = min(limit, max_items)  # as pystac-client
        if not 1 <= limit <= MAX_LIMIT:
            raise StacforgeError(f"Invalid limit of {limit}, must be between 1 and 10,000")
        query = None
        filters = [parse_filter(given["filter"])] if "filter" in given else []
        if "query" in given:
            from stacforge.index.query_extension import query_object, to_cql2

            query = query_object(given["query"])
            if query and (from_query := to_cql2(query)) is not None:
                filters.append(from_query)
        fields = None
        if "fields" in given:
            from stacforge.index.fields import parse_fields

            fields = parse_fields(given["fields"])
        return cls(
            bbox=parse_bbox(given["bbox"]) if "bbox" in given else None,
            intersects=parse_geometry(given["intersects"]) if "intersects" in given else None,
            datetime=parse_datetime(given["datetime"]) if "datetime" in given else None,
            ids=frozenset(_strings(given["ids"])) if "ids" in given else None,
            collections=frozenset(_collections(given["collections"]))
            if "collections" in given
            else None,
            filter=filters[0] if len(filters) == 1 else _and(filters),
            sortby=parse_sortby(given["sortby"]) if "sortby" in given else (),
            max_items=max_items,
            limit=limit,
            query=query,
            fields=fields,
            labels=(
                *(parse_label(text, single=True) for text in _each(given.get("labels", ()))),
                *(parse_label(text, single=False) for text in _each(given.get("label_any", ()))),
            ),
            asset_roles=frozenset(_strings(given["asset_roles"]))
            if "asset_roles" in given
            else None,
            asset_keys=re.compile(
                "|".join(f"(?:{fnmatch.translate(g)})" for g in _strings(given["asset_keys"]))
            )
            if "asset_keys" in given
            else None,
            asset_datetime=parse_interval(given["asset_datetime"])
            if "asset_datetime" in given
            else None,
        )


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise StacforgeError(f"{name} must be a whole number, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise StacforgeError(f"{name} must be a whole number, not {value!r}") from None


def _and(filters: list[dict[str, Any]]) -> dict[str, Any] | None:
    return {"op": "and", "args": filters} if filters else None


def _collections(value: Any) -> list[str]:
    """Collection ids from ids, ``pystac.Collection`` objects (anything with an ``id``), a
    comma-separated string, or a list of these."""
    if isinstance(value, str):
        return _strings(value)
    if not isinstance(value, Iterable):
        value = [value]
    ids = []
    for entry in value:
        if isinstance(entry, str):
            ids.append(entry)
        elif isinstance(getattr(entry, "id", None), str):
            ids.append(entry.id)
        else:
            raise StacforgeError(
                f"collections must be ids or pystac.Collection objects, not {entry!r}"
            )
    return ids


def _strings(value: Sequence[str] | str) -> list[str]:
    """A list of strings from a sequence or a comma-separated string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(v) for v in value]


def _each(value: Sequence[str] | str) -> list[str]:
    """Conditions: one string is one condition (its commas list classes)."""
    return [value] if isinstance(value, str) else list(value)


def parse_bbox(value: Sequence[float] | str) -> tuple[float, float, float, float]:
    """``[west, south, east, north]`` from 4 or 6 numbers (``[w, s, bottom, e, n, top]``:
    heights are dropped), as the STAC API checks them: finite, longitudes in -180..180,
    latitudes in -90..90, south not north of north (``west > east`` crosses the
    antimeridian)."""
    try:
        numbers = [float(v) for v in (value.split(",") if isinstance(value, str) else value)]
    except (TypeError, ValueError):
        raise StacforgeError(f"bbox must be 4 or 6 numbers, not {value!r}") from None
    if len(numbers) not in (4, 6):
        raise StacforgeError(f"bbox must be 4 or 6 numbers, not {len(numbers)}")
    if not all(math.isfinite(n) for n in numbers):
        raise StacforgeError(f"bbox numbers must be finite: {_numbers(numbers)}")
    if len(numbers) == 6:
        if numbers[2] > numbers[5]:
            raise StacforgeError(f"bbox bottom is above its top: {_numbers(numbers)}")
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    west, south, east, north = numbers
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise StacforgeError(f"bbox longitudes must be within -180..180: {_numbers(numbers)}")
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise StacforgeError(f"bbox latitudes must be within -90..90: {_numbers(numbers)}")
    if south > north:
        raise StacforgeError(f"bbox south ({south:g}) is north of its north ({north:g})")
    return west, south, east, north


def _numbers(numbers: Sequence[float]) -> str:
    return ",".join(f"{n:g}" for n in numbers)


def bbox_geometry(bbox: tuple[float, float, float, float]) -> shapely.Geometry:
    """The box as a polygon; two boxes where it crosses the antimeridian (``west > east``)."""
    import shapely

    west, south, east, north = bbox
    if west <= east:
        return shapely.box(west, south, east, north)
    return shapely.MultiPolygon(
        [shapely.box(west, south, 180.0, north), shapely.box(-180.0, south, east, north)]
    )


def parse_geometry(
    value: Mapping[str, Any] | str | shapely.Geometry | GeoInterface,
) -> shapely.Geometry:
    """A shapely geometry from GeoJSON (dict, text or file path), a shapely geometry or an
    object with ``__geo_interface__``."""
    import shapely
    import shapely.geometry

    if isinstance(value, shapely.Geometry):
        return value
    if not isinstance(value, Mapping | str):
        if not hasattr(value, "__geo_interface__"):
            raise StacforgeError(
                "intersects must be of type None, str, dict, or an object that implements "
                "__geo_interface__"
            )
        value = dict(value.__geo_interface__)
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            path = Path(text)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as error:
                raise StacforgeError(f"intersects: cannot read {path} ({error.strerror})") from None
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            raise StacforgeError(f"intersects: invalid GeoJSON ({error})") from None
    if not isinstance(value, Mapping):
        raise StacforgeError("intersects must be a GeoJSON object")
    try:
        if value.get("type") == "FeatureCollection":
            return shapely.union_all(
                [shapely.geometry.shape(f["geometry"]) for f in value["features"]]
            )
        if value.get("type") == "Feature":
            return shapely.geometry.shape(value["geometry"])
        return shapely.geometry.shape(value)
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.ShapelyError) as error:
        raise StacforgeError(f"intersects: not a GeoJSON geometry ({error})") from None


def parse_datetime(value: DatetimeLike) -> Interval:
    """A ``datetime`` search parameter in any form pystac-client takes (see
    :class:`SearchParams`).

    Raises:
        StacforgeError: Malformed, more than two parts, or open at both ends.
    """
    if isinstance(value, datetime):
        moment = _utc(value)
        return Interval(moment, moment)
    if isinstance(value, str):
        return parse_interval(value)
    if not isinstance(value, Sequence):
        raise StacforgeError(f"datetime must be a string, a datetime or a list, not {value!r}")
    parts = list(value)
    if len(parts) == 1:
        if parts[0] is None:
            raise StacforgeError("cannot create a datetime query with None")
        return parse_datetime(parts[0])
    if len(parts) != 2:
        raise StacforgeError(f"too many datetime components (max=2, actual={len(parts)})")
    if all(part is None or part in ("", "..") for part in parts):
        raise StacforgeError("cannot create a double open-ended interval")
    start, end = (_bound(part) for part in parts)
    return parse_interval(f"{start}/{end}")


def _bound(part: Any) -> str:
    if part is None:
        return ".."
    if isinstance(part, datetime):
        return _utc(part).isoformat().replace("+00:00", "Z")
    if isinstance(part, str):
        return part
    raise StacforgeError(f"invalid datetime component: {part!r}")


def _utc(moment: datetime) -> datetime:
    """An aware datetime in UTC (a naive one is taken as UTC, as pystac-client does)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def parse_interval(text: str) -> Interval:
    """A STAC API ``datetime``: an instant, a partial date, or ``start/end`` (``..`` = open).

    A partial date spans its whole year, month or day; as the start of an interval it counts
    from the beginning of that period, as the end up to its last microsecond.
    """
    text = text.strip()
    if "/" in text:
        first, _, second = text.partition("/")
        start = None if first.strip() in ("", "..") else _instant(first)[0]
        end = None if second.strip() in ("", "..") else _instant(second)[1]
        if start is None and end is None:
            raise StacforgeError(f"datetime {text!r} is open at both ends")
    else:
        start, end = _instant(text)
    if start is not None and end is not None and start > end:
        raise StacforgeError(f"datetime {text!r} ends before it starts")
    return Interval(start, end)


def _instant(text: str) -> tuple[datetime, datetime]:
    """The first and last moment of an RFC 3339 timestamp or a partial date."""
    text = text.strip()
    partial = _PARTIAL_DATE.match(text)
    try:
        if partial:
            year, month, day = (int(g) if g else None for g in partial.groups())
            assert year is not None
            first = datetime(year, month or 1, day or 1, tzinfo=UTC)
            if day is not None:
                after = first + timedelta(days=1)
            elif month is not None:
                after = first + timedelta(days=calendar.monthrange(year, month)[1])
            else:
                after = first.replace(year=year + 1)
            return first, after - timedelta(microseconds=1)
        moment = parse_timestamp(text)
    except ValueError:
        raise StacforgeError(f"datetime {text!r} is not RFC 3339 (or a partial date)") from None
    return moment, moment


def parse_filter(value: Mapping[str, Any] | str) -> dict[str, Any]:
    """CQL2 JSON from CQL2 text or JSON (validated by the ``cql2`` package)."""
    import cql2

    try:
        if isinstance(value, str):
            text = value.strip()
            expr = cql2.parse_json(text) if text.startswith("{") else cql2.parse_text(text)
        else:
            expr = cql2.Expr(dict(value))
        expr.validate()
    except (cql2.ParseError, cql2.ValidationError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise StacforgeError(f"filter: invalid CQL2 ({first_line})") from None
    json = expr.to_json()
    if not isinstance(json, dict):
        raise StacforgeError("filter: a CQL2 expression must be a boolean operation")
    return json


def parse_sortby(value: Sequence[str | Mapping[str, str]] | str) -> tuple[SortKey, ...]:
    """``"-datetime,+id"``, ``["-datetime"]`` or ``[{"field": "id", "direction": "asc"}]``."""
    keys: list[SortKey] = []
    entries = value.split(",") if isinstance(value, str) else value
    if not entries:
        raise StacforgeError("sortby: no field given")
    for entry in entries:
        if isinstance(entry, Mapping):
            field = str(entry.get("field", ""))
            direction = str(entry.get("direction", "asc")).lower()
            if direction not in ("asc", "desc"):
                raise StacforgeError(f"sortby: direction must be asc or desc, not {direction!r}")
            descending = direction == "desc"
        else:
            text = entry.strip()
            descending = text.startswith("-")
            field = text.lstrip("+-").strip()
        field = field.removeprefix("properties.")
        if not field:
            raise StacforgeError(f"sortby: empty field name in {value!r}")
        keys.append(SortKey(field, descending))
    return tuple(keys)


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    "==": operator.eq,
    "=": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}
_LABEL = re.compile(
    r"^\s*(?P<names>[^<>=!]+?)\s*(?P<op>>=|<=|!=|==|=|>|<)"
    r"\s*(?P<value>[^\s%]+)\s*(?P<percent>%?)\s*$"
)


def parse_label(text: str, *, single: bool) -> LabelCondition:
    """``CLASS OP NUMBER`` (``single``) or ``CLASS,CLASS,... OP NUMBER`` (their sum); a
    ``NUMBER%`` compares shares (see :class:`LabelCondition`)."""
    match = _LABEL.match(text)
    if match is None:
        raise StacforgeError(
            f"label condition {text!r} is not CLASS<op>NUMBER or CLASS<op>PERCENT% "
            "(op: >= <= > < = !=)"
        )
    names = tuple(name.strip() for name in match["names"].split(",") if name.strip())
    if single and len(names) != 1:
        raise StacforgeError(f"label condition {text!r} names several classes: use label_any")
    try:
        threshold = float(match["value"])
    except ValueError:
        raise StacforgeError(f"label condition {text!r}: {match['value']!r} is no number") from None
    share = bool(match["percent"])
    return LabelCondition(names, match["op"], threshold / 100 if share else threshold, share)
