"""``stacforge serve``: a catalog folder over HTTP on loopback, for STAC Browser."""

from __future__ import annotations

from pathlib import Path

import click

_BROWSER = "https://radiantearth.github.io/stac-browser/#/external/"


@click.command("serve")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback)."
)
def serve_command(directory: Path, port: int, host: str) -> None:
    """Serve the catalog (and its indexes) in DIRECTORY with CORS, for STAC Browser."""
    from stacforge.serve import serve

    root = "catalog.json" if (directory / "catalog.json").is_file() else "collection.json"
    url = f"http://{host}:{port}/{root}"

    def ready() -> None:
        click.echo(f"serving {directory} at {url} (Ctrl-C stops)", err=True)
        click.echo(f"STAC Browser: {_BROWSER}{url}", err=True)

    serve(directory, host=host, port=port, on_ready=ready)
