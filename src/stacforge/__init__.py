"""stacforge: static STAC catalogs for EO ML datasets, and fast queries over big static catalogs."""

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stacforge.index.search import open_index

try:
    __version__ = version("stacforge")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__", "open_index"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the search stack (pyarrow, shapely, pystac) would slow every
    # command's start-up.
    if name == "open_index":
        from stacforge.index.search import open_index

        return open_index
    raise AttributeError(f"module 'stacforge' has no attribute {name!r}")
