"""Where a crawl starts: a URL as given, or a local file or folder made absolute."""

from __future__ import annotations

import os
from urllib.parse import urldefrag, urlsplit

from stacforge.catalog.layout import root_document
from stacforge.errors import StacforgeError
from stacforge.hrefs import is_http, local_path, redact, scheme


def start_href(href: str | os.PathLike[str]) -> str:
    """The crawl's first href: a URL as given, a local path made absolute (a folder stands for
    the ``catalog.json`` or ``collection.json`` in it).

    Raises:
        StacforgeError: ``href`` is a malformed URL, or one with a scheme other than
            ``http(s)`` or ``file``.
    """
    text = os.fspath(href)
    if is_http(text):
        try:
            urlsplit(text).port  # noqa: B018 (raises ValueError on a malformed host or port)
        except ValueError:
            raise StacforgeError(f"{redact(text)}: not a valid URL") from None
        return urldefrag(text).url
    if scheme(text) not in ("", "file"):
        raise StacforgeError(f"{redact(text)}: only http(s) URLs and local paths can be crawled")
    path = local_path(text, os.getcwd())
    return str(root_document(path)) if os.path.isdir(path) else path
