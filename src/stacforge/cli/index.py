"""``stacforge index``: a static catalog on disk into an index."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click

from stacforge.errors import InputError, StacforgeError


@click.command("index")
@click.argument("catalog", type=click.Path(exists=True, path_type=Path))
@click.argument("index_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace INDEX_DIR if it exists.")
def index_command(catalog: Path, index_dir: Path, overwrite: bool) -> None:
    """Write the index of the static catalog CATALOG (on disk) into INDEX_DIR.

    CATALOG is a catalog, collection or item file (or the folder holding catalog.json or
    collection.json). Item hrefs are stored relative to INDEX_DIR, so the two can move together.
    """
    from stacforge.catalog.layout import root_document
    from stacforge.crawl import crawl
    from stacforge.hrefs import is_url
    from stacforge.index.writer import IndexWriter

    started = time.perf_counter()
    catalog = root_document(catalog)
    root = index_dir.resolve()
    rejected: list[InputError] = []

    def skip(error: InputError) -> None:
        # The writer names items by their href relative to the index; report the file itself.
        where = error.path if is_url(error.path) else os.path.normpath(root / error.path)
        rejected.append(InputError(where, error.message, record=error.record))

    with IndexWriter(
        index_dir, source=str(catalog.resolve()), overwrite=overwrite, on_invalid=skip
    ) as writer:

        def add(item: dict[str, Any], href: str) -> None:
            if not is_url(href):
                href = os.path.relpath(href, root).replace(os.sep, "/")
            writer.add(item, href)

        report = crawl(catalog, add)
        if report.failures:
            shown = "; ".join(str(failure) for failure in report.failures[:3])
            more = f" (and {len(report.failures) - 3} more)" if len(report.failures) > 3 else ""
            raise StacforgeError(f"{catalog}: unreadable documents: {shown}{more}")
        manifest = writer.close()
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in rejected:
        click.echo(f"skipped: {error}", err=True)
    click.echo(
        f"indexed {manifest.items:,} items ({manifest.assets:,} assets, "
        f"{manifest.label_rows:,} label rows) of {catalog} into {index_dir} "
        f"in {time.perf_counter() - started:.1f} s"
        + (f"; skipped {len(rejected):,} that cannot be indexed" if rejected else "")
    )
