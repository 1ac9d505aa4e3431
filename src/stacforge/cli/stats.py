"""``stacforge stats``: class-distribution charts and footprint maps of a catalog's labels."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("stats")
@click.argument("source", metavar="CATALOG_OR_INDEX", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the figures into (created if missing).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["png", "json"]),
    default="png",
    show_default=True,
    help="png: pictures (matplotlib); json: the same figures as numbers.",
)
def stats_command(source: Path, out: Path, output_format: str) -> None:
    """Draw class charts and footprint maps of the label items in CATALOG_OR_INDEX.

    For each collection of label items (items with label:type): a class-distribution bar chart
    by ml-aoi:split and a footprint map, read from the indexes. CATALOG_OR_INDEX is a catalog
    or collection on disk whose collections advertise indexes, or an index folder. Prints the
    files written.
    """
    from stacforge.stats import write_stats

    for path in write_stats(source, out, format="json" if output_format == "json" else "png"):
        click.echo(path)
