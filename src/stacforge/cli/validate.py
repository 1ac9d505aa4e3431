"""``stacforge validate``: offline validation of a static catalog on disk."""

from __future__ import annotations

from pathlib import Path

import click

from stacforge.catalog.validate import MAX_BYTES, validate


@click.command("validate")
@click.argument("catalog", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--schemas",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder with schema-map.json, searched before $STACFORGE_SCHEMAS and the cache.",
)
@click.option("--offline", is_flag=True, help="Never download a schema; report it missing.")
@click.option(
    "--allow-outside-links",
    is_flag=True,
    help="Follow links to local files outside the catalog's folder (else each is an error).",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=MAX_BYTES,
    show_default=True,
    help="The largest file read as one object.",
)
@click.pass_context
def validate_command(
    ctx: click.Context,
    catalog: Path,
    schemas: Path | None,
    offline: bool,
    allow_outside_links: bool,
    max_bytes: int,
) -> None:
    """Validate every object of the static catalog CATALOG against its core and extension
    schemas, and check that relative links resolve.

    CATALOG is a catalog.json or collection.json, or a folder with catalog.json. Errors go to
    stderr as `file: json path: message`; one summary line goes to stdout. Exit status 1 when
    anything is invalid.
    """
    report = validate(
        catalog,
        schemas=schemas,
        allow_download=not offline,
        on_error=lambda error: click.echo(str(error), err=True),
        allow_outside=allow_outside_links,
        max_bytes=max_bytes,
    )
    click.echo(report.summary())
    ctx.exit(0 if report.valid else 1)
