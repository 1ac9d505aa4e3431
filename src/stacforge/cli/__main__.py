"""``python -m stacforge.cli``: the same as the ``stacforge`` command."""

from stacforge.cli import cli

cli()
