"""A crawl that ends in an index: what ``stacforge crawl --index`` and ``stacforge index`` do."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacforge.crawl.crawler import CrawlOptions, ProgressCallback, crawl
from stacforge.crawl.hrefs import start_href
from stacforge.crawl.report import CrawlReport, Problem
from stacforge.errors import InputError
from stacforge.hrefs import is_url, redact, storable
from stacforge.index.background import IndexProcess
from stacforge.index.manifest import Manifest


@dataclass(frozen=True)
class IndexedCrawl:
    """A finished crawl into an index.

    Attributes:
        report: The crawl's report (failed documents, warnings, counts).
        manifest: The index's manifest (items, assets, label rows, extents).
        rejected: Items that were read but that the index cannot hold; the rest is indexed.
            They are also counted in ``report.not_indexed`` and listed in its warnings.
    """

    report: CrawlReport
    manifest: Manifest
    rejected: list[InputError] = field(default_factory=list)


def crawl_into_index(
    href: str | os.PathLike[str],
    index: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    relative_hrefs: bool = False,
    cache: str | os.PathLike[str] | None = None,
    options: CrawlOptions = CrawlOptions(),  # noqa: B008 (frozen: a shared default is safe)
    progress: ProgressCallback | None = None,
) -> IndexedCrawl:
    """Crawls the static catalog at ``href`` and writes the index of its items to ``index``.

    The index appears whole or not at all. Documents that cannot be read are listed in the
    report (their subtrees are missing); items the index cannot hold are listed in
    ``rejected``.

    Args:
        href: An ``http(s)`` URL or a local path of a catalog, collection or item.
        index: The index directory to write.
        overwrite: Replace an existing ``index`` (once the new one is complete).
        relative_hrefs: Store local item hrefs relative to ``index`` (so that a catalog and its
            index can move together) instead of absolute.
        cache: Directory of the HTTP response cache; None caches nothing.
        options: Concurrency, retries, limits, and which part of the tree to crawl.
        progress: Called with the running report after each document.

    Raises:
        StacforgeError: ``index`` exists without ``overwrite``.
    """
    root = Path(index).resolve()
    rejected: list[InputError] = []

    def reject(error: InputError) -> None:
        # The writer names items by their stored href; report where the item really is.
        where = error.path if is_url(error.path) else os.path.normpath(root / error.path)
        rejected.append(InputError(where, error.message, record=error.record))

    source = storable(start_href(href))
    # The writer converts and sorts in a process of its own while the crawl goes on.
    with (
        IndexProcess() as process,
        process.open(Path(index), source=source, overwrite=overwrite, on_invalid=reject) as writer,
    ):

        def stored(item_href: str) -> str:
            if relative_hrefs and not is_url(item_href):
                return os.path.relpath(item_href, root).replace(os.sep, "/")
            return item_href

        def add(item: dict[str, Any], item_href: str) -> None:
            writer.add(item, stored(item_href))

        def add_mirror(
            source: str | bytes, where: str, item_hrefs: list[str | None], collection: str | None
        ) -> tuple[int, InputError | None]:
            hrefs = [None if h is None else stored(h) for h in item_hrefs]
            return writer.add_mirror(source, where, hrefs, collection)

        report = crawl(
            href, add, on_mirror=add_mirror, cache=cache, options=options, progress=progress
        )
        manifest = writer.close()
    # The writer converts items in batches, so some are refused after the crawl counted them.
    report.items -= len(rejected)
    report.not_indexed += len(rejected)
    report.warnings.extend(
        Problem(redact(error.path), f"item not indexed: {error.message}") for error in rejected
    )
    return IndexedCrawl(report=report, manifest=manifest, rejected=rejected)
