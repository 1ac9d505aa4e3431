"""Pictures of a catalog's labels, read from its indexes: class distributions and footprints.

Per collection of label items (items with ``label:type``): how often each class occurs, by
``ml-aoi:split`` where the items have one (:mod:`.figures`), drawn as PNGs with matplotlib
(:mod:`.plots`) or written as the same numbers in JSON.

No coastline is drawn: the packages that ship one (cartopy's Natural Earth) download it at run
time, and stacforge reads nothing from the network it was not asked to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import orjson

from stacforge.errors import StacforgeError
from stacforge.stats.figures import ClassCount, FootprintGrid, LabelStats, label_stats
from stacforge.stats.sources import find_indexes

__all__ = [
    "ClassCount",
    "FootprintGrid",
    "LabelStats",
    "find_indexes",
    "label_stats",
    "write_stats",
]

Format = Literal["png", "json"]


def write_stats(source: str | Path, out: str | Path, *, format: Format = "png") -> list[Path]:
    """Writes the class chart and the footprint map of every label collection of ``source``.

    Args:
        source: An index folder, or a catalog or collection on disk that advertises indexes.
        out: The folder to write ``<collection>-classes.<format>`` and
            ``<collection>-footprints.<format>`` into (created if missing).
        format: ``png`` for pictures, ``json`` for the same figures as numbers.

    Returns:
        The files written, two per label collection.

    Raises:
        InputError: ``source`` is neither an index nor a catalog with indexes.
        StacforgeError: Its indexes hold no label items.
    """
    found = [stats for index in find_indexes(source) for stats in label_stats(index)]
    if not found:
        raise StacforgeError(f"{source}: no label items (items with label:type) in its indexes")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for stats in found:
        classes = out / f"{stats.collection}-classes.{format}"
        footprints = out / f"{stats.collection}-footprints.{format}"
        if format == "json":
            classes.write_bytes(_json(stats.classes_json()))
            footprints.write_bytes(_json(stats.footprints_json()))
        else:
            # matplotlib takes a second to import: only for pictures.
            from stacforge.stats import plots

            plots.plot_classes(stats, classes)
            plots.plot_footprints(stats, footprints)
        written += [classes, footprints]
    return written


def _json(numbers: dict[str, object]) -> bytes:
    return orjson.dumps(numbers, option=orjson.OPT_INDENT_2) + b"\n"
