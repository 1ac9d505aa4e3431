"""Documents the crawler reads: parsing, telling STAC object types apart, read errors."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from stacforge.errors import StacforgeError
from stacforge.hrefs import redact

StacType = Literal["Catalog", "Collection", "Feature"]


class FetchError(StacforgeError):
    """A document that could not be read (after any retries).

    Attributes:
        href: Where it was read from, with credentials redacted.
        reason: Why it failed, in a few words.
    """

    def __init__(self, href: str, reason: str):
        self.href = redact(href)
        self.reason = reason
        super().__init__(f"{self.href}: {reason}")


@dataclass(frozen=True)
class Document:
    """A parsed JSON document and the href its relative links resolve against.

    Attributes:
        href: Where the document was read from: the final URL after redirects, or an absolute
            local path.
        data: The parsed JSON object.
    """

    href: str
    data: dict[str, Any]


def parse_json(body: bytes) -> dict[str, Any]:
    """Parses a document body that must be a JSON object.

    Raises:
        ValueError: The body is not valid JSON (e.g. truncated), or not an object.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"invalid JSON ({error})") from error
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return data


async def read_local(path: str, max_bytes: int) -> Document:
    """Reads and parses a local JSON file in a worker thread.

    Raises:
        FetchError: The file cannot be read, is larger than ``max_bytes``, or is not a JSON
            object.
    """
    try:
        body = await asyncio.to_thread(_read_at_most, Path(path), max_bytes)
    except OSError as error:
        raise FetchError(path, error.strerror or str(error)) from error
    if body is None:
        raise FetchError(path, f"file exceeds the {max_bytes} byte size limit")
    try:
        return Document(path, parse_json(body))
    except ValueError as error:
        raise FetchError(path, str(error)) from error


def _read_at_most(path: Path, max_bytes: int) -> bytes | None:
    with path.open("rb") as f:
        body = f.read(max_bytes + 1)
    return body if len(body) <= max_bytes else None


_STAC_TYPES: tuple[StacType, ...] = ("Catalog", "Collection", "Feature")


def stac_type(data: dict[str, Any]) -> StacType | None:
    """What kind of STAC object ``data`` is, or None if it is none of them.

    Catalogs and collections older than STAC 1.0 have no ``type``: a collection is told by its
    ``extent``, a catalog by having ``id`` and ``links``.
    """
    declared = data.get("type")
    for known in _STAC_TYPES:
        if declared == known:
            return known
    if declared is None and "id" in data and "links" in data:
        return "Collection" if "extent" in data else "Catalog"
    return None
