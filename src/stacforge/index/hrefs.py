"""Joining hrefs that may be URLs, absolute paths, or paths relative to the index directory."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urljoin

ABSOLUTE = r"^(?:[A-Za-z][A-Za-z0-9+.-]+:|/)"
"""A URL scheme (two letters or more: one is a Windows drive) or a leading slash."""
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


def is_url(href: str) -> bool:
    """Whether ``href`` starts with a URL scheme."""
    return _SCHEME.match(href) is not None


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
