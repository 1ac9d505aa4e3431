"""The sidecar index: stac-geoparquet plus search tables, written in one pass, searched fast."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stacforge.index.query import SearchParams
    from stacforge.index.reader import read_items
    from stacforge.index.search import Index, open_index
    from stacforge.index.writer import IndexWriter

__all__ = ["Index", "IndexWriter", "SearchParams", "open_index", "read_items"]

_HOMES = {
    "Index": "stacforge.index.search",
    "open_index": "stacforge.index.search",
    "IndexWriter": "stacforge.index.writer",
    "SearchParams": "stacforge.index.query",
    "read_items": "stacforge.index.reader",
}


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `stacforge.index.layout` (which the crawler and catalog
    # writer import) does not pull in the whole read/write/search stack.
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'stacforge.index' has no attribute {name!r}")
