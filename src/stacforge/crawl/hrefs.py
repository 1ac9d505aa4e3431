"""Hrefs as the crawler sees them: resolving links, which schemes to follow, hiding credentials.

A crawled href is either an ``http(s)`` URL or an absolute local path; ``file://`` URLs are
turned into paths. Fragments are dropped, since they never change the document fetched.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urldefrag, urljoin, urlsplit, urlunsplit

from stacforge.catalog.layout import root_document
from stacforge.errors import StacforgeError

HTTP_SCHEMES = frozenset({"http", "https"})

# Query parameters that carry secrets in signed URLs (S3, Azure SAS, GCS, API keys).
_SECRET_PARAMETER = re.compile(r"sig|signature|token|key|secret|password|credential|auth", re.I)


def scheme(href: str) -> str:
    """The URL scheme of ``href`` in lower case; ``""`` for a local path (even ``C:\\...``)."""
    found = urlsplit(href).scheme.lower()
    return found if len(found) > 1 else ""


def is_http(href: str) -> bool:
    """Whether ``href`` is an ``http`` or ``https`` URL."""
    return scheme(href) in HTTP_SCHEMES


def start_href(href: str | os.PathLike[str]) -> str:
    """The crawl's first href: a URL as given, a local path made absolute (a folder stands for
    the ``catalog.json`` or ``collection.json`` in it).

    Raises:
        StacforgeError: ``href`` is a URL with a scheme other than ``http(s)`` or ``file``.
    """
    text = os.fspath(href)
    if is_http(text):
        return urldefrag(text).url
    if scheme(text) not in ("", "file"):
        raise StacforgeError(f"{redact(text)}: only http(s) URLs and local paths can be crawled")
    path = _local_path(text, os.getcwd())
    return str(root_document(path)) if os.path.isdir(path) else path


def resolve(href: str, base: str) -> str | None:
    """Resolves a link's ``href`` against the document it was found in.

    Args:
        href: The link's href, relative or absolute.
        base: The crawled href of the document holding the link.

    Returns:
        The absolute href to crawl, or None where the link must not be followed: documents
        read over HTTP may only lead to other ``http(s)`` URLs (never to local files), and
        local documents to local files or ``http(s)`` URLs.
    """
    target_scheme = scheme(href)
    if is_http(base):
        if target_scheme and target_scheme not in HTTP_SCHEMES:
            return None
        return urldefrag(urljoin(base, href)).url
    if target_scheme in HTTP_SCHEMES:
        return urldefrag(href).url
    if target_scheme not in ("", "file"):
        return None
    return _local_path(href, os.path.dirname(base))


def _local_path(href: str, directory: str) -> str:
    path = unquote(urlsplit(href).path) if scheme(href) == "file" else urldefrag(href).url
    return os.path.normpath(os.path.join(directory, path))


def strip_userinfo(url: str) -> str:
    """``url`` without ``user:password@``, for hrefs that are stored (the sidecar, the cache)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def redact(href: str) -> str:
    """``href`` fit to print: the password and secret query values replaced by ``***``."""
    if not is_http(href):
        return href
    parts = urlsplit(href)
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user = userinfo.partition(":")[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"***@{host}"
    query = "&".join(
        f"{name}=***" if sep and _SECRET_PARAMETER.search(name) else f"{name}{sep}{value}"
        for name, sep, value in (pair.partition("=") for pair in parts.query.split("&"))
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))
