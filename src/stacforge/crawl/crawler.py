"""The breadth-first crawl of a static STAC catalog, over HTTP or on local disk."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from stacforge.crawl.cache import ResponseCache
from stacforge.crawl.client import (
    DEFAULT_CONNECTIONS,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_BYTES_IN_FLIGHT,
    DEFAULT_TIMEOUT,
    HttpClient,
    RetryPolicy,
)
from stacforge.crawl.documents import Document, FetchError, StacType, read_local, stac_type
from stacforge.crawl.hrefs import start_href
from stacforge.crawl.mirrors import mirror_items, mirror_rows, self_href, unreadable
from stacforge.crawl.normalize import normalize_item
from stacforge.crawl.report import CrawlReport, Problem
from stacforge.errors import InputError, StacforgeError
from stacforge.hrefs import is_http, redact, resolve, storable
from stacforge.index import layout

ItemSink = Callable[[dict[str, Any], str], None]
"""Receives each crawled item and its absolute href (URL without credentials, or file path).

It is called in a worker thread of its own, one call at a time, in the order items are read."""

MirrorSink = Callable[
    [str | bytes, str, list[str | None], str | None], tuple[int, InputError | None]
]
"""Takes a collection mirror whole, as Arrow rows, instead of its items one by one (the index
writer's :meth:`~stacforge.index.background.RemoteIndexWriter.add_mirror`): the file's path or
bytes, its href, each row's item href (None for an item read already) and the collection id;
returns how many rows it took and the error that stopped it, if any. Called in the item sink's
thread, in order with the items."""

ProgressCallback = Callable[[CrawlReport], None]
"""Called with the running report after each document."""

_FOLLOWED_RELS = frozenset({"child", "item"})


@dataclass(frozen=True)
class CrawlOptions:
    """How to crawl.

    Attributes:
        concurrency: Documents fetched (or read from disk) at once.
        retry: When to retry a failed request and how long to wait.
        timeout: Seconds to wait to connect, and for each read of a response.
        deadline: Seconds one request may take in all (a server that trickles bytes).
        max_bytes: The largest response accepted.
        max_bytes_in_flight: Bytes of responses held in memory at once, across all requests.
        offline: Answer HTTP requests from the cache only.
        collections: Index only items inside collections with these ids (at any depth; the
            sub-collections of a chosen collection count as chosen). None indexes every item.
        max_depth: Follow links at most this many hops from the start (0: the start only).
        use_mirrors: Where a collection advertises a mirror (see :mod:`.mirrors`), read its
            items from the mirror instead of walking the collection; if the mirror cannot be
            read, walk after all.
    """

    concurrency: int = DEFAULT_CONNECTIONS
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    max_bytes: int = DEFAULT_MAX_BYTES
    max_bytes_in_flight: int = DEFAULT_MAX_BYTES_IN_FLIGHT
    offline: bool = False
    collections: Collection[str] | None = None
    max_depth: int | None = None
    use_mirrors: bool = True

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")


class _Link(NamedTuple):
    """A document waiting to be read, and what the crawl knows about it from its parent."""

    href: str
    depth: int
    collection: str | None
    """The id of the collection that links it, given to items that name none."""
    chosen: bool
    """Whether it lies inside a collection chosen by ``CrawlOptions.collections``."""


class Crawler:
    """Reads a catalog tree breadth-first, ``concurrency`` documents at a time; runs once.

    Every href is read once, so cycles and duplicate links are harmless. ``child`` and ``item``
    links are followed; from documents read over HTTP only to ``http(s)`` URLs. A document that
    cannot be read is recorded in the report and its subtree skipped; the crawl goes on.

    Args:
        on_item: Receives each item (normalised, see :func:`normalize_item`) and its href,
            in a worker thread of its own (one call at a time), so that a sink that costs
            milliseconds per item, such as the index writer, does not hold up the requests.
            An :class:`InputError` it raises rejects that item only; other errors end the crawl.
        on_mirror: Takes collection mirrors whole, as Arrow rows (with ``on_item``); without
            it their items are read as dicts and handed to ``on_item``.
        cache: The HTTP response cache, or None.
        options: How to crawl.
        progress: Called with the running report after each document.

    Raises:
        StacforgeError: ``options.offline`` without a cache.
    """

    def __init__(
        self,
        on_item: ItemSink | None = None,
        *,
        on_mirror: MirrorSink | None = None,
        cache: ResponseCache | None = None,
        options: CrawlOptions = CrawlOptions(),
        progress: ProgressCallback | None = None,
    ):
        if options.offline and cache is None:
            raise StacforgeError("an offline crawl needs a cache to answer from")
        self.report = CrawlReport()
        self._on_item = on_item
        self._on_mirror = on_mirror if on_item is not None else None
        self._cache = cache
        self._options = options
        self._progress = progress
        self._queue: asyncio.Queue[_Link] = asyncio.Queue()
        self._seen: set[str] = set()
        self._sink: ThreadPoolExecutor | None = None

    async def run(self, href: str | os.PathLike[str]) -> CrawlReport:
        """Crawls from ``href`` (a catalog, collection or item) and returns the report."""
        started = time.monotonic()
        self._enqueue(start_href(href), 0, None, self._options.collections is None)
        if self._cache is not None:
            await asyncio.to_thread(self._cache.remove_debris)
        client = HttpClient(
            self.report,
            cache=self._cache,
            connections=self._options.concurrency,
            retry=self._options.retry,
            timeout=self._options.timeout,
            deadline=self._options.deadline,
            max_bytes=self._options.max_bytes,
            max_bytes_in_flight=self._options.max_bytes_in_flight,
            offline=self._options.offline,
        )
        async with client:
            with _fewer_gc_passes(), self._sink_thread():
                await self._run_workers(client)
        self.report.elapsed = time.monotonic() - started
        return self.report

    async def _run_workers(self, client: HttpClient) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                workers = [
                    group.create_task(self._work(client)) for _ in range(self._options.concurrency)
                ]
                await self._queue.join()
                for worker in workers:
                    worker.cancel()
        except BaseExceptionGroup as errors:
            # A worker only fails on an error that ends the crawl: raise it as itself.
            raise errors.exceptions[0] from None

    async def _work(self, client: HttpClient) -> None:
        while True:
            link = await self._queue.get()
            try:
                await self._visit(link, client)
            finally:
                self._queue.task_done()

    async def _visit(self, link: _Link, client: HttpClient) -> None:
        try:
            if is_http(link.href):
                document = await client.fetch(link.href)
            else:
                document = await read_local(link.href, self._options.max_bytes)
        except FetchError as error:
            self.report.failures.append(Problem(error.href, error.reason))
        else:
            self.report.documents += 1
            kind = stac_type(document.data)
            if kind == "Feature":
                if link.chosen:
                    await self._index([(document.data, document.href)], link.collection)
            elif kind is None:
                self._warn(document.href, "not a STAC catalog, collection or item; skipped")
            else:
                await self._follow_links(document, kind, link, client)
        if self._progress is not None:
            self._progress(self.report)

    async def _follow_links(
        self, document: Document, kind: StacType, link: _Link, client: HttpClient
    ) -> None:
        data = document.data
        depth = link.depth + 1
        if self._options.max_depth is not None and depth > self._options.max_depth:
            return
        collection = data.get("id") if kind == "Collection" else None
        if collection is not None and not isinstance(collection, str):
            self._warn(document.href, "collection id is not a string; its items name none")
            collection = None
        chosen = link.chosen or (
            collection is not None and collection in (self._options.collections or ())
        )
        mirror = layout.mirror_href(data) if chosen and self._options.use_mirrors else None
        if mirror is not None and await self._read_mirror(document, mirror, client):
            return
        links = data.get("links")
        for entry in links if isinstance(links, list) else ():
            if not isinstance(entry, dict):
                continue
            rel = entry.get("rel")
            if not isinstance(rel, str) or rel not in _FOLLOWED_RELS:
                continue
            href = entry.get("href")
            if not isinstance(href, str):
                self._warn(document.href, f"{entry['rel']} link without an href; skipped")
                continue
            # Outside the chosen collections only child links can lead into one.
            if entry["rel"] == "item" and not chosen:
                continue
            target = resolve(href, document.href)
            if target is None:
                self._warn(document.href, f"{entry['rel']} link to {redact(href)} not followed")
                continue
            self._enqueue(target, depth, collection, chosen)

    def _enqueue(self, href: str, depth: int, collection: str | None, chosen: bool) -> None:
        if href not in self._seen:
            self._seen.add(href)
            self._queue.put_nowait(_Link(href, depth, collection, chosen))

    async def _read_mirror(self, collection: Document, mirror: str, client: HttpClient) -> bool:
        """Indexes the items of ``collection``'s mirror; False if it could not be read."""
        href = resolve(mirror, collection.href)
        if href is None:
            self._warn(collection.href, f"mirror {redact(mirror)} not followed")
            return False
        collection_id = collection.data.get("id")
        try:
            if self._on_mirror is not None:
                await self._hand_over_mirror(href, collection_id, client)
            else:
                async for batch in mirror_items(href, client):
                    unseen = []
                    for item in batch:
                        item_href = self_href(item) or href
                        # Seen, so that the walk after a mirror that fails part-way skips them.
                        if item_href not in self._seen:
                            self._seen.add(item_href)
                            unseen.append((item, item_href))
                    await self._index(unseen, collection_id)
        except FetchError as error:
            self._warn(href, f"mirror not read ({error.reason}); walking the collection instead")
            return False
        self.report.mirrors += 1
        return True

    async def _hand_over_mirror(self, href: str, collection: Any, client: HttpClient) -> None:
        """Hands the mirror at ``href`` to ``on_mirror`` whole.

        Raises:
            FetchError: It cannot be fetched or read; the items it had given before that are
                indexed (and seen), the rest are not.
        """
        assert self._on_mirror is not None and self._sink is not None
        source, item_hrefs = await mirror_rows(href, client)
        hrefs: list[str | None] = []
        for item_href in item_hrefs:
            # Seen, so that the walk after a mirror that fails part-way skips them.
            if item_href in self._seen:
                hrefs.append(None)
            else:
                self._seen.add(item_href)
                hrefs.append(storable(item_href))
        loop = asyncio.get_running_loop()
        taken, error = await loop.run_in_executor(
            self._sink,
            self._on_mirror,
            source,
            href,
            hrefs,
            collection if isinstance(collection, str) else None,
        )
        self.report.items += sum(item_href is not None for item_href in hrefs[:taken])
        if error is not None:
            self._seen.difference_update(
                item_hrefs[i] for i in range(taken, len(hrefs)) if hrefs[i] is not None
            )
            raise await unreadable(href, client, error)

    @contextlib.contextmanager
    def _sink_thread(self) -> Iterator[None]:
        """Gives ``on_item``, if any, a worker thread for the duration of the crawl."""
        if self._on_item is None:
            yield
            return
        self._sink = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stacforge-sink")
        try:
            yield
        finally:
            # Let the call in progress finish (a crawl that ends early drops those queued), so
            # that no call outlives the crawl, e.g. into an index writer being aborted.
            self._sink.shutdown(wait=True, cancel_futures=True)
            self._sink = None

    async def _index(
        self, items: Sequence[tuple[dict[str, Any], str]], collection: str | None
    ) -> None:
        """Normalises ``items`` (with their hrefs) and hands them to ``on_item``.

        With a sink this happens in its thread: the index writer, for one, converts items to
        Arrow about a hundred at a time, which would hold the event loop for a quarter of a
        second each time. Without one, only the normalising is left, cheaper than a thread hop.
        """
        if self._sink is None:
            self._index_items(items, collection)
        else:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._sink, self._index_items, items, collection)

    def _index_items(
        self, items: Sequence[tuple[dict[str, Any], str]], collection: str | None
    ) -> None:
        for item, href in items:
            self._index_item(item, href, collection)

    def _index_item(self, item: dict[str, Any], href: str, collection: str | None) -> None:
        try:
            notes = normalize_item(item, collection=collection)
        except ValueError as error:
            self._warn(href, f"item not indexed: {error}")
            self.report.not_indexed += 1
            return
        for note in notes:
            self._warn(href, note)
        if self._on_item is not None:
            try:
                self._on_item(item, storable(href))
            except InputError as error:
                self._warn(href, f"item not indexed: {error.message}")
                self.report.not_indexed += 1
                return
        self.report.items += 1

    def _warn(self, href: str, message: str) -> None:
        self.report.warnings.append(Problem(redact(href), message))


@contextlib.contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Runs the cyclic garbage collector less often for a while.

    Parsing one item with 300 assets allocates some 1,500 dicts and lists, so the default
    generation-0 threshold (700 allocations) starts a collection twice per item, each one
    rescanning the young objects of items still being handled. Measured at concurrency 64 on
    60 KB items, that doubled the crawl's CPU time and held the event loop up to 150 ms at a
    time. A crawl makes little cyclic garbage, so a higher threshold costs no memory to speak of.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


async def crawl_async(
    href: str | os.PathLike[str],
    on_item: ItemSink | None = None,
    *,
    on_mirror: MirrorSink | None = None,
    cache: str | os.PathLike[str] | None = None,
    options: CrawlOptions = CrawlOptions(),
    progress: ProgressCallback | None = None,
) -> CrawlReport:
    """Crawls the static catalog at ``href`` and hands every item to ``on_item``.

    Args:
        href: An ``http(s)`` URL or a local path of a catalog, collection or item.
        on_item: Receives each item dict and its absolute href, in a worker thread of its own
            (one call at a time); None only counts them.
        on_mirror: Takes collection mirrors whole (see :data:`MirrorSink`).
        cache: Directory of the HTTP response cache; None caches nothing.
        options: Concurrency, retries, limits, and which part of the tree to crawl.
        progress: Called with the running report after each document.

    Returns:
        The report; ``report.failures`` lists every document that could not be read.
    """
    crawler = Crawler(
        on_item,
        on_mirror=on_mirror,
        cache=None if cache is None else ResponseCache(cache),
        options=options,
        progress=progress,
    )
    return await crawler.run(href)


def crawl(
    href: str | os.PathLike[str],
    on_item: ItemSink | None = None,
    *,
    on_mirror: MirrorSink | None = None,
    cache: str | os.PathLike[str] | None = None,
    options: CrawlOptions = CrawlOptions(),
    progress: ProgressCallback | None = None,
) -> CrawlReport:
    """Runs :func:`crawl_async` to completion in a new event loop; see there."""
    return asyncio.run(
        crawl_async(
            href, on_item, on_mirror=on_mirror, cache=cache, options=options, progress=progress
        )
    )
