"""stacforge: static STAC catalogs for EO ML datasets, and fast queries over big static catalogs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stacforge")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__"]
