"""``stacforge sample``: write sample input data in a dataset's native format."""

from __future__ import annotations

from pathlib import Path

import click

from stacforge.samples import SAMPLES


@click.command("sample")
@click.argument("dataset", type=click.Choice(sorted(SAMPLES)))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--locations", default=120, show_default=True, help="How many samples to write.")
@click.option("--seed", default=0, show_default=True, help="Random seed (same seed, same files).")
def sample_command(dataset: str, out: Path, locations: int, seed: int) -> None:
    """Write made-up sample input for DATASET, in its native format, into OUT."""
    SAMPLES[dataset](out, locations=locations, seed=seed)
    click.echo(f"wrote {locations:,} {dataset} sample locations to {out}")
