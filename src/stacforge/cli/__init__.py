"""The ``stacforge`` command line; the same group is mounted as ``stac stacforge``."""

from __future__ import annotations

import contextlib
import importlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

import click

from stacforge.errors import StacforgeError

_COMMANDS = {
    "build": "stacforge.cli.build:build_command",
    "crawl": "stacforge.cli.crawl:crawl_command",
    "index": "stacforge.cli.index:index_command",
    "sample": "stacforge.cli.build:sample_command",
    "search": "stacforge.cli.search:search_command",
    "serve": "stacforge.cli.serve:serve_command",
    "stats": "stacforge.cli.stats:stats_command",
    "validate": "stacforge.cli.validate:validate_command",
}
"""Commands imported on first use, so a command pays only for the libraries it needs."""


class _Group(click.Group):
    """Loads commands lazily; turns a :class:`StacforgeError` into one line and exit status 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS and cmd_name not in self.commands:
            module, attribute = _COMMANDS[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with _exit_on_sigterm():
                return super().invoke(ctx)
        except StacforgeError as error:
            raise click.ClickException(str(error)) from error


_SIGTERM_STATUS = 128 + signal.SIGTERM


@contextlib.contextmanager
def _exit_on_sigterm() -> Iterator[None]:
    """Turns SIGTERM (``kill``, ``timeout``, a cancelled CI job) into :class:`SystemExit`, so
    that a stopped command cleans up as after Ctrl-C: no partial catalog or index is left."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(_SIGTERM_STATUS)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--version``: the version comes from the package metadata, read only when asked
    (``click.version_option`` wants it before any command runs: 20 ms of every start-up)."""
    if not value or ctx.resilient_parsing:
        return
    from stacforge._version import __version__

    click.echo(f"stacforge, version {__version__}")
    ctx.exit()


@click.group(name="stacforge", cls=_Group)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
def cli() -> None:
    """Build static STAC catalogs for EO ML datasets, and query big static catalogs fast."""
