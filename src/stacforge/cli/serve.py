"""``stacforge serve``: a catalog folder over HTTP on loopback, for STAC Browser."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("serve")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--port", default=8000, show_default=True, help="Port on 127.0.0.1.")
def serve_command(directory: Path, port: int) -> None:
    """Serve the catalog (and its indexes) in DIRECTORY on loopback, with CORS, for STAC Browser."""
    from stacforge.serve import serve

    click.echo(
        f"serving {directory} at http://127.0.0.1:{port}/catalog.json (Ctrl-C stops)", err=True
    )
    serve(directory, port=port)
