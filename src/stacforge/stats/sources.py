"""Where the indexes of a catalog are: the folders its collections advertise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from stacforge.errors import InputError

MIRROR_ROLE = "collection-mirror"


def find_indexes(path: str | Path) -> list[Path]:
    """The index folders of ``path``: an index folder itself (it holds ``manifest.json`` and
    ``items.parquet``), or a catalog or collection on disk (its JSON file or the folder holding
    it) whose collections advertise their index with a ``collection-mirror`` asset.

    Raises:
        InputError: ``path`` is neither, or a catalog without any index.
    """
    path = Path(path)
    if path.is_file() and path.name == "items.parquet":
        path = path.parent
    if (path / "items.parquet").is_file():
        return [path]
    root = path
    if path.is_dir():
        root = next(
            (
                path / name
                for name in ("catalog.json", "collection.json")
                if (path / name).is_file()
            ),
            path / "catalog.json",
        )
    if not root.is_file():
        raise InputError(path, "neither an index (items.parquet) nor a catalog or collection")
    found = sorted(set(_mirrors(root, set())))
    if not found:
        raise InputError(root, "no collection advertises an index (a collection-mirror asset)")
    return found


def _mirrors(document: Path, seen: set[Path]) -> Iterator[Path]:
    """The index folders advertised below ``document``; a collection with one is not walked."""
    document = document.resolve()
    if document in seen:
        return
    seen.add(document)
    try:
        stac = orjson.loads(document.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise InputError(document, f"cannot read STAC JSON: {error}") from error
    mirrors = [
        asset["href"]
        for asset in (stac.get("assets") or {}).values()
        if MIRROR_ROLE in (asset.get("roles") or []) and "://" not in asset.get("href", "")
    ]
    if mirrors:
        yield from ((document.parent / href).resolve().parent for href in mirrors)
        return
    for link in stac.get("links") or []:
        href = link.get("href", "")
        if link.get("rel") == "child" and "://" not in href:
            yield from _mirrors(document.parent / href, seen)
