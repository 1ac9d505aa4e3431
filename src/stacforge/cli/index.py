"""``stacforge index``: a static catalog on disk into an index."""

from __future__ import annotations

import time
from pathlib import Path

import click


@click.command("index")
@click.argument("catalog", type=click.Path(exists=True, path_type=Path))
@click.argument("index_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace INDEX_DIR if it exists.")
def index_command(catalog: Path, index_dir: Path, overwrite: bool) -> None:
    """Write the index of the static catalog CATALOG (on disk) into INDEX_DIR.

    CATALOG is a catalog, collection or item file (or the folder holding catalog.json or
    collection.json). Item hrefs are stored relative to INDEX_DIR, so the two can move together.
    Nothing is written if a document cannot be read.
    """
    from stacforge.catalog.layout import root_document
    from stacforge.crawl.indexing import crawl_into_index

    started = time.perf_counter()
    catalog = root_document(catalog).resolve()
    done = crawl_into_index(
        catalog, index_dir, overwrite=overwrite, relative_hrefs=True, require_all=True
    )
    for warning in done.report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in done.rejected:
        click.echo(f"skipped: {error}", err=True)
    manifest = done.manifest
    click.echo(
        f"indexed {manifest['items']:,} items ({manifest['assets']:,} assets, "
        f"{manifest['label_rows']:,} label rows) of {catalog} into {index_dir} "
        f"in {time.perf_counter() - started:.1f} s"
        + (f"; skipped {len(done.rejected):,} that cannot be indexed" if done.rejected else "")
    )
