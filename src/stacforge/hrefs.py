"""One resolver for hrefs: file paths, ``file://`` and ``http(s)`` URLs.

Every part that follows links (the validator, the crawler, the index) resolves them
here, so a scheme is judged the same way everywhere. Two readings are offered:

- :func:`join` keeps relative hrefs relative (``join("../a/b.json", "../c.json")`` is
  ``"../c.json"``), for hrefs stored next to what they point at (the index);
- :func:`resolve` gives what a crawler fetches: an ``http(s)`` URL or an absolute local path,
  and refuses what a document may not lead to (a document read over HTTP never leads to a
  local file).
"""

from __future__ import annotations

import os
import posixpath
import re
from urllib.parse import unquote, urldefrag, urljoin, urlsplit, urlunsplit

HTTP_SCHEMES = frozenset({"http", "https"})
LOCAL_SCHEMES = frozenset({"", "file"})

ABSOLUTE = r"^(?:[A-Za-z][A-Za-z0-9+.-]+:|/)"
"""A URL scheme (two letters or more: one is a Windows drive) or a leading slash."""
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_DRIVE = re.compile(r"^[A-Za-z]:[/\\]")
_USERINFO = re.compile(r"//[^/?#]*@")

# Query parameters that carry secrets in signed URLs (S3, Azure SAS, GCS, API keys).
_SECRET_PARAMETER = re.compile(r"sig|signature|token|key|secret|password|credential|auth", re.I)


def scheme(href: str) -> str:
    """The URL scheme of ``href`` in lower case; ``""`` for a path (even ``C:\\...``)."""
    found = _SCHEME.match(href)
    return found[0][:-1].lower() if found else ""


def is_http(href: str) -> bool:
    """Whether ``href`` is an ``http`` or ``https`` URL."""
    return scheme(href) in HTTP_SCHEMES


def is_url(href: str) -> bool:
    """Whether ``href`` starts with a URL scheme (a Windows drive letter is not one)."""
    return _SCHEME.match(href) is not None


def is_absolute(href: str) -> bool:
    """Whether ``href`` is a URL or an absolute path."""
    return is_url(href) or href.startswith("/")


def join(base: str, href: str) -> str:
    """Resolves ``href`` against the document at ``base``, as a browser would.

    Unlike :func:`urllib.parse.urljoin`, a relative ``base`` gives a relative result, so hrefs
    stored relative to an index directory stay relative and the directory can move with its
    catalog.
    """
    if is_absolute(href):
        return href
    if is_url(base):
        return urljoin(base, href)
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), href))


def directory_base(location: str) -> str:
    """A base for :func:`join` that resolves hrefs relative to the directory ``location``."""
    return location if location.endswith("/") else f"{location}/"


def resolve(href: str, base: str) -> str | None:
    """Resolves a link's ``href`` against the document it was found in, for fetching.

    Args:
        href: The link's href, relative or absolute.
        base: Where the document holding the link was read: an ``http(s)`` URL (the final one,
            after redirects) or an absolute local path.

    Returns:
        An ``http(s)`` URL or an absolute local path without fragment, or None where the link
        must not be followed: documents read over HTTP lead only to ``http(s)`` URLs (never to
        local files, whatever the href looks like: ``C:/x.json`` is a Windows path, not a URL
        with the scheme ``c``), local documents to local files or ``http(s)`` URLs; and None
        for a malformed URL. Backslashes in a relative href are read as slashes.
    """
    try:
        target_scheme = scheme(href)
        if not target_scheme and "\\" in href and not _DRIVE.match(href):
            # A relative href written with Windows separators: browsers (WHATWG URL) and pystac
            # read a backslash as a slash, and no file name in a catalog holds one.
            href = href.replace("\\", "/")
        if is_http(base):
            if target_scheme not in HTTP_SCHEMES | {""} or _DRIVE.match(href):
                return None
            resolved = urldefrag(urljoin(base, href)).url
            urlsplit(resolved).port  # noqa: B018 (raises ValueError on a malformed host or port)
            return resolved if is_http(resolved) else None
        if target_scheme in HTTP_SCHEMES:
            resolved = urldefrag(href).url
            urlsplit(resolved).port  # noqa: B018
            return resolved
        if target_scheme not in LOCAL_SCHEMES:
            return None
        return local_path(href, os.path.dirname(base))
    except ValueError:  # "http://[::1/x.json", a port that is no number
        return None


def local_path(href: str, directory: str) -> str:
    """The normalised path of a relative or ``file://`` href, relative to ``directory``.

    Percent-escapes are decoded: an href is a URI reference, so ``a%20b.json`` names
    ``a b.json``.
    """
    path = urlsplit(href).path if scheme(href) == "file" else urldefrag(href).url
    return os.path.normpath(os.path.join(directory, unquote(path)))


def storable(url: str) -> str:
    """``url`` fit to store (in an index, a manifest, the cache): without ``user:password@``
    and without query parameters that carry secrets (signatures, tokens, keys).

    Stored hrefs are only resolved against, never fetched with their query, so nothing that
    works is lost; a credential in them would outlive the crawl in files that get shared.
    """
    if not is_http(url):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and not _SECRET_PARAMETER.search(pair.partition("=")[0])
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def redact(href: str) -> str:
    """``href`` fit to print: the password and secret query values replaced by ``***``."""
    if not is_http(href):
        return href
    try:
        parts = urlsplit(href)
    except ValueError:  # malformed: hide whatever stands before an "@"
        return _USERINFO.sub("//***@", href)
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
