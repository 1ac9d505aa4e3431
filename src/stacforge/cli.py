"""The ``stacforge`` command line; the same group is mounted as ``stac stacforge``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from stacforge import __version__
from stacforge.errors import StacforgeError


class _Group(click.Group):
    """Turns a :class:`StacforgeError` into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StacforgeError as error:
            raise click.ClickException(str(error)) from error


@click.group(name="stacforge", cls=_Group)
@click.version_option(__version__, prog_name="stacforge")
def cli() -> None:
    """Build static STAC catalogs for EO ML datasets, and query big static catalogs fast."""


@cli.command("serve")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--port", default=8000, show_default=True, help="Port on 127.0.0.1.")
def serve_command(directory: Path, port: int) -> None:
    """Serve the catalog (and sidecars) in DIRECTORY on loopback, with CORS, for STAC Browser."""
    from stacforge.serve import serve

    click.echo(
        f"serving {directory} at http://127.0.0.1:{port}/catalog.json (Ctrl-C stops)", err=True
    )
    serve(directory, port=port)


from stacforge.catalog.commands import validate_command  # noqa: E402
from stacforge.crawl.commands import crawl_command  # noqa: E402
from stacforge.datasets.commands import build_command  # noqa: E402
from stacforge.index.commands import index_command, search_command  # noqa: E402
from stacforge.samples.commands import sample_command  # noqa: E402

cli.add_command(build_command)
cli.add_command(validate_command)
cli.add_command(sample_command)
cli.add_command(crawl_command)
cli.add_command(index_command)
cli.add_command(search_command)

if __name__ == "__main__":
    cli()
