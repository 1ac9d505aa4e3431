"""Evaluates CQL2 (JSON) filters over rows of a stac-geoparquet table, vectorised.

Supported operators: ``and``, ``or``, ``not``; ``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``;
``like``, ``between``, ``in``, ``isNull``; ``casei``, ``accenti``; ``+``, ``-``, ``*``, ``/``,
``^``; the spatial ``s_intersects``, ``s_equals``, ``s_disjoint``, ``s_touches``, ``s_within``,
``s_overlaps``, ``s_crosses``, ``s_contains``; the temporal ``t_after``, ``t_before``,
``t_contains``, ``t_disjoint``, ``t_during``, ``t_equals``, ``t_finishedBy``, ``t_finishes``,
``t_intersects``, ``t_meets``, ``t_metBy``, ``t_overlappedBy``, ``t_overlaps``,
``t_startedBy``, ``t_starts``. Not supported: array operators (``a_*``), ``%``, ``div`` and
functions. Properties are item properties (``properties.`` prefixes are optional) and ``id``,
``collection``, ``geometry``; a property an item lacks is null, and a condition on null is
not met (CQL2's three-valued logic).
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
            return _COMPARE[key](*_comparable(left, right))
        if key in _ARITHMETIC:
            return _ARITHMETIC[key](self.value(args[0]), self.value(args[1]))
        if key == "like":
            return pc.match_like(self.value(args[0]), str(args[1]))
        if key == "between":
            subject, low, high = (self.value(a) for a in args)
            return _and(
                pc.greater_equal(*_comparable(subject, low)),
                pc.less_equal(*_comparable(subject, high)),
            )
        if key == "in":
            subject = self.value(args[0])
            options = pa.array([self.value(a).as_py() for a in args[1]])
            found = pc.is_in(subject, value_set=options.cast(subject.type))
            return pc.if_else(pc.is_null(subject), pa.scalar(None, pa.bool_()), found)
        if key == "isnull":
            return pc.is_null(self.value(args[0]))
        if key == "casei":
            return pc.utf8_lower(self.value(args[0]))
        if key == "accenti":
            return _without_accents(self.value(args[0]))
        if key in _SPATIAL:
            left, right = (self._geometry(a) for a in args)
            return pa.array(np.asarray(_SPATIAL[key](left, right), dtype=bool))
        if key in _TEMPORAL:
            return _TEMPORAL[key](self._interval(args[0]), self._interval(args[1]))
        raise StacforgeError(f"filter: operator {op!r} is not supported")

    def _geometry(self, node: Any) -> Any:
        if isinstance(node, Mapping) and "property" in node:
            name = property_name(str(node["property"]))
            if name not in self._geometries:
                wkb = self._column(name)
                self._geometries[name] = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
            return self._geometries[name]
        if isinstance(node, Mapping) and "bbox" in node:
            box = node["bbox"]
            return shapely.box(box[0], box[1], box[-2], box[-1])
        return shapely.geometry.shape(node)

    def _interval(self, node: Any) -> Interval:
        if isinstance(node, Mapping) and "interval" in node:
            first, last = node["interval"]
            return self._bound(first, _FIRST), self._bound(last, _LAST)
        moment = self.value(node)
        return moment, moment

    def _bound(self, node: Any, open_end: pa.Scalar) -> Value:
        if node == "..":
            return open_end
        if isinstance(node, str):
            return pa.scalar(parse_timestamp(str(node)), TIMESTAMP)
        return self.value(node)


def _comparable(left: Value, right: Value) -> tuple[Value, Value]:
    """Casts a literal to the type of the column it is compared with.

    A column no item has (all null) takes the type of the other side.
    """
    if not isinstance(left, pa.Scalar) and pa.types.is_null(left.type):
        left = pa.nulls(len(left), right.type)
    if not isinstance(right, pa.Scalar) and pa.types.is_null(right.type):
        right = pa.nulls(len(right), left.type)
    if isinstance(right, pa.Scalar) and not isinstance(left, pa.Scalar):
        return left, _cast_scalar(right, left.type)
    if isinstance(left, pa.Scalar) and not isinstance(right, pa.Scalar):
        return _cast_scalar(left, right.type), right
    return left, right


def _cast_scalar(scalar: pa.Scalar, type_: pa.DataType) -> pa.Scalar:
    if pa.types.is_timestamp(type_) and pa.types.is_string(scalar.type):
        return pa.scalar(parse_timestamp(str(scalar.as_py())), TIMESTAMP)
    if pa.types.is_null(type_) or scalar.type == type_:
        return scalar
    if pa.types.is_integer(type_) and pa.types.is_floating(scalar.type):
        return scalar  # 3 < 3.5 must not become 3 < 3
    try:
        return scalar.cast(type_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return scalar


def _without_accents(value: Value) -> Value:
    if isinstance(value, pa.Scalar):
        return pa.scalar(_strip(value.as_py()))
    encoded = pc.dictionary_encode(value).combine_chunks()
    dictionary = pa.array([_strip(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return dictionary.take(encoded.indices)


def _strip(text: str | None) -> str | None:
    if text is None:
        return None
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
