"""The crawler's HTTP client: one pooled session, retries with backoff, the on-disk cache."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Generic, NamedTuple, TypeVar
from urllib.parse import urlsplit, urlunsplit
from urllib.request import getproxies

import aiohttp
from aiohttp.helpers import netrc_from_env

from stacforge._version import __version__
from stacforge.crawl.cache import CachedResponse, CorruptEntry, ResponseCache
from stacforge.crawl.documents import Document, FetchError, parse_json
from stacforge.crawl.report import CrawlReport
from stacforge.errors import StacforgeError
from stacforge.hrefs import storable

_CHUNK_SIZE = 1 << 16

DEFAULT_CONNECTIONS = 64
DEFAULT_TIMEOUT = 30.0
DEFAULT_DEADLINE = 300.0
DEFAULT_MAX_BYTES = 64 << 20
DEFAULT_MAX_BYTES_IN_FLIGHT = 256 << 20

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before repeating a failed request.

    Timeouts, connection errors, 429, 5xx and truncated or unreadable bodies are retried; other
    statuses (404, 403...) are not.

    Attributes:
        retries: How many times a request is repeated before the document counts as failed.
        backoff: Seconds before the first retry; doubled for each further one, with jitter.
        max_delay: The longest wait, also when a server's ``Retry-After`` asks for more.
    """

    retries: int = 4
    backoff: float = 0.5
    max_delay: float = 60.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (from 1), honouring ``Retry-After``."""
        ceiling = self.backoff * 2 ** (retry - 1)
        # Jitter keeps requests that failed together from being retried together.
        wait = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_delay)


class _CacheHit(NamedTuple, Generic[T]):
    entry: CachedResponse
    parsed: T


class _Fetched(NamedTuple, Generic[T]):
    url: str
    """Where the body came from (see :func:`_base`), which its links resolve against."""
    parsed: T


class ByteBudget:
    """Bytes of response bodies held at once across all requests of a client.

    A body being read takes its bytes from the budget chunk by chunk and gives them back once
    parsed. A read that would overdraw waits, except the oldest read in progress, which always
    goes on: so reads never wait on each other in a circle, and memory stays below the budget
    plus one response (``max_bytes``), however many responses stream at once.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.peak = 0
        """The most bytes held at once so far."""
        self._used = 0
        self._readers: dict[int, int] = {}
        """Bytes held per read in progress, oldest first."""
        self._next = 0
        self._changed = asyncio.Condition()

    def open(self) -> int:
        """Registers a read; returns its ticket."""
        ticket, self._next = self._next, self._next + 1
        self._readers[ticket] = 0
        return ticket

    async def take(self, ticket: int, n: int) -> None:
        """Takes ``n`` bytes for the read ``ticket``, waiting while they do not fit."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: self._used + n <= self.limit or next(iter(self._readers)) == ticket
            )
            self._used += n
            self.peak = max(self.peak, self._used)
            self._readers[ticket] += n

    async def close(self, ticket: int) -> None:
        """Gives back everything the read ``ticket`` took."""
        async with self._changed:
            self._used -= self._readers.pop(ticket)
            self._changed.notify_all()


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class HttpClient:
    """Fetches documents over HTTP, through the cache, with bounded connections.

    A cached entry is revalidated with ``If-None-Match`` / ``If-Modified-Since`` and reused on
    ``304``; a body is cached only once it parsed. Use as an async context manager (it owns one
    ``aiohttp`` session).

    Args:
        report: Where requests, retries, bytes and revalidations are counted.
        cache: The on-disk cache, or None to cache nothing.
        connections: The most connections open at once.
        retry: When to retry and how long to wait.
        timeout: Seconds to wait to connect, and for each read of the response.
        deadline: Seconds one request may take in all, however slowly its bytes trickle in.
        max_bytes: The largest body accepted; bigger responses fail without retry.
        max_bytes_in_flight: Bytes of bodies held at once across all requests (see
            :class:`ByteBudget`).
        offline: Answer from the cache only; a URL not in it fails.
    """

    def __init__(
        self,
        report: CrawlReport,
        *,
        cache: ResponseCache | None = None,
        connections: int = DEFAULT_CONNECTIONS,
        retry: RetryPolicy = RetryPolicy(),
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_bytes_in_flight: int = DEFAULT_MAX_BYTES_IN_FLIGHT,
        offline: bool = False,
    ):
        self._report = report
        self._cache = cache
        self._connections = connections
        self._retry = retry
        self._timeout = timeout
        self._deadline = deadline
        self._max_bytes = max_bytes
        self.budget = ByteBudget(max_bytes_in_flight)
        self._offline = offline
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections),
            timeout=aiohttp.ClientTimeout(
                total=self._deadline, sock_connect=self._timeout, sock_read=self._timeout
            ),
            headers={"User-Agent": f"stacforge/{__version__}"},
            trust_env=_environment_configures_requests(),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str) -> Document:
        """Fetches and parses the JSON object at ``url`` (see :meth:`fetch_parsed`); the
        document's ``href`` is the final URL after redirects, which its links resolve against."""
        fetched = await self._fetch(url, parse_json)
        return Document(fetched.url, fetched.parsed)

    async def fetch_parsed(self, url: str, parse: Callable[[bytes], T]) -> T:
        """Fetches ``url`` and returns ``parse(body)``.

        Args:
            url: What to fetch.
            parse: Reads the body; its ``ValueError`` marks the body unreadable (say, cut
                short): such a body is retried like a failed request, and never cached.

        Raises:
            FetchError: The document could not be read after all retries, the server answered
                with a status that is not retried, or (offline) it is not in the cache.
        """
        return (await self._fetch(url, parse)).parsed

    async def forget(self, url: str) -> None:
        """Drops the cached response of ``url``: its body turned out to be damaged."""
        if self._cache is not None:
            await asyncio.to_thread(self._cache.discard, url)

    async def _fetch(self, url: str, parse: Callable[[bytes], T]) -> _Fetched[T]:
        try:
            cached = await self._cached(url, parse)
        except CorruptEntry:
            if self._offline:
                raise FetchError(url, "the cache entry is corrupt (offline)") from None
            cached = None
        if self._offline:
            if cached is None:
                raise FetchError(url, "not in the cache (offline)")
            self._report.from_cache += 1
            return _Fetched(_base(url, cached.entry.url), cached.parsed)
        retry = 0
        while True:
            try:
                return await self._request(url, parse, cached)
            except _Retryable as error:
                if retry == self._retry.retries:
                    tried = f" (after {retry} retries)" if retry else ""
                    raise FetchError(url, error.reason + tried) from error
                retry += 1
                self._report.retries += 1
                await asyncio.sleep(self._retry.delay(retry, error.retry_after))

    async def _cached(self, url: str, parse: Callable[[bytes], T]) -> _CacheHit[T] | None:
        """The cached entry of ``url`` and its parsed body, if any.

        Raises:
            CorruptEntry: The entry was damaged, or its body no longer parses (it is removed).
        """
        if self._cache is None:
            return None
        # Read here, not in a worker thread: an entry is one small local file, cheaper to read
        # than to hand over (a quarter of a warm re-crawl's CPU time went to the hand-over).
        # Writes, which may wait for the file system's journal, go to a thread.
        entry = self._cache.get(url)
        if entry is None:
            return None
        try:
            return _CacheHit(entry, parse(entry.body))
        except ValueError:
            await asyncio.to_thread(self._cache.discard, url)
            raise CorruptEntry(url) from None

    async def _request(
        self, url: str, parse: Callable[[bytes], T], cached: _CacheHit[T] | None
    ) -> _Fetched[T]:
        ticket = self.budget.open()
        try:
            fresh = await self._get(url, cached, ticket)
            if isinstance(fresh, _Fetched):  # 304: the cached body stands
                return fresh
            try:
                parsed = parse(fresh.body)
            except ValueError as error:
                raise _Retryable(str(error)) from error
        finally:
            # The body's bytes leave the budget once parsed (or failed); the parsed document
            # is the caller's to bound (one per worker).
            await self.budget.close(ticket)
        if self._cache is not None:
            await self._store(url, fresh)
        return _Fetched(_base(url, fresh.url), parsed)

    async def _get(
        self, url: str, cached: _CacheHit[T] | None, ticket: int
    ) -> CachedResponse | _Fetched[T]:
        """One GET: the fresh response, or the cached document when the server says 304."""
        assert self._session is not None, "HttpClient is used outside `async with`"
        headers = {}
        if cached is not None:
            if cached.entry.etag:
                headers["If-None-Match"] = cached.entry.etag
            if cached.entry.last_modified:
                headers["If-Modified-Since"] = cached.entry.last_modified
        self._report.requests += 1
        try:
            async with self._session.get(url, headers=headers) as response:
                # Redirected: the links resolve against the final URL (kept without secrets).
                final = storable(str(response.url)) if response.history else None
                if response.status == 304 and cached is not None:
                    self._report.not_modified += 1
                    return _Fetched(_base(url, final or cached.entry.url), cached.parsed)
                if response.status == 429 or response.status >= 500:
                    retry_after = _seconds_until(response.headers.get("Retry-After"))
                    raise _Retryable(f"HTTP {response.status}", retry_after)
                if not 200 <= response.status < 300:
                    raise FetchError(url, f"HTTP {response.status} {response.reason or ''}".strip())
                body = await self._read_body(url, response, ticket)
                return CachedResponse(
                    body, response.headers.get("ETag"), response.headers.get("Last-Modified"), final
                )
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            raise _Retryable(_describe(error)) from error
        except aiohttp.ClientError as error:
            raise FetchError(url, _describe(error)) from error

    async def _read_body(self, url: str, response: aiohttp.ClientResponse, ticket: int) -> bytes:
        declared = response.content_length
        if declared is not None and declared > self._max_bytes:
            raise FetchError(url, f"response of {declared} bytes exceeds the size limit")
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK_SIZE):
            await self.budget.take(ticket, len(chunk))
            body += chunk
            self._report.bytes_downloaded += len(chunk)
            if len(body) > self._max_bytes:
                raise FetchError(url, f"response exceeds the {self._max_bytes} byte size limit")
        return bytes(body)

    async def _store(self, url: str, response: CachedResponse) -> None:
        assert self._cache is not None
        try:
            await asyncio.to_thread(self._cache.put, url, response)
        except OSError as error:
            where = self._cache.path(url)
            raise StacforgeError(f"{where}: cannot write the cache ({error})") from error


def _base(requested: str, final: str | None) -> str:
    """The URL a document's links resolve against: the requested URL, or after a redirect the
    final one, with the request's credentials only where it stays on the same origin."""
    if final is None:
        return requested
    asked, landed = urlsplit(requested), urlsplit(final)
    if "@" in asked.netloc and (asked.scheme, asked.hostname, asked.port) == (
        landed.scheme,
        landed.hostname,
        landed.port,
    ):
        return urlunsplit(landed._replace(netloc=asked.netloc))
    return final


def _environment_configures_requests() -> bool:
    """Whether proxy variables or a netrc file are set, for aiohttp to take from the environment.

    With ``trust_env`` aiohttp looks both up in a worker thread for every request: two thread
    hops per request, 40% of a crawl's CPU time (measured) when there is nothing to look up.
    """
    return bool(getproxies()) or netrc_from_env() is not None


def _seconds_until(retry_after: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay seconds or an HTTP date."""
    if not retry_after:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _describe(error: BaseException) -> str:
    """A few words about a network error, never the URL (it may hold credentials)."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, aiohttp.ClientPayloadError):
        return "body cut short"
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"cannot connect ({error.os_error.strerror or error.os_error})"
    return type(error).__name__
