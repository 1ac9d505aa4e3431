"""Finding indexes: an index directory, or those a catalog advertises (``collection-mirror``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from stacforge import hrefs
from stacforge.catalog.layout import root_document
from stacforge.errors import InputError, StacforgeError
from stacforge.index import layout


def index_directories(path: Path) -> list[Path]:
    """The index directories at ``path``: itself, or those a catalog advertises.

    A catalog or collection's own ``collection-mirror`` assets count, else those of its direct
    children (a built catalog's top-level collections).
    """
    if (path / layout.MANIFEST_FILE).is_file():
        return [path]
    if path.name == layout.ITEMS_FILE and (path.parent / layout.MANIFEST_FILE).is_file():
        return [path.parent]
    document = _stac_document(path)
    if document is None:
        raise InputError(path, "not a stacforge index, catalog or collection")
    found = _advertised(document)
    if not found:
        for link in document[1].get("links", []):
            if link.get("rel") == "child" and not hrefs.is_url(str(link.get("href", ""))):
                child = _stac_document(document[0].parent / link["href"])
                if child is not None:
                    found.extend(_advertised(child))
    if not found:
        raise InputError(
            path,
            "no index advertised here as a collection-mirror asset "
            "(write one with `stacforge index`)",
        )
    return found


def _stac_document(path: Path) -> tuple[Path, dict[str, Any]] | None:
    """The STAC object at ``path`` (a JSON file, or a folder's catalog or collection), if
    ``path`` leads to one."""
    try:
        path = root_document(path)
    except StacforgeError:
        return None
    if path.suffix != ".json":
        return None
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise InputError(path, f"unreadable JSON ({error})") from None
    return (path, document) if isinstance(document, dict) else None


def _advertised(document: tuple[Path, dict[str, Any]]) -> list[Path]:
    """The index directory a catalog or collection advertises (its ``collection-mirror``
    asset), if any."""
    path, body = document
    href = layout.mirror_href(body)
    if href is None:
        return []
    if hrefs.is_url(href):
        raise InputError(path, f"index {href} is remote: crawl it or download it first")
    target = (path.parent / href).resolve()
    return [target.parent if target.suffix == ".parquet" else target]
