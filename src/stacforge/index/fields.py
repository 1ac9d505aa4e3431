"""The STAC API fields extension: which fields of each item a search returns.

``include`` keeps only the named fields (dotted paths such as ``properties.gsd``); ``exclude``
drops fields; a field both included and excluded is included, as is one included inside an
excluded object. Without ``include``, every field is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from stacforge.catalog.model import Item
from stacforge.errors import StacforgeError

FieldsLike: TypeAlias = "Mapping[str, Sequence[str]] | Sequence[str] | str"


@dataclass(frozen=True)
class Fields:
    """Dotted paths to include (None: every field) and to exclude."""

    include: tuple[str, ...] | None
    exclude: tuple[str, ...]

    def as_dict(self) -> dict[str, list[str]]:
        """The extension's ``{"include": [...], "exclude": [...]}``."""
        return {"include": list(self.include or ()), "exclude": list(self.exclude)}

    def apply(self, item: Item) -> Item:
        """The item with only the fields asked for."""
        if self.include is not None:
            kept: dict[str, Any] = {}
            for path in self.include:
                _copy(item, kept, path.split("."))
            item = kept
        for path in self.exclude:
            # A field both included and excluded (or included more specifically) stays.
            if not any(_within(i, path) for i in self.include or ()):
                _drop(item, path.split("."))
        return item


def parse_fields(value: FieldsLike) -> Fields:
    """``"id,-properties.gsd"``, ``["+id", "-assets"]`` or ``{"include": [...], "exclude":
    [...]}`` (pystac-client's forms).

    Raises:
        StacforgeError: Another form.
    """
    if isinstance(value, Mapping):
        include = value.get("include")
        return Fields(
            None if not include else tuple(str(p) for p in include),
            tuple(str(p) for p in value.get("exclude") or ()),
        )
    if isinstance(value, str):
        entries = value.split(",")
    elif isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        entries = list(value)
    else:
        raise StacforgeError("fields must be a str, a list of str, or a dict of include/exclude")
    include = [e.strip().removeprefix("+") for e in entries if not e.strip().startswith("-")]
    exclude = [e.strip()[1:] for e in entries if e.strip().startswith("-")]
    return Fields(tuple(p for p in include if p) or None, tuple(p for p in exclude if p))


def _within(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or lies inside it."""
    return path == prefix or path.startswith(prefix + ".")


def _copy(source: Mapping[str, Any], target: dict[str, Any], parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if head not in source:
        return
    if not rest:
        target[head] = source[head]
    elif isinstance(source[head], Mapping):
        child = target.setdefault(head, {})
        if isinstance(child, dict):
            _copy(source[head], child, rest)


def _drop(item: dict[str, Any], parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        item.pop(head, None)
    elif isinstance(item.get(head), dict):
        _drop(item[head], rest)
