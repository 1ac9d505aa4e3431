"""``stacforge build``: a dataset's native files to a static STAC catalog."""

from __future__ import annotations

import time
from pathlib import Path

import click

from stacforge.builder import build
from stacforge.datasets import DATASETS


@click.command("build")
@click.argument("dataset", type=click.Choice(sorted(DATASETS)))
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--overwrite", is_flag=True, help="Replace OUT if it exists (once the new one is done)."
)
@click.option(
    "--root-href", metavar="URL", help="Where OUT will be published (adds a root self link)."
)
@click.option(
    "--asset-href-base", metavar="URL", help="Prefix of asset hrefs (default: the dataset's)."
)
@click.option(
    "--skip-invalid", is_flag=True, help="Skip and report bad samples instead of failing."
)
@click.option(
    "--index/--no-index",
    default=True,
    show_default=True,
    help="Write each collection's sidecar index (stac-geoparquet) in the same pass.",
)
def build_command(
    dataset: str,
    source: Path,
    out: Path,
    overwrite: bool,
    root_href: str | None,
    asset_href_base: str | None,
    skip_invalid: bool,
    index: bool,
) -> None:
    """Build the static STAC catalog of DATASET from the native files in SOURCE into OUT."""
    started = time.perf_counter()
    result = build(
        dataset,
        source,
        out,
        overwrite=overwrite,
        root_href=root_href,
        asset_href_base=asset_href_base,
        skip_invalid=skip_invalid,
        index=index,
    )
    for error in result.skipped:
        click.echo(f"skipped: {error}", err=True)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    total = sum(result.items.values())
    seconds = time.perf_counter() - started
    per_collection = ", ".join(f"{cid} {n:,}" for cid, n in result.items.items())
    skipped = f", skipped {len(result.skipped):,} bad samples" if result.skipped else ""
    click.echo(
        f"built {result.catalog}: {total:,} items in {result.collections:,} collections "
        f"({per_collection}){skipped} in {seconds:.1f} s"
    )
