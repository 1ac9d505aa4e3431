"""The ``stacforge`` command line; the same group is mounted as ``stac stacforge``."""

from __future__ import annotations

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


from stacforge.datasets.commands import build_command  # noqa: E402
from stacforge.samples.commands import sample_command  # noqa: E402

cli.add_command(build_command)
cli.add_command(sample_command)
