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
@click.option(
    "--browser",
    "with_browser",
    is_flag=True,
    help="Also serve the bundled STAC Browser at /browser/, opening this catalog "
    "(build it once with `make browser`).",
)
@click.option(
    "--browser-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The STAC Browser build to serve with --browser "
    "[default: env STACFORGE_BROWSER, else browser/dist/ of the stacforge checkout].",
)
def serve_command(
    directory: Path, port: int, host: str, with_browser: bool, browser_dir: Path | None
) -> None:
    """Serve the catalog (and its indexes) in DIRECTORY with CORS, for STAC Browser."""
    from stacforge.serve import BROWSER_PATH, browser_build, serve

    root = "catalog.json" if (directory / "catalog.json").is_file() else "collection.json"
    url = f"http://{host}:{port}/{root}"
    browser = browser_build(browser_dir) if with_browser or browser_dir else None
    if (with_browser or browser_dir) and browser is None:
        raise click.ClickException(
            "no STAC Browser build found (a folder with index.html): run `make browser` in the "
            "stacforge checkout (needs node >= 18 and npm; it writes browser/dist/), or point "
            "--browser-dir or STACFORGE_BROWSER at a build"
        )
    # The bundled build opens /catalog.json of its own origin unless ?root= names another file.
    query = "" if root == "catalog.json" else f"?root={root}"
    browser_url = f"http://{host}:{port}{BROWSER_PATH}{query}" if browser else _BROWSER + url

    def ready() -> None:
        click.echo(f"serving {directory} at {url} (Ctrl-C stops)", err=True)
        click.echo(f"STAC Browser: {browser_url}", err=True)

    serve(directory, host=host, port=port, on_ready=ready, browser=browser)
