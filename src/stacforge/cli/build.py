"""``stacforge build`` and ``stacforge sample``: one subcommand per registered dataset, made
from its declaration, so ``stacforge build NAME --help`` shows the dataset's own options."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from stacforge import datasets
from stacforge.datasets import Dataset, DatasetOption


class _DatasetGroup(click.Group):
    """A group whose subcommands are the datasets, each made (and imported) on first use."""

    def __init__(self, make: Callable[[Dataset], click.Command], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._make = make

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(datasets.NAMES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in datasets.NAMES:
            return None
        return self._make(datasets.get(cmd_name))


def _click_option(option: DatasetOption) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    flag = f"--{option.flag}"
    if option.type is bool:
        return click.option(
            flag, option.name, is_flag=True, default=bool(option.default), help=option.help
        )
    kind: Any = (
        click.Choice(list(option.choices))
        if option.choices and not option.multiple
        else (option.type)
    )
    shown = (
        ",".join(map(str, option.default))
        if option.multiple and option.default
        else (option.default)
    )
    return click.option(
        flag,
        option.name,
        type=str if option.multiple else kind,
        default=None,
        metavar="A,B,..." if option.multiple else None,
        help=f"{option.help}" + (f"  [default: {shown}]" if shown is not None else ""),
    )


def _build_command(dataset: Dataset) -> click.Command:
    def run(
        source: Path,
        out: Path,
        overwrite: bool,
        root_href: str | None,
        asset_href_base: str | None,
        skip_invalid: bool,
        index: bool,
        workers: int | None,
        **dataset_options: Any,
    ) -> None:
        from stacforge.builder import build

        started = time.perf_counter()
        result = build(
            dataset.name,
            source,
            out,
            overwrite=overwrite,
            root_href=root_href,
            asset_href_base=asset_href_base,
            skip_invalid=skip_invalid,
            index=index,
            workers=workers,
            **{name: value for name, value in dataset_options.items() if value is not None},
        )
        for error in result.skipped:
            click.echo(f"skipped: {error}", err=True)
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        total = sum(result.items.values())
        seconds = time.perf_counter() - started
        per_collection = ", ".join(f"{cid} {n:,}" for cid, n in result.items.items())
        skipped = f", skipped {len(result.skipped):,} bad samples" if result.skipped else ""
        click.echo(
            f"built {result.catalog}: {total:,} items in {result.collections:,} collections "
            f"({per_collection}){skipped} in {seconds:.1f} s"
        )

    for option in reversed(dataset.options):
        run = _click_option(option)(run)
    decorators = [
        click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path)),
        click.argument("out", type=click.Path(path_type=Path)),
        click.option(
            "--overwrite", is_flag=True, help="Replace OUT if it exists (once the new one is done)."
        ),
        click.option(
            "--root-href",
            metavar="URL",
            help="Where OUT will be published (adds an absolute self link to the root).",
        ),
        click.option(
            "--asset-href-base",
            metavar="URL",
            help="Prefix of asset hrefs (default: the dataset's).",
        ),
        click.option(
            "--skip-invalid", is_flag=True, help="Skip and report bad samples instead of failing."
        ),
        click.option(
            "--index/--no-index",
            default=True,
            show_default=True,
            help="Write each collection's index (stac-geoparquet) in the same pass.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            help="Processes for parallel reads (default: every core).",
        ),
    ]
    for decorator in reversed(decorators):
        run = decorator(run)
    return click.command(
        dataset.name,
        help=f"Build the static STAC catalog of the {dataset.title} from the native files in "
        "SOURCE into OUT.",
        short_help=f"The {dataset.title}.",
    )(run)


def _sample_command(dataset: Dataset) -> click.Command:
    @click.command(
        dataset.name,
        help=f"Write made-up sample input of the {dataset.title}, in its native format, into OUT.",
        short_help=f"The {dataset.title}.",
    )
    @click.argument("out", type=click.Path(file_okay=False, path_type=Path))
    @click.option(
        "--count",
        "--locations",
        "count",
        type=click.IntRange(min=1),
        default=dataset.sample_count,
        show_default=True,
        help="How many samples to write.",
    )
    @click.option(
        "--seed", default=0, show_default=True, help="Random seed (same seed, same files)."
    )
    def run(out: Path, count: int, seed: int) -> None:
        source = dataset.write_sample(out, count=count, seed=seed)
        click.echo(f"wrote {count:,} {dataset.name} samples to {source}")

    return run


build_command = _DatasetGroup(
    _build_command,
    name="build",
    help="Build the static STAC catalog of a dataset from its native files "
    "(`stacforge build DATASET --help` lists its options).",
)
sample_command = _DatasetGroup(
    _sample_command,
    name="sample",
    help="Write made-up sample input of a dataset in its native format.",
)
