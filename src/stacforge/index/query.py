"""Search parameters: STAC API item-search semantics plus label and asset filters, validated.

:class:`SearchParams` is what callers pass (the STAC API names and value forms, as pystac-client
takes them); :class:`Query` is the same, parsed and checked, as the search engine uses it.
"""

from __future__ import annotations

import calendar
import fnmatch
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

import cql2
import orjson
import shapely
import shapely.geometry

from stacforge.errors import StacforgeError
from stacforge.time import parse_timestamp


class SearchParams(TypedDict, total=False):
    """Keyword arguments of a search; all optional, all combined with AND.

    Attributes:
        bbox: ``[west, south, east, north]`` (or 6 numbers with heights, which are ignored),
            as a sequence or a comma-separated string; ``west > east`` crosses the antimeridian.
        intersects: A GeoJSON geometry (dict, JSON text, or a path to a GeoJSON file; a Feature
            or FeatureCollection stands for the union of its geometries), or a shapely geometry.
        datetime: An RFC 3339 instant or an interval ``start/end`` with ``..`` (or nothing) for
            an open end; partial dates (``2018``, ``2018-05``, ``2018-05-03``) span their period.
        ids: Item ids.
        collections: Collection ids, matched against each item's ``collection`` field.
        filter: A CQL2 expression, as text or as CQL2 JSON.
        sortby: Fields to sort by, ``"-datetime,+id"`` or ``[{"field": ..., "direction": ...}]``.
        max_items: Return at most this many items (default: every match).
        limit: The same as ``max_items`` (a static index has no pages).
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
    intersects: Mapping[str, Any] | str | shapely.Geometry
    datetime: str
    ids: Sequence[str] | str
    collections: Sequence[str] | str
    filter: Mapping[str, Any] | str
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
    labels: tuple[LabelCondition, ...] = ()
    asset_roles: frozenset[str] | None = None
    asset_keys: re.Pattern[str] | None = None
    asset_datetime: Interval | None = None

    @property
    def filters_assets(self) -> bool:
        """Whether the query keeps only some of each item's assets."""
        return any(f is not None for f in (self.asset_roles, self.asset_keys, self.asset_datetime))

    @property
    def spatial(self) -> shapely.Geometry | None:
        """The search area (the ``bbox`` as a polygon, or ``intersects``)."""
        if self.bbox is not None:
            return bbox_geometry(self.bbox)
        return self.intersects

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
        limits = [int(given[name]) for name in ("max_items", "limit") if name in given]
        if any(n < 0 for n in limits):
            raise StacforgeError("max_items/limit must not be negative")
        return cls(
            bbox=parse_bbox(given["bbox"]) if "bbox" in given else None,
            intersects=parse_geometry(given["intersects"]) if "intersects" in given else None,
            datetime=parse_interval(given["datetime"]) if "datetime" in given else None,
            ids=frozenset(_strings(given["ids"])) if "ids" in given else None,
            collections=frozenset(_strings(given["collections"]))
            if "collections" in given
            else None,
            filter=parse_filter(given["filter"]) if "filter" in given else None,
            sortby=parse_sortby(given["sortby"]) if "sortby" in given else (),
            max_items=min(limits) if limits else None,
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


def _strings(value: Sequence[str] | str) -> list[str]:
    """A list of strings from a sequence or a comma-separated string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(v) for v in value]


def _each(value: Sequence[str] | str) -> list[str]:
    """Conditions: one string is one condition (its commas list classes)."""
    return [value] if isinstance(value, str) else list(value)


def parse_bbox(value: Sequence[float] | str) -> tuple[float, float, float, float]:
    """``[west, south, east, north]`` from 4 or 6 numbers (heights are dropped)."""
    try:
        numbers = [float(v) for v in (value.split(",") if isinstance(value, str) else value)]
    except (TypeError, ValueError):
        raise StacforgeError(f"bbox must be 4 or 6 numbers, not {value!r}") from None
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4:
        raise StacforgeError(f"bbox must be 4 or 6 numbers, not {len(numbers)}")
    west, south, east, north = numbers
    if south > north:
        raise StacforgeError(f"bbox south ({south}) is north of its north ({north})")
    return west, south, east, north


def bbox_geometry(bbox: tuple[float, float, float, float]) -> shapely.Geometry:
    """The box as a polygon; two boxes where it crosses the antimeridian (``west > east``)."""
    west, south, east, north = bbox
    if west <= east:
        return shapely.box(west, south, east, north)
    return shapely.MultiPolygon(
        [shapely.box(west, south, 180.0, north), shapely.box(-180.0, south, east, north)]
    )


def parse_geometry(value: Mapping[str, Any] | str | shapely.Geometry) -> shapely.Geometry:
    """A shapely geometry from GeoJSON (dict, text or file path) or a shapely geometry."""
    if isinstance(value, shapely.Geometry):
        return value
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
    for entry in _strings(value) if isinstance(value, str) else value:
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
            raise StacforgeError("sortby: empty field name")
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
