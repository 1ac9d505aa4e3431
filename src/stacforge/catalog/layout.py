"""Where objects live in a built catalog, and relative hrefs between them.

Every builder uses the same layout, so a mapper can link sibling items with a pure function:
``<collection>/<partition...>/collection.json`` for (sub-)collections and
``<collection>/<partition...>/<item_id>/<item_id>.json`` for items, all below ``catalog.json``.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from stacforge.errors import StacforgeError

CATALOG_FILE = "catalog.json"
COLLECTION_FILE = "collection.json"


def collection_path(collection: str, partition: tuple[str, ...] = ()) -> str:
    """Path of a (sub-)collection file relative to the catalog root."""
    return "/".join((collection, *partition, COLLECTION_FILE))


def item_path(collection: str, partition: tuple[str, ...], item_id: str) -> str:
    """Path of an item file relative to the catalog root."""
    return "/".join((collection, *partition, item_id, f"{item_id}.json"))


def relative_href(source: str, target: str) -> str:
    """The href that leads from the file at ``source`` to ``target`` (both root-relative)."""
    href = posixpath.relpath(target, posixpath.dirname(source) or ".")
    return href if href.startswith("../") else f"./{href}"


def root_document(path: str | os.PathLike[str]) -> Path:
    """The STAC file a command starts from: ``path`` itself, or the ``catalog.json`` (else
    ``collection.json``) in the folder ``path``.

    Raises:
        StacforgeError: There is no such file.
    """
    found = Path(os.path.normpath(path))  # spelled as walks spell linked files
    if found.is_dir():
        candidates = [found / n for n in (CATALOG_FILE, COLLECTION_FILE) if (found / n).is_file()]
        if not candidates:
            raise StacforgeError(f"{found}: no {CATALOG_FILE} or {COLLECTION_FILE} in this folder")
        found = candidates[0]
    if not found.is_file():
        raise StacforgeError(f"{found}: no such file")
    return found
