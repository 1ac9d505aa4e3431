"""``stacforge index``: a static catalog on disk into an index."""

from __future__ import annotations

import time
from pathlib import Path

import click

from stacforge.errors import StacforgeError


@click.command("index")
@click.argument("catalog", type=click.Path(exists=True, path_type=Path))
@click.argument("index_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace INDEX_DIR if it exists.")
def index_command(catalog: Path, index_dir: Path, overwrite: bool) -> None:
    """Write the index of the static catalog CATALOG (on disk) into INDEX_DIR.

    CATALOG is a catalog, collection or item file (or the folder holding catalog.json or
    collection.json). Item hrefs are stored relative to INDEX_DIR, so the two can move together.
    As with `stacforge crawl --index`, documents that cannot be read are listed and the index
    holds the rest; the exit status is then 1.
    """
    from stacforge.catalog.layout import root_document
    from stacforge.crawl.indexing import crawl_into_index

    started = time.perf_counter()
    catalog = root_document(catalog).resolve()
    done = crawl_into_index(catalog, index_dir, overwrite=overwrite, relative_hrefs=True)
    report, manifest = done.report, done.manifest
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for failure in report.failures:
        click.echo(f"failed: {failure}", err=True)
    click.echo(
        f"indexed {manifest.items:,} items ({manifest.assets:,} assets, "
        f"{manifest.label_rows:,} label rows) of {catalog} into {index_dir} "
        f"in {time.perf_counter() - started:.1f} s"
        + (f"; {report.not_indexed:,} not indexed" if report.not_indexed else "")
    )
    if report.failures:
        raise StacforgeError(f"{len(report.failures)} documents could not be read (listed above)")
