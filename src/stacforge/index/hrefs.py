"""Joining hrefs that may be URLs, absolute paths, or paths relative to the index directory."""

from __future__ import annotations

import posixpath
from urllib.parse import urljoin, urlsplit


def is_url(href: str) -> bool:
    """Whether ``href`` has a URL scheme (a one-letter "scheme" is a Windows drive)."""
    return len(urlsplit(href).scheme) > 1


def is_absolute(href: str) -> bool:
    """Whether ``href`` is a URL or an absolute path."""
    return is_url(href) or href.startswith("/")


def join(base: str, href: str) -> str:
    """Resolves ``href`` against the document at ``base``, as a browser would.

    Unlike :func:`urllib.parse.urljoin`, a relative ``base`` gives a relative result
    (``join("../a/b.json", "../c.json") == "../c.json"``), so hrefs stored relative to an index
    directory stay relative and the directory can move with its catalog.
    """
    if is_absolute(href):
        return href
    if is_url(base):
        return urljoin(base, href)
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), href))


def directory_base(location: str) -> str:
    """A base for :func:`join` that resolves hrefs relative to the directory ``location``."""
    return location if location.endswith("/") else f"{location}/"
