"""The STAC API query extension (``query={"eo:cloud_cover": {"lt": 10}}``) as CQL2 JSON.

pystac-client takes the extension's object, or a list of ``"name<op>value"`` strings (or JSON
texts) merged into one; stacforge evaluates it as the CQL2 filter it stands for, ANDed with
any ``filter``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

import orjson

from stacforge.errors import StacforgeError

QueryLike: TypeAlias = "Mapping[str, Mapping[str, Any]] | Sequence[str]"

_TEXT_OPERATORS: Final = (">=", "<=", "<>", "=", ">", "<")
"""The operators of ``name<op>value`` strings, longest first (``>=`` before ``>``)."""
_NAMES: Final = {">=": "gte", "<=": "lte", "<>": "neq", "=": "eq", ">": "gt", "<": "lt"}
_COMPARISONS: Final = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_LIKE: Final = {"startsWith": "{}%", "endsWith": "%{}", "contains": "%{}%"}


def query_object(value: QueryLike) -> dict[str, dict[str, Any]]:
    """The query extension object from an object or a list of strings (as pystac-client).

    Raises:
        StacforgeError: Neither an object nor a list of strings.
    """
    if isinstance(value, Mapping):
        return {str(name): dict(ops) for name, ops in value.items()}
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise StacforgeError("query: unsupported format, must be a dict or a list of strings")
    merged: dict[str, dict[str, Any]] = {}
    for entry in value:
        if not isinstance(entry, str):
            raise StacforgeError("query: unsupported format, must be a list of strings")
        for name, ops in _entry(entry).items():
            merged.setdefault(name, {}).update(ops)
    return merged


def _entry(text: str) -> dict[str, dict[str, Any]]:
    """One string of a query list: JSON, or ``name<op>value`` (a number where it reads as
    one)."""
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        for op in _TEXT_OPERATORS:
            name, sep, raw = text.partition(op)
            if sep and name.strip():
                return {name.strip(): {_NAMES[op]: _number(raw.strip())}}
        raise StacforgeError(f"query: {text!r} is neither JSON nor NAME<op>VALUE") from None
    if not isinstance(parsed, dict):
        raise StacforgeError(f"query: {text!r} is not a JSON object")
    return parsed


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def to_cql2(query: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """The CQL2 JSON ``and`` of every condition of a query extension object (None if
    empty).

    Raises:
        StacforgeError: An operator the extension does not define.
    """
    parts: list[dict[str, Any]] = []
    for name, ops in query.items():
        if not isinstance(ops, Mapping):
            raise StacforgeError(f"query: {name!r} must map operators to values")
        prop = {"property": name}
        for op, value in ops.items():
            if op in _COMPARISONS:
                parts.append({"op": _COMPARISONS[op], "args": [prop, value]})
            elif op in _LIKE:
                pattern = _LIKE[op].format(_escaped(str(value)))
                parts.append({"op": "like", "args": [prop, pattern]})
            elif op == "in" and isinstance(value, list):
                parts.append({"op": "in", "args": [prop, value]})
            else:
                raise StacforgeError(
                    f"query: unknown operator {op!r} for {name!r} (eq, neq, lt, lte, gt, gte, "
                    "startsWith, endsWith, contains, in)"
                )
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"op": "and", "args": parts}


def _escaped(text: str) -> str:
    """``text`` matched literally by LIKE."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
