"""Evaluates CQL2 (JSON) filters over rows of a stac-geoparquet table, vectorised.

Supported operators: ``and``, ``or``, ``not``; ``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``;
``like``, ``between``, ``in``, ``isNull``; ``casei``, ``accenti``; ``+``, ``-``, ``*``, ``/``,
``^``; the spatial ``s_intersects``, ``s_equals``, ``s_disjoint``, ``s_touches``, ``s_within``,
``s_overlaps``, ``s_crosses``, ``s_contains``; the temporal ``t_after``, ``t_before``,
``t_contains``, ``t_disjoint``, ``t_during``, ``t_equals``, ``t_finishedBy``, ``t_finishes``,
``t_intersects``, ``t_meets``, ``t_metBy``, ``t_overlappedBy``, ``t_overlaps``,
``t_startedBy``, ``t_starts``. Not supported: array operators (``a_*``), ``%``, ``div`` and
functions. Properties are item properties (``properties.`` prefixes are optional) and ``id``,
``collection``, ``geometry``.

The answers are those of cql2-rs's own evaluator on the item JSON: a property an item lacks is
null; a comparison with null, and a comparison of values of different types (``id > 5`` on a
text ``id``, ``gsd = 'ten'`` on a number), is unknown rather than an error; ``and``/``or``/
``not`` follow three-valued (Kleene) logic; a filter whose answer is unknown is not met. A
spatial condition on an item without geometry is unknown too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
import shapely.geometry
from numpy.typing import NDArray

from stacforge.errors import StacforgeError
from stacforge.index.layout import TIMESTAMP
from stacforge.time import parse_timestamp

Value: TypeAlias = "pa.Array | pa.ChunkedArray | pa.Scalar"
Interval: TypeAlias = tuple[Value, Value]

_FIRST = pa.scalar(datetime(1, 1, 1, tzinfo=UTC), TIMESTAMP)
_LAST = pa.scalar(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), TIMESTAMP)

_COMPARE: dict[str, Callable[[Value, Value], Value]] = {
    "=": pc.equal,
    "<>": pc.not_equal,
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
}
_ARITHMETIC: dict[str, Callable[[Value, Value], Value]] = {
    "+": pc.add,
    "-": pc.subtract,
    "*": pc.multiply,
    "/": lambda a, b: pc.divide(pc.cast(a, pa.float64()), pc.cast(b, pa.float64())),
    "^": pc.power,
}
_SPATIAL: dict[str, Callable[[Any, Any], Any]] = {
    "s_intersects": shapely.intersects,
    "s_equals": shapely.equals,
    "s_disjoint": shapely.disjoint,
    "s_touches": shapely.touches,
    "s_within": shapely.within,
    "s_overlaps": shapely.overlaps,
    "s_crosses": shapely.crosses,
    "s_contains": shapely.contains,
}


def _and(*parts: Value) -> Value:
    result = parts[0]
    for part in parts[1:]:
        result = pc.and_kleene(result, part)
    return result


# Allen's interval relations, each over (start, end) of the two operands.
_TEMPORAL: dict[str, Callable[[Interval, Interval], Value]] = {
    "t_after": lambda a, b: pc.greater(a[0], b[1]),
    "t_before": lambda a, b: pc.less(a[1], b[0]),
    "t_contains": lambda a, b: _and(pc.less(a[0], b[0]), pc.greater(a[1], b[1])),
    "t_disjoint": lambda a, b: pc.or_kleene(pc.less(a[1], b[0]), pc.greater(a[0], b[1])),
    "t_during": lambda a, b: _and(pc.greater(a[0], b[0]), pc.less(a[1], b[1])),
    "t_equals": lambda a, b: _and(pc.equal(a[0], b[0]), pc.equal(a[1], b[1])),
    "t_finishedby": lambda a, b: _and(pc.less(a[0], b[0]), pc.equal(a[1], b[1])),
    "t_finishes": lambda a, b: _and(pc.greater(a[0], b[0]), pc.equal(a[1], b[1])),
    "t_intersects": lambda a, b: _and(pc.less_equal(a[0], b[1]), pc.greater_equal(a[1], b[0])),
    "t_meets": lambda a, b: pc.equal(a[1], b[0]),
    "t_metby": lambda a, b: pc.equal(a[0], b[1]),
    "t_overlappedby": lambda a, b: _and(
        pc.greater(a[0], b[0]), pc.less(a[0], b[1]), pc.greater(a[1], b[1])
    ),
    "t_overlaps": lambda a, b: _and(
        pc.less(a[0], b[0]), pc.greater(a[1], b[0]), pc.less(a[1], b[1])
    ),
    "t_startedby": lambda a, b: _and(pc.equal(a[0], b[0]), pc.greater(a[1], b[1])),
    "t_starts": lambda a, b: _and(pc.equal(a[0], b[0]), pc.less(a[1], b[1])),
}


def property_name(name: str) -> str:
    """The column of a CQL2 property (``properties.`` prefixes are optional)."""
    return name.removeprefix("properties.")


def referenced_properties(expr: Any) -> set[str]:
    """The columns a CQL2 JSON expression reads."""
    if isinstance(expr, Mapping):
        if "property" in expr:
            return {property_name(str(expr["property"]))}
        return set().union(*(referenced_properties(v) for v in expr.values()))
    if isinstance(expr, list):
        return set().union(*(referenced_properties(v) for v in expr))
    return set()


def evaluate(expr: Mapping[str, Any], table: pa.Table) -> NDArray[np.bool_]:
    """Which rows of ``table`` meet the CQL2 JSON expression ``expr`` (null counts as not).

    ``table`` holds the columns :func:`referenced_properties` names (those that exist),
    ``geometry`` as WKB.

    Raises:
        StacforgeError: An unsupported operator, or operands of incompatible types.
    """
    try:
        result = _Evaluator(table).value(expr)
        if isinstance(result, pa.Scalar):
            result = pa.array([result.as_py()] * table.num_rows, pa.bool_())
        met: NDArray[np.bool_] = (
            pc.fill_null(result, False).to_numpy(zero_copy_only=False).astype(bool)
        )
        return met
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError, pa.ArrowInvalid) as error:
        raise StacforgeError(f"filter: cannot evaluate ({error})") from None


class _Evaluator:
    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self._geometries: dict[str, np.ndarray] = {}

    def value(self, node: Any) -> Value:
        if isinstance(node, Mapping):
            if "op" in node:
                return self._operation(str(node["op"]), list(node.get("args", [])))
            if "property" in node:
                return self._column(property_name(str(node["property"])))
            if "timestamp" in node:
                return pa.scalar(parse_timestamp(str(node["timestamp"])), TIMESTAMP)
            if "date" in node:
                return pa.scalar(parse_timestamp(str(node["date"])), TIMESTAMP)
        if isinstance(node, bool | int | float | str) or node is None:
            return pa.scalar(node)
        raise StacforgeError(f"filter: unsupported operand {node!r}")

    def _column(self, name: str) -> Value:
        if name in self._table.column_names:
            return self._table[name]
        return pa.nulls(self._table.num_rows)

    def _operation(self, op: str, args: list[Any]) -> Value:
        key = op.lower()
        if key == "and":
            return _and(*(self.value(a) for a in args))
        if key == "or":
            result = self.value(args[0])
            for arg in args[1:]:
                result = pc.or_kleene(result, self.value(arg))
            return result
        if key == "not":
            return pc.invert(self.value(args[0]))
        if key in _COMPARE:
            left, right = (self.value(a) for a in args)
            return self._compare(key, left, right)
        if key in _ARITHMETIC:
            left, right = (self._typed(self.value(a), pa.float64()) for a in args)
            if _kind(left.type) != "number" or _kind(right.type) != "number":
                return self._unknown()
            return _ARITHMETIC[key](left, right)
        if key == "like":
            subject, pattern = (self._typed(self.value(a), pa.string()) for a in args)
            if not isinstance(pattern, pa.Scalar) or _kind(subject.type) != "string":
                return self._unknown()
            if not pattern.is_valid:
                return self._unknown()
            return pc.match_like(subject, str(pattern.as_py()))
        if key == "between":
            subject, low, high = (self.value(a) for a in args)
            return _and(self._compare(">=", subject, low), self._compare("<=", subject, high))
        if key == "in":
            return self._in(self.value(args[0]), [self.value(a) for a in args[1]])
        if key == "isnull":
            return pc.is_null(self.value(args[0]))
        if key in ("casei", "accenti"):
            text = self._typed(self.value(args[0]), pa.string())
            if _kind(text.type) != "string":
                return self._unknown()
            return pc.utf8_lower(text) if key == "casei" else _without_accents(text)
        if key in _SPATIAL:
            left, right = (self._geometry(a) for a in args)
            met = np.asarray(_SPATIAL[key](left, right), dtype=bool)
            missing = shapely.is_missing(left) | shapely.is_missing(right)
            return pa.array(met, mask=np.broadcast_to(missing, met.shape))
        if key in _TEMPORAL:
            return _TEMPORAL[key](self._interval(args[0]), self._interval(args[1]))
        raise StacforgeError(f"filter: operator {op!r} is not supported")

    def _unknown(self) -> pa.Array:
        """Every row's answer unknown (null)."""
        return pa.nulls(self._table.num_rows, pa.bool_())

    def _typed(self, value: Value, type_: pa.DataType) -> Value:
        """A column no item has (null typed) as ``type_``; other values as they are."""
        if pa.types.is_null(value.type):
            if isinstance(value, pa.Scalar):
                return pa.scalar(None, type_)
            return pa.nulls(len(value), type_)
        return value

    def _compare(self, op: str, left: Value, right: Value) -> Value:
        """``left op right``; unknown (null) where either is null or their types differ."""
        pair = _comparable(left, right)
        if pair is None:
            return self._unknown()
        return _COMPARE[op](*pair)

    def _in(self, subject: Value, options: list[Value]) -> Value:
        """``subject IN (options)``: true if it equals one, else unknown if it is null or an
        option is of another type (as ``a = x OR a = y ...``), else false."""
        if pa.types.is_null(subject.type):
            return self._unknown()
        if isinstance(subject, pa.Scalar):
            subject = pa.repeat(subject, self._table.num_rows)
        values = []
        mismatched = False
        for option in options:
            pair = _comparable(subject, option)
            if pair is None or not isinstance(pair[1], pa.Scalar) or not pair[1].is_valid:
                mismatched = True
            else:
                values.append(pair[1].as_py())
        value_type = subject.type
        if pa.types.is_dictionary(value_type):
            value_type = value_type.value_type
        if pa.types.is_integer(value_type) and any(isinstance(v, float) for v in values):
            subject, value_type = pc.cast(subject, pa.float64()), pa.float64()  # 3 IN (3.5)
        value_set = pa.array(values, value_type)
        hit = pc.is_in(subject, value_set=value_set)
        miss = pa.scalar(None if mismatched else False, pa.bool_())
        met = pc.if_else(hit, pa.scalar(True), miss)
        return pc.if_else(pc.is_null(subject), pa.scalar(None, pa.bool_()), met)

    def _geometry(self, node: Any) -> Any:
        if isinstance(node, Mapping) and "property" in node:
            name = property_name(str(node["property"]))
            if name not in self._geometries:
                wkb = self._column(name)
                if not pa.types.is_binary(wkb.type):
                    wkb = pa.nulls(len(wkb), pa.binary())
                geometries = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
                # An empty geometry stands for none (see geoparquet.readable_geometries).
                geometries[shapely.is_empty(geometries)] = None
                self._geometries[name] = geometries
            return self._geometries[name]
        if isinstance(node, Mapping) and "bbox" in node:
            box = node["bbox"]
            return shapely.box(box[0], box[1], box[-2], box[-1])
        return shapely.geometry.shape(node)

    def _interval(self, node: Any) -> Interval:
        if isinstance(node, Mapping) and "interval" in node:
            first, last = node["interval"]
            return self._bound(first, _FIRST), self._bound(last, _LAST)
        moment = self._typed(self.value(node), TIMESTAMP)
        if _kind(moment.type) == "string":
            moment = _timestamps(moment)
        if _kind(moment.type) != "timestamp":
            moment = pa.nulls(self._table.num_rows, TIMESTAMP)
        return moment, moment

    def _bound(self, node: Any, open_end: pa.Scalar) -> Value:
        if node == "..":
            return open_end
        if isinstance(node, str):
            return pa.scalar(parse_timestamp(str(node)), TIMESTAMP)
        return self.value(node)


def _kind(type_: pa.DataType) -> str:
    """What CQL2 compares: numbers, strings, timestamps, booleans (or null, or other)."""
    if pa.types.is_integer(type_) or pa.types.is_floating(type_):
        return "number"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "string"
    if pa.types.is_dictionary(type_):
        return _kind(type_.value_type)
    if pa.types.is_timestamp(type_) or pa.types.is_date(type_):
        return "timestamp"
    if pa.types.is_boolean(type_):
        return "boolean"
    if pa.types.is_null(type_):
        return "null"
    return str(type_)


def _comparable(left: Value, right: Value) -> tuple[Value, Value] | None:
    """The two sides made comparable (a literal cast to its column's type), or None when
    their types differ (the comparison is then unknown).

    A column no item has (null typed) is compared as nulls; a text literal compared with
    a timestamp column is read as a timestamp.
    """
    kinds = _kind(left.type), _kind(right.type)
    if "null" in kinds:
        return None
    if kinds == ("timestamp", "string") and isinstance(right, pa.Scalar):
        right = _timestamp(right)
    elif kinds == ("string", "timestamp") and isinstance(left, pa.Scalar):
        left = _timestamp(left)
    elif kinds[0] != kinds[1]:
        return None
    if right is None or left is None:
        return None
    if isinstance(right, pa.Scalar) and not isinstance(left, pa.Scalar):
        return left, _cast_scalar(right, left.type)
    if isinstance(left, pa.Scalar) and not isinstance(right, pa.Scalar):
        return _cast_scalar(left, right.type), right
    return left, right


def _timestamps(value: Value) -> Value:
    """Text as timestamps (null where it is none)."""
    if isinstance(value, pa.Scalar):
        moment = _timestamp(value)
        return pa.scalar(None, TIMESTAMP) if moment is None else moment
    moments = [_timestamp(pa.scalar(text)) if text else None for text in value.to_pylist()]
    return pa.array([None if m is None else m.as_py() for m in moments], TIMESTAMP)


def _timestamp(scalar: pa.Scalar) -> pa.Scalar | None:
    try:
        return pa.scalar(parse_timestamp(str(scalar.as_py())), TIMESTAMP)
    except ValueError:
        return None


def _cast_scalar(scalar: pa.Scalar, type_: pa.DataType) -> pa.Scalar:
    if scalar.type == type_ or pa.types.is_dictionary(type_):
        return scalar
    if pa.types.is_integer(type_) and pa.types.is_floating(scalar.type):
        return scalar  # 3 < 3.5 must not become 3 < 3
    try:
        return scalar.cast(type_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return scalar


def _without_accents(value: Value) -> Value:
    if isinstance(value, pa.Scalar):
        return pa.scalar(_strip(value.as_py()), pa.string())
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    encoded = pc.dictionary_encode(value)
    dictionary = pa.array([_strip(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return dictionary.take(encoded.indices)


def _strip(text: str | None) -> str | None:
    if text is None:
        return None
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
