"""The sidecar index: stac-geoparquet plus search tables, written in one pass, searched fast."""

from stacforge.index.query import SearchParams
from stacforge.index.reader import read_items
from stacforge.index.search import Index, open_index
from stacforge.index.writer import IndexWriter

__all__ = ["Index", "IndexWriter", "SearchParams", "open_index", "read_items"]
