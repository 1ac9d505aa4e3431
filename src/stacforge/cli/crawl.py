"""``stacforge crawl``: a static catalog (HTTP or local) into the cache and the index."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stacforge.crawl.client import RetryPolicy
from stacforge.crawl.crawler import CrawlOptions, crawl
from stacforge.crawl.progress import StatusLine
from stacforge.errors import StacforgeError
from stacforge.hrefs import redact

_WARNINGS_SHOWN = 20


@click.command("crawl")
@click.argument("href")
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    help="HTTP response cache; a rerun revalidates from it and resumes where a crawl stopped.",
)
@click.option(
    "--index",
    type=click.Path(path_type=Path),
    help="Write the index of the crawled items to this directory.",
)
@click.option("--overwrite", is_flag=True, help="Replace the index if it exists.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=CrawlOptions.concurrency,
    show_default=True,
    help="Documents fetched at once.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=RetryPolicy.retries,
    show_default=True,
    help="Retries after a timeout, connection error, 429, 5xx or bad body.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=CrawlOptions.timeout,
    show_default=True,
    help="Seconds to wait to connect, and for each read.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0, min_open=True),
    default=CrawlOptions.deadline,
    show_default=True,
    help="Seconds one request may take in all, however its bytes trickle in.",
)
@click.option(
    "--max-bytes-in-flight",
    type=click.IntRange(min=1),
    default=CrawlOptions.max_bytes_in_flight,
    show_default=True,
    help="Bytes of responses held in memory at once, across all requests.",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=CrawlOptions.max_bytes,
    show_default=True,
    help="Largest response accepted.",
)
@click.option("--offline", is_flag=True, help="Answer only from the cache; no requests.")
@click.option(
    "--collections",
    multiple=True,
    metavar="ID[,ID...]",
    help="Index only items inside these collections (repeatable).",
)
@click.option(
    "--max-depth", type=click.IntRange(min=0), help="Follow links at most this many hops."
)
@click.option(
    "--use-mirrors/--no-use-mirrors",
    default=True,
    show_default=True,
    help="Read a collection's items from the Parquet mirror it advertises instead of walking it.",
)
def crawl_command(
    href: str,
    cache: Path | None,
    index: Path | None,
    overwrite: bool,
    concurrency: int,
    retries: int,
    timeout: float,
    deadline: float,
    max_bytes_in_flight: int,
    max_bytes: int,
    offline: bool,
    collections: tuple[str, ...],
    max_depth: int | None,
    use_mirrors: bool,
) -> None:
    """Crawl the static STAC catalog at HREF (an http(s) URL or a local path).

    Reads every catalog, collection and item breadth-first, CONCURRENCY at a time, through the
    cache, and writes the index. Exits with status 1, listing them, if any document
    could not be read.
    """
    chosen = {part for value in collections for part in value.split(",") if part}
    options = CrawlOptions(
        concurrency=concurrency,
        retry=RetryPolicy(retries=retries),
        timeout=timeout,
        deadline=deadline,
        max_bytes=max_bytes,
        max_bytes_in_flight=max_bytes_in_flight,
        offline=offline,
        collections=chosen or None,
        max_depth=max_depth,
        use_mirrors=use_mirrors,
    )
    status = StatusLine(sys.stderr) if sys.stderr.isatty() else None
    try:
        if index is None:
            report = crawl(href, None, cache=cache, options=options, progress=status)
        else:
            from stacforge.crawl.indexing import crawl_into_index  # pyarrow & co. when needed

            done = crawl_into_index(
                href, index, overwrite=overwrite, cache=cache, options=options, progress=status
            )
            report = done.report
    finally:
        if status is not None:
            status.clear()
    warnings = report.warnings
    for warning in warnings[:_WARNINGS_SHOWN]:
        click.echo(f"warning: {warning}", err=True)
    if len(warnings) > _WARNINGS_SHOWN:
        click.echo(f"warning: ... and {len(warnings) - _WARNINGS_SHOWN} more", err=True)
    for failure in report.failures:
        click.echo(f"failed: {failure}", err=True)
    click.echo(f"crawled {redact(href)}: {report.summary()}")
    if report.failures:
        raise StacforgeError(f"{len(report.failures)} documents could not be read (listed above)")
