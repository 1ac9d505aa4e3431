"""The installed stacforge version, for manifests, user agents and ``--version``."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stacforge")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
