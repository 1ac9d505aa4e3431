"""stactools plugin: mounts the ``stacforge`` commands as ``stac stacforge ...``."""

from __future__ import annotations

import click
from stactools.cli.registry import Registry


def _create_stacforge_command(stac: click.Group) -> click.Command:
    from stacforge.cli import cli

    stac.add_command(cli, name="stacforge")
    return cli


def register_plugin(registry: Registry) -> None:
    """Registers the ``stacforge`` command group with the ``stac`` CLI."""
    registry.register_subcommand(_create_stacforge_command)
