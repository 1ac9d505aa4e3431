"""The index: stac-geoparquet plus search tables, written in one pass, searched fast.

An index directory (its files: :mod:`.layout`; its manifest: :mod:`.manifest`) is written by
:class:`IndexWriter` (:mod:`.writer`), which joins :mod:`.convert` (item dicts to Arrow, through
the stac-geoparquet adapter :mod:`.geoparquet`), :mod:`.runs` (external sort along the
:mod:`.hilbert` curve), :mod:`.tables` (derived search, asset and label tables) and
:mod:`.summary` (the manifest's statistics). It is searched through :func:`open_index` and
:class:`Index` (:mod:`.search`), whose ``search()`` gives pystac-client's :class:`ItemSearch`
(:mod:`.item_search`), which join :mod:`.query` (parameters, with the STAC API
:mod:`.query_extension` and :mod:`.fields`), :mod:`.discovery`
(finding indexes), :mod:`.directory` (an opened index), :mod:`.prune` (row groups and rows of
``search.parquet``), :mod:`.labels`, :mod:`.assets`, :mod:`.cql2_filter` and :mod:`.sort`,
with :mod:`.arrow_values` (Arrow values made and read without pyarrow's pandas conversions);
:func:`read_items` (:mod:`.reader`, :mod:`.rows`) turns rows back into item dicts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stacforge.index.item_search import ItemSearch
    from stacforge.index.manifest import Manifest
    from stacforge.index.query import SearchParams
    from stacforge.index.reader import read_items
    from stacforge.index.search import Index, open_index
    from stacforge.index.writer import IndexWriter

__all__ = [
    "Index",
    "IndexWriter",
    "ItemSearch",
    "Manifest",
    "SearchParams",
    "open_index",
    "read_items",
]

_HOMES = {
    "Index": "stacforge.index.search",
    "open_index": "stacforge.index.search",
    "IndexWriter": "stacforge.index.writer",
    "ItemSearch": "stacforge.index.item_search",
    "Manifest": "stacforge.index.manifest",
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
