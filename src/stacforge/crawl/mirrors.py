"""Collection mirrors: a collection's items as one stac-geoparquet file, read instead of a walk.

A collection advertises its mirror as an asset of type ``application/vnd.apache.parquet`` with
the role ``collection-mirror`` (stacforge's catalog writer puts it at
``<collection>/index/items.parquet``).
"""

from __future__ import annotations

import asyncio
import io
import itertools
from collections.abc import AsyncIterator
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from stacforge.crawl.client import HttpClient
from stacforge.crawl.documents import FetchError
from stacforge.errors import InputError
from stacforge.hrefs import is_http, join
from stacforge.index.directory import open_parquet
from stacforge.index.reader import read_items

_BATCH = 256
"""Items converted from Parquet rows per trip to a worker thread."""


async def mirror_items(href: str, client: HttpClient) -> AsyncIterator[list[dict[str, Any]]]:
    """Yields the items of the mirror at ``href`` in batches, converted in a worker thread.

    Over HTTP the file is fetched whole through ``client`` (and so its cache); a local file is
    read in place.

    Raises:
        FetchError: The mirror cannot be fetched, or is not a readable stac-geoparquet file
            (also when a page fails its checksum part-way: the items before it were whole).
    """
    try:
        source = await _fetched(href, client)
        if isinstance(source, bytes):
            items = read_items(io.BytesIO(source), base=href)
        else:
            items = read_items(source)
        while batch := await asyncio.to_thread(list, itertools.islice(items, _BATCH)):
            yield batch
    except (InputError, OSError, pa.ArrowException) as error:
        raise await unreadable(href, client, error) from error


async def mirror_rows(href: str, client: HttpClient) -> tuple[str | bytes, list[str]]:
    """The mirror at ``href`` for a reader of Arrow rows: its local path or fetched bytes, and
    where each row's item lives (its ``self`` link resolved against ``href``, or ``href``).

    Only the ``links`` column is read here.

    Raises:
        FetchError: The mirror cannot be fetched, or its links cannot be read.
    """
    try:
        source = await _fetched(href, client)
        opened = io.BytesIO(source) if isinstance(source, bytes) else source
        return source, await asyncio.to_thread(_item_hrefs, opened, href)
    except (InputError, OSError, pa.ArrowException) as error:
        raise await unreadable(href, client, error) from error


async def _fetched(href: str, client: HttpClient) -> str | bytes:
    """A mirror's bytes, fetched whole through ``client`` (and so its cache), or the path of
    a local one (read in place)."""
    if is_http(href):
        return await client.fetch_parsed(href, whole_parquet)
    return href


async def unreadable(href: str, client: HttpClient, error: BaseException) -> FetchError:
    """The error of a mirror that turned out damaged (a page fails its checksum) or
    unreadable; a cached copy is dropped first, so that the next crawl does not revalidate and
    reuse it."""
    if is_http(href):
        await client.forget(href)
    message = error.message if isinstance(error, InputError) else f"unreadable ({error})"
    return FetchError(href, message)


def _item_hrefs(source: str | IO[bytes], href: str) -> list[str]:
    """Each row's ``self`` link of the stac-geoparquet file ``source`` (at ``href``),
    resolved; ``href`` for a row without one."""
    parquet = open_parquet(source, where=href)
    if "links" not in parquet.schema_arrow.names:
        raise InputError(href, "not stac-geoparquet: no links column")
    found: list[str] = []
    for group in range(parquet.metadata.num_row_groups):
        links = parquet.read_row_group(group, columns=["links"])["links"].combine_chunks()
        flat = pc.list_flatten(links)
        if not {"rel", "href"} <= set(flat.type.names):
            found.extend([href] * len(links))
            continue
        # The first self link of each row, as :func:`self_href` takes it.
        is_self = pc.fill_null(pc.equal(flat.field("rel"), "self"), False)
        owners = pc.list_parent_indices(links).filter(is_self).to_numpy()
        targets = flat.field("href").filter(is_self).to_pylist()
        own: list[str | None] = [None] * len(links)
        for row, target in zip(owners.tolist(), targets, strict=True):
            if own[row] is None:
                own[row] = target
        found.extend(href if target is None else join(href, target) for target in own)
    return found


def whole_parquet(body: bytes) -> bytes:
    """Returns ``body`` once its Parquet footer reads, as a check that no part is missing.

    Raises:
        ValueError: ``body`` is not a whole Parquet file.
    """
    try:
        pq.ParquetFile(io.BytesIO(body))
    except pa.ArrowException as error:
        raise ValueError(f"not a whole Parquet file ({error})") from error
    return body


def self_href(item: dict[str, Any]) -> str | None:
    """The href of an item's ``self`` link, if it has one."""
    for link in item.get("links") or ():
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and isinstance(link.get("href"), str)
        ):
            return str(link["href"])
    return None
