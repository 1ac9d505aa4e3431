"""The crawler's on-disk HTTP cache: one file per URL, named by a hash of the URL.

An entry is a one-line JSON header (the URL without secrets, ``ETag``, ``Last-Modified``, the
final URL after redirects, body length and BLAKE2b checksum) followed by the body bytes. Entries
are written atomically (temporary sibling, rename), so a crawl killed at any moment leaves
either the old entry, the new one, or none (and a temporary file, which the next crawl
removes). They are not fsynced: a machine crash may leave an entry empty or cut short, which
its length and checksum tell, as they tell an entry edited on disk: such an entry is dropped
when read, so flushing every entry to disk would buy nothing that a re-fetch does not. The file
name is a SHA-256 of the URL, never a part of the URL, so no href can place a file outside the
cache directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from stacforge.catalog.io import remove_stale_files, write_bytes_atomic
from stacforge.hrefs import storable

_ENTRY_NAME = "[0-9a-f]{64}"


class CorruptEntry(Exception):
    """A cache entry that is damaged (cut short, edited): it has been removed."""


def _checksum(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


@dataclass(frozen=True)
class CachedResponse:
    """A cached response body and the validators to revalidate it with.

    Attributes:
        body: The response body, as received (after content decoding).
        etag: The ``ETag`` response header, if any.
        last_modified: The ``Last-Modified`` response header, if any.
        url: The final URL the body came from, after redirects (None: the request's).
    """

    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    url: str | None = None


class ResponseCache:
    """Response bodies on disk, keyed by request URL.

    Args:
        directory: Where the entries live; created on first write.
    """

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = Path(directory)

    def path(self, url: str) -> Path:
        """The entry file for ``url``: ``<directory>/<2 hex>/<64 hex>``."""
        digest = hashlib.sha256(url.encode()).hexdigest()
        return self.directory / digest[:2] / digest

    def get(self, url: str) -> CachedResponse | None:
        """The entry for ``url``, or None if there is none.

        Raises:
            CorruptEntry: The entry is damaged (cut short, edited, unreadable); it is removed.
        """
        path = self.path(url)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise CorruptEntry(f"{path}: {error.strerror or error}") from None
        entry = _decode(data)
        if entry is None:
            self.discard(url)
            raise CorruptEntry(str(path))
        return entry

    def remove_debris(self) -> int:
        """Removes temporary files that crawls killed mid-write left behind (only those of
        processes that no longer run); returns how many."""
        removed = 0
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.directory):
                if len(entry.name) == 2 and entry.is_dir(follow_symlinks=False):
                    removed += remove_stale_files(Path(entry.path), _ENTRY_NAME)
        return removed

    def put(self, url: str, response: CachedResponse) -> None:
        """Stores ``response`` as the entry for ``url``, replacing any older one atomically."""
        header = {
            "url": storable(url),
            "etag": response.etag,
            "last_modified": response.last_modified,
            "final_url": response.url,
            "length": len(response.body),
            "blake2b": _checksum(response.body),
        }
        write_bytes_atomic(
            self.path(url), orjson.dumps(header) + b"\n" + response.body, durable=False
        )

    def discard(self, url: str) -> None:
        """Removes the entry for ``url``, if there is one."""
        with contextlib.suppress(FileNotFoundError):
            self.path(url).unlink()


def _decode(data: bytes) -> CachedResponse | None:
    line, newline, body = data.partition(b"\n")
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not newline or not isinstance(header, dict) or header.get("length") != len(body):
        return None
    if header.get("blake2b") != _checksum(body):
        return None
    return CachedResponse(
        body=body,
        etag=header.get("etag"),
        last_modified=header.get("last_modified"),
        url=header.get("final_url") if isinstance(header.get("final_url"), str) else None,
    )
