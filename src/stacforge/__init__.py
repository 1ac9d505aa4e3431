"""stacforge: static STAC catalogs for EO ML datasets, and fast queries over big static catalogs.

The verbs a Python user reaches for, each imported on first use (the libraries behind them
would slow every command's start-up; so would the package metadata behind ``__version__``):

- :func:`build`: a dataset's native files to a static STAC catalog with its indexes;
- :func:`validate`: a catalog on disk against its core and extension schemas, offline;
- :func:`crawl`: any static catalog (local or over HTTP) through a cache, into an index;
- :func:`open_index`: an index (or a built catalog) to search, with pystac results.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stacforge._version import __version__
    from stacforge.builder import build
    from stacforge.catalog.validate import validate
    from stacforge.crawl import crawl
    from stacforge.index.search import open_index

__all__ = ["__version__", "build", "crawl", "open_index", "validate"]

_HOMES = {
    "__version__": "stacforge._version",
    "build": "stacforge.builder",
    "crawl": "stacforge.crawl",
    "open_index": "stacforge.index.search",
    "validate": "stacforge.catalog.validate",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'stacforge' has no attribute {name!r}")
